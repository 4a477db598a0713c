#!/usr/bin/env bash
# saga_breaker: the circuit breaker on order -> payment (N2, seed C5).
# First, with payment healthy, a burst of 300 placements from 50 clients is
# served: nobody is turned away with payment_busy. Then, with a 2 s cool-down
# and payment slow (500 ms a call), 100 clients offer 1000 placements a second
# for 6 s: the breaker opens (times_opened >= 1, shown by `counter status`),
# most answers are payment_busy and they come fast (busy p99), and no caller
# waits past ~2 s. Then payment is fast again: after the cool-down orders go
# through and the breaker is closed again. Every placement answered ok is an
# order, nothing else is; the audit is OK.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"
# Payment made slow on purpose (500 ms a call, one call at a time) answers
# nothing else - health included - while 100 clients' calls drain: the
# supervisor's liveness check would take it for stuck and restart it, and the
# new process would have lost the injected latency. Liveness is off here
# (tests/it/supervise.sh tests it).
export COUNTER_SUPERVISOR_STUCK_MS=0

[ -x "$LOADGEN_BIN" ] || die "$LOADGEN_BIN is missing: make ${BUILD##*/}/tests/loadgen"

# Busy answers must come "at once" (DESIGN 6). 50 ms is the aim; on this
# shared 2-core machine we allow 200 ms (x TIME_SCALE under sanitizers).
BUSY_P99_MAX=${BUSY_P99_MAX:-$((200 * TIME_SCALE))}
WAIT_MAX=$((2500 * TIME_SCALE))     # "no caller waited past ~2 s"

# Every worker but order from the plain environment; order with a 2 s cool-down.
for s in customer catalog payment delivery view; do
    backend_start "$s" || die "$s does not start"
done
run env COUNTER_BREAKER_OPEN_MS=2000 "$COUNTER_BIN" backend start order
assert_eq "$RUN_RC" 0 "COUNTER_BREAKER_OPEN_MS=2000 counter backend start order" || die "order does not start"
assert_json_eq "$(breaker_json | jq -c '{state, open_ms, times_opened}')" \
    '{"state":"closed","open_ms":2000,"times_opened":0}' "status: the breaker is closed, cool-down 2000 ms"

printf '%s\n' \
    "customers add name=lee phone=010 address=seoul age=29" \
    "customers add name=kim phone=011 address=busan age=35" \
    "foods add name=pizza stock=100000 price=1000" \
    "foods add name=meat stock=100000 price=2000" >"$SCRATCH/seed.batch"
assert_rc 0 "two customers, two foods with plenty of stock" counter batch "$SCRATCH/seed.batch"

# ---- payment healthy: nobody is turned away -------------------------------------------------
# The fallback is for a payment that is slow, failing or overloaded (DESIGN
# 4.4, 6); a burst of concurrent customers on a healthy payment is served.
run "$LOADGEN_BIN" -c 50 -n 300 -d 60 -C 2 -F 2 -t $((15000 * TIME_SCALE))
assert_eq "$RUN_RC" 0 "payment healthy: loadgen -c 50 -n 300: exit 0"
note "loadgen (payment healthy): $RUN_OUT"
assert_json_eq "$(jq -c '{attempts, placed, rejects}' <<<"$RUN_OUT")" '{"attempts":300,"placed":300,"rejects":{}}' \
    "payment healthy: 50 concurrent clients, 300 placements, all placed (no payment_busy)"
healthy_placed=$(jqr "$RUN_OUT" .placed)
assert_eq "$(breaker_field times_opened)" 0 "payment healthy: the breaker never opened"
wait_for 20 "payment healthy: every placement is finished" no_open_placements
orders_before=$(orders_json | jq length)
paid_before=$(pays_json | jq '[.[] | select(.status == "paid")] | length')
assert_eq "$orders_before" "$healthy_placed" "payment healthy: one order per placement answered ok"

# ---- payment slow, 1000 placements a second -----------------------------------------------
assert_rc 0 "pays faults latency_ms=500" counter pays faults latency_ms=500
t0=$(now_ms)
run "$LOADGEN_BIN" -c 100 -r 1000 -d 6 -C 2 -F 2 -t 15000
lg_ms=$(( $(now_ms) - t0 ))
assert_eq "$RUN_RC" 0 "loadgen -c 100 -r 1000 -d 6 -C 2 -F 2: exit 0 (${lg_ms} ms)"
lg=$RUN_OUT
note "loadgen: $lg"
jq -e . >/dev/null 2>&1 <<<"$lg" || die "loadgen printed no JSON" "stderr: $RUN_ERR"
attempts=$(jqr "$lg" .attempts)
placed=$(jqr "$lg" .placed)
busy=$(jqr "$lg" .busy)
busy_p99=$(jqr "$lg" .busy_p99_ms)
lat_max=$(jqr "$lg" .latency_max_ms)

after=$(breaker_json)
note "breaker after the load: $after"
# `counter status` shows the breaker (DESIGN 6): its state and how often it opened.
st=$(status_breaker_json)
assert_json_eq "$(jqr "$st" '{state: .state?, times_opened: .times_opened?}' 2>&1)" \
    "$(jqr "$after" '{state, times_opened}')" \
    "counter status shows the order worker's breaker: state and times_opened" || show "counter status: breaker" "$st"
assert_eq "$(jqr "$after" '.times_opened >= 1')" true "status: the breaker opened (times_opened $(jqr "$after" .times_opened))"
assert_eq "$(jqr "$lg" '.attempts >= 1000')" true "the load was offered ($attempts placements tried)"
assert_eq "$(jqr "$lg" '.busy >= .attempts * 0.8')" true \
    "most callers got the fallback: $busy of $attempts answers payment_busy"
assert_eq "$(jqr "$lg" '[.rejects | keys[] | select(. != "payment_busy" and . != "unavailable")]')" "[]" \
    "no answer but ok, payment_busy or unavailable ($(jq -c .rejects <<<"$lg"))"
if jq -e --argjson m "$BUSY_P99_MAX" '.busy_p99_ms < $m' >/dev/null <<<"$lg"; then
    ok "busy answers are fast: busy p99 ${busy_p99} ms < ${BUSY_P99_MAX} ms (p50 $(jqr "$lg" .busy_p50_ms) ms)"
else
    fail "busy answers are fast: busy p99 ${busy_p99} ms" \
        "got busy_p99_ms ${busy_p99} (p50 $(jqr "$lg" .busy_p50_ms)), expected < ${BUSY_P99_MAX} ms (aim: 50 ms)"
fi
if jq -e --argjson m "$WAIT_MAX" '.latency_max_ms < $m' >/dev/null <<<"$lg"; then
    ok "no caller waited past ~2 s: latency max ${lat_max} ms < ${WAIT_MAX} ms"
else
    fail "no caller waited past ~2 s" "got latency_max_ms ${lat_max}, expected < ${WAIT_MAX} ms"
fi

# ---- payment fast again: after the cool-down the breaker closes ------------------------------
assert_rc 0 "pays faults latency_ms=0" counter pays faults latency_ms=0
wait_for 20 "every placement of the load is finished" no_open_placements
# Only orders the load was told were placed exist (before any of ours).
assert_eq "$(orders_json | jq length)" $((orders_before + placed)) \
    "orders list: exactly the $placed placements of the load answered ok are new orders"
assert_eq "$(pays_json | jq '[.[] | select(.status == "paid")] | length')" $((paid_before + placed)) \
    "pays list: exactly $placed new payments stand (the rest voided or refunded)"

place_until_ok() {
    "$COUNTER_BIN" --json orders place customer=1 food=1 qty=1
}
wait_for 15 "after the cool-down an order goes through" place_until_ok
closed() {
    local st
    st=$(breaker_field state)
    echo "breaker: $st"
    [ "$st" = closed ] && return 0
    # Trial calls close it: place another.
    "$COUNTER_BIN" --json orders place customer=2 food=2 qty=1 >/dev/null 2>&1
    return 1
}
wait_for 15 "the breaker is closed again" closed
assert_rc 0 "with the breaker closed, an order is placed at once" counter --json orders place customer=2 food=1 qty=2
assert_eq "$(jqr "$RUN_OUT" '.status + " " + .paymentStatus')" "placed paid" "... placed and paid"
note "breaker at the end: $(breaker_json)"

wait_for 20 "every placement is finished" no_open_placements
audit_ok "after the load"
note "measured: busy_p99_ms=$busy_p99 latency_max_ms=$lat_max busy=$busy/$attempts placed=$placed"
finish
