#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the emulator's venv, then
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
