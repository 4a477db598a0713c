#!/usr/bin/env bash
# saga_n1a: an order that was not paid does not exist (N1a). With payment
# failing (fail_ratio=100), declining (decline=true) and down (its worker
# stopped), a placement is refused with payment_busy / payment_declined /
# unavailable (exit 1, the reason on stderr, nothing on stdout); afterwards no
# order exists (orders, deliveries, my orders are empty, no Ordered event),
# the stock is unchanged and no reservation is held (audit OK), and once
# payment is back nothing of those attempts was charged.
# Last, a payment slower than the caller's patience: whatever the caller was
# told must be true afterwards (refused => no order, nothing charged).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"
seed_shop
stock0=$(stock_of 1)
assert_eq "$stock0" 100 "pizza starts with 100"

nothing_placed() {   # DESC: no order anywhere, no paid payment, stock as it was
    local desc=$1
    assert_eq "$(orders_json)" "[]" "$desc: orders list is empty"
    assert_eq "$(deliveries_json)" "[]" "$desc: deliveries list is empty"
    assert_eq "$(myorders_json)" "[]" "$desc: my orders is empty"
    assert_eq "$(events_json | jq -c 'map(select(.eventType == "Ordered" or .eventType == "DeliveryReceived")) | map(.eventType)')" \
        "[]" "$desc: no Ordered and no DeliveryReceived event"
    assert_eq "$(pays_json | jq -c 'map(select(.status == "paid"))')" "[]" \
        "$desc: pays list has no 'paid' payment"
    assert_eq "$(stock_of 1)" "$stock0" "$desc: pizza's stock is unchanged ($stock0)"
    wait_for 20 "$desc: the catalog view shows the stock unchanged" view_stock_is 1 "$stock0"
}

# ---- payment failing ----------------------------------------------------------------
assert_rc 0 "pays faults fail_ratio=100" counter pays faults fail_ratio=100
assert_error 1 "payment_busy" "payment failing: placement refused with payment_busy" \
    counter orders place customer=1 food=1 qty=3
wait_for 20 "payment failing: the placement is fully undone" no_open_placements
audit_ok "payment failing"
nothing_placed "payment failing"

# ---- payment declining ----------------------------------------------------------------
assert_rc 0 "pays faults fail_ratio=0 decline=true" counter pays faults fail_ratio=0 decline=true
assert_error 1 "payment_declined" "payment declining: placement refused with payment_declined" \
    counter orders place customer=1 food=1 qty=3
wait_for 20 "payment declining: the placement is fully undone" no_open_placements
audit_ok "payment declining"
nothing_placed "payment declining"
assert_rc 0 "pays faults decline=false" counter pays faults decline=false

# ---- payment down ---------------------------------------------------------------------
backend_stop payment
wait_for 10 "payment is stopped" is_stopped payment
assert_error 1 "unavailable" "payment down: placement refused with unavailable" \
    counter orders place customer=1 food=1 qty=3
# The stock comes back at once; the void waits for payment.
wait_for 20 "payment down: pizza's stock is back to $stock0" stock_is 1 "$stock0"
assert_eq "$(orders_json)" "[]" "payment down: no order exists"
# Until the order worker has given up on its payment call (it is undoing the
# placement, or done with it), nothing may exist.
gave_up() {
    local s
    s=$(db order "SELECT state FROM placements ORDER BY id DESC LIMIT 1")
    echo "the last placement is '$s'"
    [ "$s" = compensate ] || [ "$s" = failed ]
}
wait_for 20 "payment down: the order worker gave up on the payment call" gave_up
assert_eq "$(orders_json)" "[]" "payment down, the call given up: still no order"
backend_start payment
wait_for 20 "payment back: every refused placement is fully undone" no_open_placements
audit_ok "payment back"
nothing_placed "payment down, then back"
note "payments of the refused attempts: $(pays_json | jq -c 'map({orderId, status, amount})')"

# ---- a normal order still goes through ----------------------------------------------------
assert_rc 0 "payment healthy: an order is placed" counter orders place customer=1 food=1 qty=3
placed=$(jqr "$RUN_OUT" .id)
assert_eq "$(jqr "$RUN_OUT" '.status + " " + .paymentStatus')" "placed paid" "... placed and paid"
assert_eq "$(stock_of 1)" $((stock0 - 3)) "... and holds 3 pizzas"
audit_ok "after a good order"

# ---- payment slower than the caller waits ---------------------------------------------------
# 800 ms: less than the order worker's payment timeout (breaker.timeout_ms,
# 1000), more than the command line's (client.timeout_ms, 700). Whatever the
# caller hears must be what happened.
orders_before=$(orders_json | jq length)
paid_before=$(pays_json | jq '[.[] | select(.status == "paid")] | length')
assert_rc 0 "pays faults latency_ms=800" counter pays faults latency_ms=800
run counter orders place customer=2 food=1 qty=4
slow_rc=$RUN_RC slow_out=$RUN_OUT slow_err=$RUN_ERR
note "slow payment: orders place exit $slow_rc, stdout '$slow_out', stderr '$slow_err'"
assert_rc 0 "pays faults latency_ms=0" counter pays faults latency_ms=0
wait_for 20 "slow payment: the placement is finished" no_open_placements
audit_ok "after the slow payment"
orders_after=$(orders_json | jq length)
paid_after=$(pays_json | jq '[.[] | select(.status == "paid")] | length')
if [ "$slow_rc" -eq 0 ]; then
    assert_eq "$orders_after" $((orders_before + 1)) "slow payment, placement answered ok: the order exists"
else
    # Refused: the customer was told it did not happen, so it must not have.
    assert_eq "$orders_after" "$orders_before" \
        "slow payment, placement refused (exit $slow_rc: $slow_err): no new order exists"
    assert_eq "$paid_after" "$paid_before" \
        "slow payment, placement refused: nothing new was charged"
    if [ "$orders_after" != "$orders_before" ]; then
        show "orders list" "$(orders_json | jq -c '.[] | {id, customerId, qty, status, paymentStatus}')"
        show "pays list" "$(pays_json | jq -c '.[] | {orderId, status, amount}')"
    fi
fi
assert_eq "$(orders_json | jq -c --argjson p "$placed" '[.[] | select(.id == $p) | .status]')" '["placed"]' \
    "the good order is untouched"

audit_ok "at the end"
finish
