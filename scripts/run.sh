#!/bin/sh
# run.sh - the last step of `make run`: start the backend of the shop under
# $COUNTER_HOME (default ~/.counter), show its status and say how to use
# `counter`.
#
#   scripts/run.sh BUILD_DIR
#
# On a terminal it ends in the TUI; otherwise it returns at once. The workers keep
# running in the background; stop them with `counter backend stop`.
set -eu

BUILD=${1:-build}
if [ ! -x "$BUILD/counter" ] || [ ! -x "$BUILD/counterd" ]; then
    echo "run: $BUILD/counter or $BUILD/counterd is missing; run make first" >&2
    exit 2
fi
BIN=$(cd "$BUILD" && pwd)

if [ -z "${COUNTER_HOME:-}" ]; then
    if [ -z "${HOME:-}" ]; then
        echo "run: neither COUNTER_HOME nor HOME is set" >&2
        exit 2
    fi
    COUNTER_HOME=$HOME/.counter
fi
export COUNTER_HOME

echo "== starting the backend in $COUNTER_HOME"
# `counter backend start` finds counterd next to counter; COUNTERD makes sure.
COUNTERD=$BIN/counterd "$BIN/counter" backend start || {
    echo "run: the backend did not start; see $COUNTER_HOME/log/" >&2
    exit 3
}

# A new shop has no account yet: on a terminal, make its first manager (the
# password is asked twice, never shown) and keep that session.
if [ ! -s "$COUNTER_HOME/session" ] && [ -t 0 ] && [ -t 1 ]; then
    echo
    echo "== the shop's first manager (login admin)"
    "$BIN/counter" setup login=admin ||
        echo "run: not set up now; a shop that has a manager already: counter login LOGIN" >&2
fi

echo
echo "== counter status"
status=0
"$BIN/counter" --table status || status=$?

cat <<MSG

The backend runs in the background. Use it with counter, by its full path:

    $BIN/counter foods add name=pizza stock=100 price=1000

or put the build directory on your PATH first:

    export PATH="$BIN:\$PATH"
MSG
[ "$COUNTER_HOME" = "${HOME:-}/.counter" ] || cat <<MSG
    export COUNTER_HOME="$COUNTER_HOME"    # the shop started above
MSG
cat <<'MSG'

    counter setup login=admin       # a new shop: its first manager (asks a password)
    counter login admin             # log in; the session is kept in $COUNTER_HOME/session
    counter accounts add login=kim role=delivery    # staff accounts (a manager adds them)
    counter signup name=lee login=lee phone=010 address=seoul   # a customer signs up
    counter whoami                  # who is logged in, until when
    counter customers add name=lee phone=010 address=seoul age=29
    counter foods add name=pizza stock=100 price=1000
    counter foods list              # the catalog
    counter catalog                 # the catalog view (read model)
    counter orders place customer=1 food=1 qty=2
    counter deliveries list         # the delivery team's board
    counter myorders customer=1     # my orders (read model)
    counter events --follow         # every event, live, as JSON lines
    counter status                  # health of every worker
    counter help                    # every command; man -l man/counter.1
    counter backend stop            # stop the backend
    counter                         # the TUI (counter --role customer|manager|delivery)
MSG
# On a terminal, `make run` ends in the TUI; the backend keeps running after it.
if [ -t 0 ] && [ -t 1 ]; then
    echo
    echo "== opening the TUI (q quits; the backend keeps running)"
    exec "$BIN/counter"
fi
exit "$status"
