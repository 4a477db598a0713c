#!/usr/bin/env bash
# saga_busy_badinput: while the payment breaker is open, placements are
# turned away at once with payment_busy - but a malformed placement still
# gets bad_request naming the field (the fast path never hides bad input),
# and nothing is written for either.
. "$(dirname "$0")/../lib.sh"

export COUNTER_BREAKER_OPEN_MS=30000     # stays open for the whole test
backend_start || die "the backend does not start"
assert_rc 0 "a customer and a food" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=100
pays faults fail_ratio=100
B
for i in 1 2 3 4 5 6; do
    run counter orders place customer=1 food=1 qty=1
done
breaker_open() {
    [ "$("$COUNTER_BIN" --json status | jq -r 'select(.service=="order") | .breaker.state')" = open ]
}
wait_for 10 "the breaker is open" breaker_open

run rawsend order CTR2 order.place bad-1 "$(cred manager:t)" '{"customer":1,"food":1,"qty":0}'
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" bad_request "qty=0 while open: bad_request, not busy"
assert_match "$(printf '%s\n' "$RUN_OUT" | sed -n 4p)" '"field":"qty"' "... naming the field"
run rawsend order CTR2 order.place bad-2 "$(cred manager:t)" '{"customer":1,"food":1}'
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" bad_request "a missing qty while open: bad_request"
run rawsend order CTR2 order.place good-1 "$(cred manager:t)" '{"customer":1,"food":1,"qty":1}'
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" payment_busy "a well-formed placement while open: payment_busy"
assert_match "$(printf '%s\n' "$RUN_OUT" | sed -n 4p)" '"retry_after_ms":[0-9]+' "... with retry_after_ms"

assert_eq "$("$COUNTER_BIN" --json orders list | wc -l)" 0 "no order exists"
assert_eq "$("$COUNTER_BIN" --json foods show 1 | jq .stock)" 100 "no stock is held"
finish
