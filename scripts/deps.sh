#!/bin/sh
# deps.sh - make sure the Debian packages the counter needs are installed.
#   scripts/deps.sh          install what is missing (as root), or say what to install
#   scripts/deps.sh --check  the same, but quiet when everything is there
set -eu
PKGS="gcc make pkg-config libzmq3-dev libsodium-dev libjansson-dev libsqlite3-dev libncurses-dev libsystemd-dev tmux jq sqlite3 valgrind"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && { [ "${1:-}" = "--check" ] || echo "deps: all installed"; exit 0; }
if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    # shellcheck disable=SC2086
    apt-get install -y -qq $missing >/dev/null
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root: apt-get install$missing" >&2
    exit 1
fi
