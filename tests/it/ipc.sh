#!/usr/bin/env bash
# ipc: a shop's sockets are files in its 0700 run/ and never in the abstract
# namespace, where any local user could bind or read them. A home too deep
# for a unix socket path (107 bytes) is refused with a sentence naming the
# path, its length and the limit; an endpoint another process already
# listens on makes the start fail loudly, with the reason.
. "$(dirname "$0")/../lib.sh"

abstract_count() { grep -c '@counter-' /proc/net/unix; }
before=$(abstract_count)

# A fresh home and its run/ are made 0700.
fresh=$TEST_HOME/fresh
COUNTER_HOME=$fresh backend_start catalog
assert_eq "$(stat -c %a "$fresh") $(stat -c %a "$fresh/run")" "700 700" "a new home and its run/ are 0700"
COUNTER_HOME=$fresh backend_stop

# Too deep: refused by counter (exit 2) and by counterd (exit 1, logged).
deep=$TEST_HOME/a-rather-long-directory-name-for-a-shop/that-goes-on/and-on-and-on/past-the-ipc-limit
mkdir -p "$deep"
note "the deep home is ${#deep} bytes long"
sentence="the socket path $deep/run/[a-z]+\.[a-z]+ is [0-9]+ bytes long; a unix socket path holds at most 107: use a shorter COUNTER_HOME"
COUNTER_HOME=$deep assert_error 2 "$sentence" "counter backend start in a home too deep" \
    counter backend start
COUNTER_HOME=$deep assert_error 2 "$sentence" "counter foods list there too" counter foods list
run env COUNTER_HOME="$deep" "$COUNTERD" catalog
assert_eq "$RUN_RC" 1 "counterd catalog there exits 1"
assert_match "$RUN_ERR" "error: $sentence" "counterd logs the sentence"
assert_eq "$(ls "$deep/run" 2>/dev/null | grep -c '\.req$')" 0 "no socket in the deep home's run/"
assert_eq "$(abstract_count)" "$before" "no abstract socket appeared in /proc/net/unix"
# An abstract endpoint named outright is refused as well.
printf 'catalog.req = ipc://@counter-x-catalog.req\n' >"$SCRATCH/abstract.conf"
mkdir -p "$TEST_HOME/abs" && cp "$SCRATCH/abstract.conf" "$TEST_HOME/abs/counter.conf"
COUNTER_HOME=$TEST_HOME/abs assert_error 2 "catalog\.req' may not be an abstract-namespace socket" \
    "catalog.req = ipc://@... in counter.conf" counter foods list
# The endpoints set explicitly, a deep home works.
for s in $("$COUNTERD" --list); do
    for k in req pub sync; do echo "$s.$k = ipc://$TEST_HOME/s/$s.$k"; done
done >"$deep/counter.conf"
mkdir -p "$TEST_HOME/s"
COUNTER_HOME=$deep backend_start auth    # (and its first manager: foods list needs a session)
COUNTER_HOME=$deep backend_start catalog
COUNTER_HOME=$deep assert_rc 0 "the deep home with explicit endpoints answers" counter foods list
COUNTER_HOME=$deep backend_stop

# A squatter: another shop's catalog listens on this shop's catalog.req first.
squat=$TEST_HOME/squat
mkdir -p "$squat" "$COUNTER_HOME/run"
echo "catalog.req = ipc://$COUNTER_HOME/run/catalog.req" >"$squat/counter.conf"
COUNTER_HOME=$squat backend_start catalog
run counter backend start catalog
assert_eq "$RUN_RC" 3 "backend start catalog with its socket taken: fails"
assert_match "$RUN_ERR" "catalog did not become ready \(it exited with status 1: cannot bind ipc://$COUNTER_HOME/run/catalog\.req: Address already in use\)" \
    "it says the worker failed and why"
assert_no_match "$RUN_OUT" "catalog +started" "it does not say catalog started"
is_stopped catalog && ok "no catalog worker of this shop runs" || fail "a catalog worker runs beside the squatter"
COUNTER_HOME=$squat backend_stop
# With the squatter gone, the stale socket file is no obstacle.
backend_start auth
backend_start catalog
assert_rc 0 "catalog answers once the squatter left" counter foods list

finish
