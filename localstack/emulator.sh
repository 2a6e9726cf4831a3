#!/usr/bin/env bash
# Installs, starts, waits for and stops the local AWS emulator (moto's server).
#
#   localstack/emulator.sh install   create localstack/.venv with the pinned moto[server]
#   localstack/emulator.sh start     install if needed, start on 127.0.0.1:$PORT, wait until it answers
#   localstack/emulator.sh stop      stop the emulator started by `start`
#   localstack/emulator.sh status    exit 0 when something answers on the port
#
# PORT defaults to 4566 (LocalStack's port), so the same commands work against a
# LocalStack instance. Every subcommand is idempotent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
port="${PORT:-4566}"
pidfile="$here/moto-$port.pid"
logfile="$here/moto-$port.log"
# Keep in step with tests/it/harness.rs, which starts its own server from this venv.
moto_pin="moto[server]==5.2.5"

die() { echo "emulator: $*" >&2; exit 1; }

answers() {
  python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=1)
except Exception:
    sys.exit(1)
PY
}

install() {
  command -v python3 >/dev/null 2>&1 \
    || die "python3 is not installed. Install Python 3.9 or newer (Debian: apt-get install python3 python3-venv) and run this again."
  if [ -x "$venv/bin/moto_server" ] \
    && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("moto"))' 2>/dev/null)" = "${moto_pin##*==}" ]; then
    return 0
  fi
  echo "emulator: installing $moto_pin into $venv" >&2
  python3 -m venv "$venv" || die "could not create a venv; on Debian install python3-venv."
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$moto_pin"
}

start() {
  if answers; then
    echo "emulator: already answering on 127.0.0.1:$port" >&2
    return 0
  fi
  install
  nohup "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 1 100); do
    if answers; then
      echo "emulator: moto answering on http://127.0.0.1:$port" >&2
      return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || die "moto_server exited; see $logfile"
    sleep 0.2
  done
  die "moto_server did not answer on port $port within 20s; see $logfile"
}

stop() {
  if [ -f "$pidfile" ]; then
    kill "$(cat "$pidfile")" 2>/dev/null || true
    rm -f "$pidfile"
    echo "emulator: stopped" >&2
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) answers ;;
  *) die "usage: $0 install|start|stop|status (PORT=$port)" ;;
esac
