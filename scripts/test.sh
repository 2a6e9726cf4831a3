#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the emulators' venvs, then
# runs formatting, lints and every test. The tests start their own emulator on
# a free port (set RECONCILE_TEST_ENDPOINT to use a running one instead).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

localstack/emulator.sh install
cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings
# The benchmark at its smallest size: that it runs, not how fast (no timed test).
scripts/bench.sh --smoke
cargo test --locked
# The same engine tests on LocalStack's community runtime (EC2, Route53,
# CloudWatch; no ELBv2 or RDS, so tests that need those stay on moto):
# network kinds, instances, DNS zones and records, alarms, and metric and
# alarm verification, including LocalStack's own alarm evaluation.
ENGINE=localstack localstack/emulator.sh install
RECONCILE_TEST_ENGINE=localstack cargo test --locked --test it -- \
  engine:: dns:: alarms:: \
  --skip dns::an_alias_record_points_at_the_load_balancer_of_its_home_region
