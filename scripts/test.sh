#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the emulators' venvs, then
# runs formatting, lints and every test. The tests start their own emulator on
# a free port (set RECONCILE_TEST_ENDPOINT to use a running one instead).
set -euo pipefail
# One build from a clean clone: incremental caches would only double the disk
# it takes (CI once ran out of space).
export CARGO_INCREMENTAL=0
cd "$(dirname "${BASH_SOURCE[0]}")/.."

localstack/emulator.sh install
# LocalStack's venv installs while the code builds; waited for before its tests.
mkdir -p target
ENGINE=localstack localstack/emulator.sh install > target/localstack-install.log 2>&1 &
localstack_install=$!
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# One build of the tests and the binary they run (dev-dependencies change the
# SDK's features: a plain `cargo build` would compile it all a second time).
cargo test --locked --no-run
# The benchmark at its smallest size, on that binary: that it runs, not how
# fast (no timed test).
BENCH_BINARY=target/debug/reconcile scripts/bench.sh --smoke
cargo test --locked
# The same engine tests on LocalStack's community runtime (EC2, Route53,
# CloudWatch; no ELBv2 or RDS, so tests that need those stay on moto):
# network kinds, instances, DNS zones and records, alarms, and metric and
# alarm verification, including LocalStack's own alarm evaluation.
if ! wait "$localstack_install"; then
  cat target/localstack-install.log >&2
  exit 1
fi
RECONCILE_TEST_ENGINE=localstack cargo test --locked --test it -- \
  engine:: dns:: alarms:: https::acm_ \
  --skip dns::an_alias_record_points_at_the_load_balancer_of_its_home_region
