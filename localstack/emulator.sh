#!/usr/bin/env bash
# Installs, starts, waits for and stops the local AWS emulator.
#
#   localstack/emulator.sh install   install the engine into its own git-ignored venv
#   localstack/emulator.sh start     install if needed, start on 127.0.0.1:$PORT, wait until it answers
#   localstack/emulator.sh stop      stop the emulator started by `start`
#   localstack/emulator.sh status    exit 0 when the engine answers on the port
#
# ENGINE=moto (the default): moto's server, which implements every service
# reconcile uses (EC2, ELBv2, RDS, Route53, CloudWatch), in localstack/.venv,
# behind conformance.py, which refuses what AWS's API models refuse.
# ENGINE=localstack: LocalStack's community runtime, without Docker (host
# mode), in localstack/.venv-localstack; it serves EC2, Route53 and CloudWatch
# but not ELBv2 or RDS. Pinned by localstack/localstack.lock (hashes, resolved
# as of LocalStack's release; regenerate with the command at its top). Needs
# Python 3.13: python3.13 on PATH, pyenv's, or LOCALSTACK_PYTHON.
#
# PORT defaults to 4566 (LocalStack's port). Every subcommand is idempotent.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
engine="${ENGINE:-moto}"
port="${PORT:-4566}"
case "$engine" in
  moto) venv="$here/.venv" ;;
  localstack) venv="$here/.venv-localstack" ;;
  *) echo "emulator: ENGINE is moto or localstack, not '$engine'" >&2; exit 1 ;;
esac
pidfile="$here/$engine-$port.pid"
logfile="$here/$engine-$port.log"
# Keep in step with tests/it/harness.rs, which starts its own server from this venv.
moto_pin="moto[server]==5.2.5"
# The IAM policy linter the suite runs on `reconcile iam-policy`'s output, and
# whose IAM definitions scripts/iam-resources.py reads.
parliament_pin="parliament==1.6.4"
localstack_pin="localstack-core==2026.3.0"
uv_pin="uv==0.13.9"

die() { echo "emulator: $*" >&2; exit 1; }

answers() {
  if [ "$engine" = localstack ]; then
    python3 - "$port" <<'PY' 2>/dev/null
import json, sys, urllib.request
try:
    health = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_localstack/health", timeout=1))
    sys.exit(0 if health["services"].get("ec2") in ("available", "running") else 1)
except Exception:
    sys.exit(1)
PY
    return
  fi
  python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
try:
    urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/data.json", timeout=1)
except Exception:
    sys.exit(1)
PY
}

python313() {
  local candidate
  for candidate in "${LOCALSTACK_PYTHON:-}" "$(command -v python3.13 2>/dev/null || true)" \
      "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.13*/bin/python3.13; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

install_localstack() {
  if [ -x "$venv/bin/python" ] \
    && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("localstack-core"))' 2>/dev/null)" = "${localstack_pin##*==}" ]; then
    return 0
  fi
  local python
  python="$(python313)" || die "LocalStack $localstack_pin needs Python 3.13 (3.12 fails at import, on warnings.deprecated), and none was found: install it (pyenv install 3.13, or Debian's python3.13) or point LOCALSTACK_PYTHON at one."
  echo "emulator: installing $localstack_pin (pinned by localstack/localstack.lock) into $venv with $python" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "could not create a venv with $python"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$uv_pin"
  "$venv/bin/uv" pip install --quiet --python "$venv/bin/python" --require-hashes --no-deps -r "$here/localstack.lock"
}

install() {
  [ "$engine" = localstack ] && { install_localstack; return; }
  command -v python3 >/dev/null 2>&1 \
    || die "python3 is not installed. Install Python 3.9 or newer (Debian: apt-get install python3 python3-venv) and run this again."
  version() { "$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$1'))" 2>/dev/null; }
  if [ -x "$venv/bin/moto_server" ] && [ "$(version moto)" = "${moto_pin##*==}" ]; then
    [ "$(version parliament)" = "${parliament_pin##*==}" ] \
      || "$venv/bin/pip" install --quiet --disable-pip-version-check "$parliament_pin"
    return 0
  fi
  echo "emulator: installing $moto_pin and $parliament_pin into $venv" >&2
  python3 -m venv "$venv" || die "could not create a venv; on Debian install python3-venv."
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$moto_pin" "$parliament_pin"
}

start() {
  if answers; then
    echo "emulator: already answering on 127.0.0.1:$port" >&2
    return 0
  fi
  install
  if [ "$engine" = localstack ]; then
    # Host mode, no Docker; no DNS server, no certificate download (offline).
    mkdir -p "$here/.localstack-$port"
    OVERRIDE_IN_DOCKER=0 GATEWAY_LISTEN="127.0.0.1:$port" DNS_ADDRESS=0 SKIP_SSL_CERT_DOWNLOAD=1 \
      LOCALSTACK_VOLUME_DIR="$here/.localstack-$port" DISABLE_EVENTS=1 \
      nohup "$venv/bin/python" -m localstack.runtime.main >"$logfile" 2>&1 &
  else
    # moto behind the conformance checker (conformance.py): a request AWS
    # would refuse is refused here too, and listed in $here/conformance-$port.log.
    # A certificate is issued 2 s after it is requested (moto waits 60 s by
    # default); AWS's managed IAM policies exist, as on AWS (moto has none by default).
    MOTO_ACM_VALIDATION_WAIT=2 MOTO_IAM_LOAD_MANAGED_POLICIES=true nohup "$venv/bin/python" "$here/conformance.py" -H 127.0.0.1 -p "$port" \
      --log "$here/conformance-$port.log" >"$logfile" 2>&1 &
  fi
  echo $! >"$pidfile"
  for _ in $(seq 1 300); do
    if answers; then
      echo "emulator: $engine answering on http://127.0.0.1:$port" >&2
      return 0
    fi
    kill -0 "$(cat "$pidfile")" 2>/dev/null || die "$engine exited; see $logfile"
    sleep 0.2
  done
  die "$engine did not answer on port $port within 60s; see $logfile"
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
  *) die "usage: [ENGINE=moto|localstack] [PORT=4566] $0 install|start|stop|status" ;;
esac
