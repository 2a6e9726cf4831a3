#!/bin/sh
# Installs a released reconcile: the archive for this machine from a GitHub
# release, checked against the release's SHA256SUMS before anything is
# installed.
#
#   curl -fsSL https://github.com/example/reconcile/releases/latest/download/install.sh | sh
#   RECONCILE_VERSION=v0.1.0 INSTALL_DIR=/usr/local/bin sh install.sh
#
# RECONCILE_VERSION  a release tag (default: the latest release)
# INSTALL_DIR        where the binary goes (default: ~/.local/bin)
# RECONCILE_REPO     owner/name of the repository (default: example/reconcile)
# RECONCILE_DOWNLOAD_BASE  where the release's files are (a URL or file://DIR;
#                    default: the release's download URL)
set -eu

repo="${RECONCILE_REPO:-example/reconcile}"
version="${RECONCILE_VERSION:-latest}"
if [ "$version" = latest ]; then
  default_base="https://github.com/$repo/releases/latest/download"
else
  default_base="https://github.com/$repo/releases/download/$version"
fi
base="${RECONCILE_DOWNLOAD_BASE:-$default_base}"
dir="${INSTALL_DIR:-$HOME/.local/bin}"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) target=x86_64-unknown-linux-musl ;;
  Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-musl ;;
  Darwin-x86_64) target=x86_64-apple-darwin ;;
  Darwin-arm64) target=aarch64-apple-darwin ;;
  *)
    echo "install: no released binary for $(uname -s) $(uname -m); build one: cargo install --locked --git https://github.com/$repo reconcile" >&2
    exit 1
    ;;
esac
archive="reconcile-$target.tar.gz"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fetch() {
  case "$1" in
    file://*) cp "${1#file://}" "$2" ;;
    *) curl --proto '=https' --tlsv1.2 -fsSL -o "$2" "$1" ;;
  esac
}
fetch "$base/$archive" "$tmp/$archive"
fetch "$base/SHA256SUMS" "$tmp/SHA256SUMS"

expected="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$tmp/SHA256SUMS")"
if [ -z "$expected" ]; then
  echo "install: $archive is not listed in the release's SHA256SUMS: nothing installed" >&2
  exit 1
fi
if command -v sha256sum >/dev/null 2>&1; then
  actual="$(sha256sum "$tmp/$archive" | cut -d ' ' -f 1)"
else
  actual="$(shasum -a 256 "$tmp/$archive" | cut -d ' ' -f 1)"
fi
if [ "$expected" != "$actual" ]; then
  echo "install: $archive does not match its SHA-256 in SHA256SUMS (expected $expected, got $actual): nothing installed" >&2
  exit 1
fi

tar -xzf "$tmp/$archive" -C "$tmp"
mkdir -p "$dir"
cp "$tmp/reconcile" "$dir/reconcile.new"
chmod 755 "$dir/reconcile.new"
mv "$dir/reconcile.new" "$dir/reconcile"
echo "installed $("$dir/reconcile" --version) in $dir"
case ":$PATH:" in
  *":$dir:"*) ;;
  *) echo "add $dir to PATH to run it as reconcile" ;;
esac
