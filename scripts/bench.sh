#!/usr/bin/env bash
# Benchmark: generated stacks (300 and 3,000 resources per region, in 1 and 3
# regions) applied from nothing and then planned with no change, each against a
# fresh local emulator; prints a markdown table of no-op plan wall time, AWS
# calls, peak RSS and apply wall time. When `terraform` and the hashicorp/aws
# provider (a filesystem mirror, BENCH_TF_PLUGINS, default /opt/tf-plugins) are
# installed, the same resources go through terraform apply / plan side by side.
#
#   scripts/bench.sh                  the full table (release build; takes a while)
#   scripts/bench.sh --smoke          one small case, debug build, no terraform (CI)
#   scripts/bench.sh --sizes 300 --regions 1 --no-terraform
#   BENCH_BINARY=target/debug/reconcile scripts/bench.sh --smoke   (no build)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

localstack/emulator.sh install
if [[ -n "${BENCH_BINARY:-}" ]]; then
  # Already built (the test suite's binary, in CI): no second build.
  binary=$BENCH_BINARY
elif [[ " $* " == *" --smoke "* ]]; then
  cargo build --locked --quiet
  binary=target/debug/reconcile
else
  cargo build --locked --release --quiet
  binary=target/release/reconcile
fi
exec python3 scripts/bench.py --binary "$binary" "$@"
