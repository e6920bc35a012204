#!/usr/bin/env bash
# Fails when a Markdown file of the repository links to a relative path that does not resolve,
# or to anything outside the repository: a clone must hold every document it points to.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd -P)
status=0
tmp=$(mktemp)
while IFS= read -r file; do
    dir=$(dirname "$file")
    # Inline links and images: ](target), without the URL schemes and in-page anchors.
    { grep -oE '\]\([^)[:space:]]+\)' "$file" || true; } | sed -E 's/^\]\((.*)\)$/\1/' | while IFS= read -r target; do
        case "$target" in
            http://* | https://* | mailto:* | '#'*) continue ;;
        esac
        path="${target%%#*}"
        [ -z "$path" ] && continue
        resolved=$(cd "$dir" && realpath -m -- "$path")
        case "$resolved" in
            "$root" | "$root"/*) ;;
            *) echo "$file: $target points outside the repository"; echo fail >> "$tmp" ;;
        esac
        if [ ! -e "$resolved" ]; then
            echo "$file: $target does not exist"
            echo fail >> "$tmp"
        fi
    done
done < <(git ls-files '*.md')
if [ -s "$tmp" ]; then status=1; else echo "every relative link in the Markdown files resolves inside the repository"; fi
rm -f "$tmp"
exit "$status"
