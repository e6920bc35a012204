# Nestegg's everyday commands. `just --list` shows them.

pg_url := "postgres://postgres@127.0.0.1:5432/postgres"
redis_url := "redis://127.0.0.1:6379"

# Serve the API on the embedded SQLite database (nestegg.db).
run:
    cargo run --release

# Format the code.
fmt:
    cargo fmt --all

# Formatting check, clippy with warnings as errors, crate boundaries, links in the docs.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --all-features -- -D warnings
    bash scripts/check-boundaries.sh
    bash scripts/check-links.sh

# Every test on SQLite and the in-process cache (PostgreSQL and Redis tests skip).
test:
    cargo test --workspace

# The PostgreSQL and Redis suites against local servers.
test-pg:
    TEST_DATABASE_URL={{pg_url}} TEST_REDIS_URL={{redis_url}} NESTEGG_REQUIRE_PG=1 NESTEGG_REQUIRE_REDIS=1 cargo test --workspace -- postgres redis

# Benchmarks (see docs/PERFORMANCE.md).
bench:
    bash scripts/bench/run.sh

# Mixed load on two instances with PostgreSQL and Redis, then the invariants (a few minutes).
load:
    bash scripts/load/run.sh

# What CI runs.
ci:
    bash .ci/run
