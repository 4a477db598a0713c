#!/usr/bin/env bash
# saga_crash: a crash between the saga's steps leaves nothing half-done
# (DESIGN 4). The order worker is restarted with a fault point that kills it
# (SIGKILL) in the middle of a placement:
#   order.after_reserve: the stock is held, payment not yet asked;
#   order.after_pay:     the payment went through, the order not yet stored.
# The placement fails for the caller (exit 3 or 1). After a normal restart the
# order worker undoes it: no order, no delivery, no my-orders row, the stock
# back, nothing charged (after_pay: the payment refunded); the audit is OK.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"
seed_shop
stock0=$(stock_of 1)

# A graceful stop of the order worker (the restarts below rely on it).
t0=$(now_ms)
run counter backend stop order
stop_ms=$(( $(now_ms) - t0 ))
assert_eq "$RUN_RC" 0 "counter backend stop order: exit 0"
assert_match "$RUN_OUT" "order +stopped" "the order worker stops on request (${stop_ms} ms), it is not killed" ||
    show_logs
wait_for 10 "order is stopped" is_stopped order

# crash_at POINT QTY: start order with the fault point, place an order that
# kills it; sets CRASH_ID (the placement's order id).
crash_at() {
    local point=$1 qty=$2
    # (not restarted by the supervisor: the test looks at it while it is down)
    run env COUNTER_FAULT="$point" COUNTER_SUPERVISOR_RESTART=0 "$COUNTER_BIN" backend start order
    assert_eq "$RUN_RC" 0 "COUNTER_FAULT=$point counter backend start order" || return 1
    run counter orders place customer=1 food=1 qty="$qty"
    if [ "$RUN_RC" -eq 3 ] || [ "$RUN_RC" -eq 1 ]; then
        ok "$point: the placement fails for the caller [exit $RUN_RC: $(printf '%s' "$RUN_ERR" | head -n 1)]"
    else
        fail "$point: the placement should fail (exit 3 or 1), got exit $RUN_RC"
        show "stdout" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
    fi
    wait_for 10 "$point: the order worker is dead" is_stopped order
    assert_match "$(cat "$COUNTER_HOME/log/order.log")" "fault point $point: killing myself" \
        "$point: it died at the fault point"
    CRASH_ID=$(db order "SELECT id FROM placements ORDER BY id DESC LIMIT 1")
    assert_eq "$(db order "SELECT state FROM placements WHERE id = $CRASH_ID")" started \
        "$point: the placement (order $CRASH_ID) was left unfinished"
}

# nothing_left ORDER_ID DESC: the placement left no trace but its undo.
nothing_left() {
    local o=$1 desc=$2
    wait_for 20 "$desc: every placement is finished" no_open_placements
    assert_eq "$(db order "SELECT state FROM placements WHERE id = $o")" failed "$desc: the placement is failed"
    audit_ok "$desc"
    assert_error 1 "not_found" "$desc: orders show $o: not_found" counter orders show "$o"
    assert_eq "$(orders_json | jq -c --argjson o "$o" 'map(select(.id == $o))')" "[]" "$desc: no order $o in the list"
    assert_eq "$(deliveries_json | jq -c --argjson o "$o" 'map(select(.orderId == $o))')" "[]" "$desc: no delivery"
    assert_eq "$(myorders_json | jq -c --argjson o "$o" 'map(select(.orderId == $o))')" "[]" "$desc: no my-orders row"
    assert_eq "$(events_json | jq -c --argjson o "$o" 'map(select(.orderId == $o and (.eventType == "Ordered" or .eventType == "DeliveryReceived"))) | length')" \
        0 "$desc: no Ordered, no DeliveryReceived for order $o"
    assert_eq "$(stock_of 1)" "$stock0" "$desc: pizza's stock is back to $stock0"
    wait_for 20 "$desc: the catalog view agrees" view_stock_is 1 "$stock0"
    assert_eq "$(pays_json | jq -c 'map(select(.status == "paid"))')" "[]" "$desc: nothing is charged"
}

# ---- killed after the reservation -----------------------------------------------------------
crash_at order.after_reserve 7
o1=$CRASH_ID
assert_eq "$(stock_of 1)" $((stock0 - 7)) "after_reserve: the 7 pizzas are held while order is down"
assert_eq "$(pays_json | jq -c --argjson o "$o1" 'map(select(.orderId == $o))')" "[]" \
    "after_reserve: payment was never asked"
backend_start order
nothing_left "$o1" "after_reserve, restarted"
note "after_reserve: payment rows of order $o1: $(pays_json | jq -c --argjson o "$o1" 'map(select(.orderId == $o) | {status, amount})')"

# ---- killed after the payment ---------------------------------------------------------------
backend_stop order
wait_for 10 "order is stopped" is_stopped order
crash_at order.after_pay 9
o2=$CRASH_ID
assert_eq "$(pays_json | jq -c --argjson o "$o2" 'map(select(.orderId == $o) | {status, amount})')" \
    '[{"status":"paid","amount":9000}]' "after_pay: the payment went through before the crash"
backend_start order
refunded() {
    local s
    s=$(pays_json | jq -c --argjson o "$o2" 'map(select(.orderId == $o) | .status)')
    echo "payment of order $o2: $s"
    [ "$s" = '["refunded"]' ] || [ "$s" = '["voided"]' ]
}
wait_for 20 "after_pay, restarted: the payment of order $o2 is refunded" refunded
nothing_left "$o2" "after_pay, restarted"
ev=$(events_json | jq -c --argjson o "$o2" 'map(select(.orderId == $o) | .eventType)')
assert_eq "$(jqr "$ev" 'map(select(. == "Paid" or . == "PaymentCancelled")) | join(" ")')" "Paid PaymentCancelled" \
    "after_pay: one Paid, then one PaymentCancelled for order $o2"
assert_eq "$(events_json | jq -c --argjson o "$o2" 'map(select(.orderId == $o and .eventType == "PaymentCancelled"))[0] | .amount')" \
    9000 "PaymentCancelled gives back the 9000 paid"

# ---- and the shop goes on -----------------------------------------------------------------------
assert_rc 0 "a normal placement after the crashes" counter --json orders place customer=2 food=1 qty=1
o3=$(jqr "$RUN_OUT" .id)
assert_eq "$(jqr "$RUN_OUT" '.status + " " + .paymentStatus')" "placed paid" "... placed and paid"
[ "$o3" != "$o1" ] && [ "$o3" != "$o2" ] && ok "... with a new order id ($o3)" ||
    fail "the new order reuses a crashed placement's id" "got $o3, crashed: $o1 $o2"
wait_for 20 "the team has order $o3" delivery_status_is "$o3" received
audit_ok "at the end"
finish
