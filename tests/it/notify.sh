#!/usr/bin/env bash
# notify: a worker run with NOTIFY_SOCKET (as systemd runs a Type=notify unit,
# scripts/systemd/counterd@.service.in) says READY=1 only once it is caught
# up: the view, started while the catalog it follows is down and has 1000
# events it has not applied, is not ready (health and no READY=1) until the
# catalog is back and the view has applied them all; meanwhile it sends
# STATUS= lines and WATCHDOG=1 every WATCHDOG_USEC/4, and STOPPING=1 on
# SIGTERM. (There is no systemd in the test machine: tests/tools/notifyrecv
# is the socket.)
. "$(dirname "$0")/../lib.sh"

NOTIFYRECV=$BUILD/tests/notifyrecv
[ -x "$NOTIFYRECV" ] || die "$NOTIFYRECV is missing: run make"
SOCK=$SCRATCH/notify.sock
OUT=$SCRATCH/notify.out

backend_start || die "the backend does not start"

# 1000 catalog events the view will have to catch up with.
for i in $(seq 1 1000); do
    echo "foods add name=n-$i stock=1 price=$((100 + i))"
done >"$SCRATCH/foods.batch"
backend_stop view
assert_rc 0 "1000 foods while the view is down" counter batch "$SCRATCH/foods.batch"
backend_stop catalog
seq0=$(catalog_last_seq)
note "catalog events: $seq0; the view applied $(view_position)"
[ "$seq0" -ge 1000 ] && ok "at least 1000 catalog events" || fail "only $seq0 catalog events"

"$NOTIFYRECV" "$SOCK" 120 >"$OUT" 2>"$SCRATCH/notifyrecv.err" &
recv=$!
wait_for 5 "the notify socket is bound" test -S "$SOCK" || die "notifyrecv: $(cat "$SCRATCH/notifyrecv.err")"

# The view as its unit starts it, with a watchdog of 1 s and no timeout
# that would let it call the silent catalog caught up.
NOTIFY_SOCKET=$SOCK WATCHDOG_USEC=1000000 COUNTER_VIEW_READY_TIMEOUT_MS=600000 \
    "$COUNTERD" view 2>>"$SCRATCH/view.log" &
view=$!

# The view's health straight from it (counter status would first wait for
# the catalog that is down).
view_health() { "$RAWSEND_BIN" -t 500 view CTR2 health "r-$RANDOM" - '{}' | sed -n 4p; }
view_alive() { [ "$(view_health | jq -r .alive)" = true ]; }
wait_for 10 "the view answers health" view_alive || die "view: $(tail -5 "$SCRATCH/view.log")"
sleep 1.5
h=$(view_health)
assert_eq "$(jqr "$h" .ready)" false "health while the catalog is down: ready false"
assert_match "$(jqr "$h" .ready_note)" "waiting for catalog" "health says why: waiting for catalog"
assert_eq "$(grep -c ' READY=1$' "$OUT")" 0 "no READY=1 while the catalog is down"
assert_match "$(grep ' STATUS=' "$OUT" | tail -1)" "STATUS=waiting for catalog \\(up to" \
    "the last STATUS= line says what it still waits for"
wd=$(grep -c ' WATCHDOG=1$' "$OUT")
[ "$wd" -ge 3 ] && ok "WATCHDOG=1 while not ready ($wd in about 2 s)" ||
    fail "WATCHDOG=1 while not ready: $wd, expected at least 3 (WATCHDOG_USEC=1 s)" "$(cat "$OUT")"

assert_rc 0 "the catalog comes back" counter backend start catalog
ready_sent() { grep -q ' READY=1$' "$OUT"; }
wait_for 20 "READY=1 once the view caught up" ready_sent
# The view says READY=1 only after it applied what the catalog had: read
# its position right after the message (it is in its database by then).
pos=$(db view "SELECT seq FROM bus_applied WHERE publisher = 'catalog'")
[ "$pos" -ge "$seq0" ] && ok "at READY=1 the view had applied $pos of $seq0 catalog events" ||
    fail "READY=1 came before the catch-up: the view had applied $pos of $seq0"
h=$(view_health)
assert_eq "$(jqr "$h" .ready)" true "health after READY=1: ready true"
assert_match "$(grep -A1 ' READY=1$' "$OUT" | tail -1)" "STATUS=ready on " "READY=1 comes with STATUS=ready on ..."

wd1=$(grep -c ' WATCHDOG=1$' "$OUT")
sleep 1
wd2=$(grep -c ' WATCHDOG=1$' "$OUT")
[ $((wd2 - wd1)) -ge 2 ] && ok "WATCHDOG=1 keeps coming when ready ($((wd2 - wd1)) in 1 s)" ||
    fail "WATCHDOG=1 in 1 s after ready: $((wd2 - wd1)), expected at least 2"

kill -TERM "$view"
wait "$view"
assert_eq "$?" 0 "the view exits 0 on SIGTERM"
stopping() { grep -q ' STOPPING=1$' "$OUT"; }
wait_for 5 "STOPPING=1 on SIGTERM" stopping

# No NOTIFY_SOCKET (the workers backend start started): nothing is sent and
# nothing is said about it.
assert_no_match "$(cat "$COUNTER_HOME"/log/*.log)" "sd_notify|sd_watchdog" "no sd_notify word in the logs"

kill "$recv" 2>/dev/null
wait "$recv" 2>/dev/null
note "notify messages: $(cut -d' ' -f2- "$OUT" | cut -c1-40 | sort | uniq -c | sort -rn | head -5 | tr '\n' ';')"
finish
