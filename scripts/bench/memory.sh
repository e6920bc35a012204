# Sourced by the memory benchmarks: the machine line and the server's resident memory.
# Expects SERVER to hold the server's pid.

# Cores, memory and CPU model, and the load average, for the figures' header.
machine() {
  echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(lscpu | sed -n 's/Model name: *//p' | head -1)"
  echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# Resident memory now, and its peak (VmHWM, which `echo 5 > /proc/PID/clear_refs` resets), in MB.
rss_mb() { awk '/^VmRSS/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.1f", $2 / 1024}' "/proc/$SERVER/status"; }
