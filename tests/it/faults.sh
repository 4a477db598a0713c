#!/usr/bin/env bash
# faults: fault injection is for tests only. In a shop started without
# faults.enabled, `counter pays faults` (payment.admin) is forbidden (exit 1)
# and changes nothing, and a worker whose configuration sets a fault key
# (fault = order.after_reserve, COUNTER_PAYMENT_DECLINE=1) refuses to start
# with a sentence that names the key and faults.enabled. With faults.enabled
# it works as before.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

unset COUNTER_FAULTS_ENABLED      # lib.sh enables faults for every other test
backend_start || die "the backend does not start"
seed_shop

assert_error 1 "forbidden.*faults\.enabled" "pays faults latency_ms=500 without faults.enabled" \
    counter pays faults latency_ms=500
assert_error 1 "forbidden" "pays faults decline=true without faults.enabled" \
    counter pays faults decline=true
assert_error 1 "forbidden.*faults\.enabled" "backend stall catalog without faults.enabled" \
    counter backend stall catalog 5
assert_no_match "$(cat "$COUNTER_HOME/log/payment.log")" "faults set by" \
    "payment logged no change of its faults"
# Nothing changed: payment neither declines nor fails nor waits.
run counter --json orders place customer=1 food=1 qty=1
assert_eq "$RUN_RC" 0 "an order is placed and paid after the refused calls" || show "stderr" "$RUN_ERR"
assert_eq "$(pays_json | jq -r '.[0].status')" "paid" "its payment is paid"

# A fault key without faults.enabled: the worker does not start, and says why.
backend_stop order
echo "fault = order.after_reserve" >"$COUNTER_HOME/counter.conf"
run counter backend start order
assert_eq "$RUN_RC" 3 "backend start order with fault = order.after_reserve: refused"
assert_match "$RUN_ERR" "order did not become ready.*fault = order\.after_reserve.*faults\.enabled" \
    "backend start order says which key and what to set"
assert_match "$(cat "$COUNTER_HOME/log/order.log")" \
    "error: fault = order\.after_reserve injects a fault.*faults\.enabled = true" \
    "order's log says why it did not start"
is_stopped order && ok "the order worker is not running" || fail "the order worker runs with a fault point"
rm -f "$COUNTER_HOME/counter.conf"
backend_stop payment
run env COUNTER_PAYMENT_DECLINE=1 "$COUNTER_BIN" backend start payment
assert_eq "$RUN_RC" 3 "backend start payment with COUNTER_PAYMENT_DECLINE=1: refused"
assert_match "$RUN_ERR" "payment\.decline = 1 injects a fault" "and it says which key"

# With faults.enabled everything works as before.
export COUNTER_FAULTS_ENABLED=1
backend_start
assert_rc 0 "pays faults latency_ms=500 with faults.enabled" counter pays faults latency_ms=500
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r .latency_ms)" 500 "it prints the new setting"
assert_rc 0 "pays faults latency_ms=0" counter pays faults latency_ms=0
assert_match "$(cat "$COUNTER_HOME/log/payment.log")" "faults set by" "payment logged the change"
backend_stop order
echo "fault = order.after_reserve" >"$COUNTER_HOME/counter.conf"
backend_start order
rm -f "$COUNTER_HOME/counter.conf"

finish
