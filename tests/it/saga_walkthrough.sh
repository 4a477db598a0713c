#!/usr/bin/env bash
# saga_walkthrough: the seed's walkthrough (C3) of the order saga, as batch
# files: lee and kim sign up, pizza and meat are registered, lee orders 20
# pizzas. The order is paid and reaches the delivery team (Ordered, Paid,
# DeliveryReceived), shows in my orders with its delivery status; the team
# confirms, ships and completes it and my orders says delivered; pizza's
# stock is 80 in the catalog and in its view. A second order is cancelled:
# CancelRequested, the team confirms (DeliveryCanceled, PaymentCancelled,
# OrderCancelled, each once), the stock comes back and my orders shows the
# order cancelled with its payment refunded. The audit is OK at the end.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"

# batch NAME LINE...: run the lines as a batch file; must exit 0 and print
# JSON lines only (kept in $RUN_OUT).
# The delivery team's batches (team*) run as the delivery team (kim), the
# others as the manager.
batch() {
    local name=$1 as=()
    shift
    case $name in team*) as=(--as delivery:kim) ;; esac
    printf '%s\n' "$@" >"$SCRATCH/$name.batch"
    assert_rc 0 "batch $name" counter "${as[@]}" --json batch "$SCRATCH/$name.batch" || return 1
    if printf '%s\n' "$RUN_OUT" | jq -e -s 'all(type == "object")' >/dev/null 2>&1; then
        ok "batch $name prints one JSON object per line"
    else
        fail "batch $name prints one JSON object per line"
        show "stdout" "$RUN_OUT"
    fi
}
line() { printf '%s\n' "$RUN_OUT" | sed -n "$1p" | jq -S -c "$2" 2>&1; }

# Events of one order, from the console consumer's history.
order_events() {   # ORDER_ID -> JSON array of the order's events
    counter --json events --from-beginning | jq -s -c --argjson o "$1" 'map(select(.orderId == $o))'
}
count_type() {   # EVENTS_JSON TYPE
    printf '%s\n' "$1" | jq --arg t "$2" 'map(select(.eventType == $t)) | length'
}

# ---- the seed's customers, foods and first order, as one batch ------------------
batch seed \
    "# the seed's walkthrough (C3)" \
    "customers add name=lee phone=010 address=seoul age=29" \
    "customers add name=kim phone=011 address=busan age=35" \
    "foods add name=pizza stock=100 price=1000" \
    "foods add name=meat stock=100 price=2000" \
    "orders place customer=1 foodcaltalogid=1 qty=20"
assert_eq "$(nlines "$RUN_OUT")" 5 "five results for five commands"
assert_json_eq "$(line 1 '{id, name, phone, address, age}')" \
    '{"id":1,"name":"lee","phone":"010","address":"seoul","age":29}' "lee is customer 1"
assert_json_eq "$(line 2 '{id, name, phone, address, age}')" \
    '{"id":2,"name":"kim","phone":"011","address":"busan","age":35}' "kim is customer 2"
assert_json_eq "$(line 3 '{id, name, stock, price}')" '{"id":1,"name":"pizza","stock":100,"price":1000}' \
    "pizza is food 1"
assert_json_eq "$(line 4 '{id, name, stock, price}')" '{"id":2,"name":"meat","stock":100,"price":2000}' \
    "meat is food 2"
assert_json_eq "$(line 5 '{id, customerId, foodId, qty, price, amount, status, paymentStatus}')" \
    '{"id":1,"customerId":1,"foodId":1,"qty":20,"price":1000,"amount":20000,"status":"placed","paymentStatus":"paid"}' \
    "orders place customer=1 foodcaltalogid=1 qty=20: order 1, 20000 paid"
order1=$(line 5 .id)

# ---- the order reached payment, the bus and the delivery team ---------------------
wait_for 20 "DeliveryReceived for order $order1" has_event DeliveryReceived "$order1"
ev=$(order_events "$order1")
for t in Ordered Paid DeliveryReceived; do
    assert_eq "$(count_type "$ev" "$t")" 1 "events --from-beginning: exactly one $t for order $order1"
done
assert_json_eq "$(printf '%s\n' "$ev" | jq -c 'map(select(.eventType == "Ordered"))[0] | {eventType, orderId, qty, foodcaltalogid, customerid, amount}')" \
    '{"eventType":"Ordered","orderId":1,"qty":20,"foodcaltalogid":1,"customerid":1,"amount":20000}' \
    "Ordered prints as the seed's console consumer printed it"
assert_json_eq "$(printf '%s\n' "$ev" | jq -c 'map(select(.eventType == "Paid"))[0] | {orderId, customerId, amount}')" \
    '{"orderId":1,"customerId":1,"amount":20000}' "Paid carries the order, the customer and the amount"
assert_json_eq "$(printf '%s\n' "$ev" | jq -c 'map(select(.eventType == "DeliveryReceived"))[0] | {orderId, customerId, foodId, qty, address, status}')" \
    '{"orderId":1,"customerId":1,"foodId":1,"qty":20,"address":"seoul","status":"received"}' \
    "DeliveryReceived carries the order's details"
# Causality: paid before ordered, ordered before the delivery received it.
assert_eq "$(printf '%s\n' "$ev" | jq -r '(map(select(.eventType == "Paid"))[0].timestamp) <= (map(select(.eventType == "Ordered"))[0].timestamp) and (map(select(.eventType == "Ordered"))[0].timestamp) <= (map(select(.eventType == "DeliveryReceived"))[0].timestamp)')" \
    true "Paid <= Ordered <= DeliveryReceived in time"

dels=$(deliveries_json)
assert_eq "$(jqr "$dels" length)" 1 "deliveries list: one delivery"
assert_json_eq "$(jqr "$dels" '.[0] | {orderId, customerId, customerName, address, foodId, foodName, qty, status}')" \
    '{"orderId":1,"customerId":1,"customerName":"lee","address":"seoul","foodId":1,"foodName":"pizza","qty":20,"status":"received"}' \
    "deliveries list: order 1 for lee in seoul, 20 pizza, received"
d1=$(jqr "$dels" '.[0].id')

wait_for 20 "my orders shows order 1 with its delivery status (received)" \
    myorder_is "$order1" .deliveryStatus '"received"'
assert_json_eq "$(myorders_json | jq -c '.[] | select(.orderId == 1) | {customerId, food, qty, amount, orderStatus, paymentStatus, deliveryStatus, deliveryId}')" \
    "{\"customerId\":1,\"food\":\"pizza\",\"qty\":20,\"amount\":20000,\"orderStatus\":\"placed\",\"paymentStatus\":\"paid\",\"deliveryStatus\":\"received\",\"deliveryId\":$d1}" \
    "my orders: order 1, pizza x20, 20000, placed, paid, received"
assert_match "$(myorders_json | jq -r '.[] | select(.orderId == 1) | .lastChange')" \
    '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "my orders shows the last change time"

# ---- the delivery team confirms, ships, completes -----------------------------------
batch team \
    "deliveries confirm $d1" \
    "deliveries ship $d1" \
    "deliveries complete $d1"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r .status | paste -sd' ' -)" "confirmed shipped delivered" \
    "confirm, ship, complete answer confirmed, shipped, delivered"
wait_for 20 "my orders: order 1 delivered" myorder_is "$order1" '[.orderStatus, .deliveryStatus]' '["delivered","delivered"]'
wait_for 20 "orders show 1: delivered" order_is "$order1" '[.status, .deliveryStatus, .paymentStatus]' '["delivered","delivered","paid"]'
ev=$(order_events "$order1")
for t in DeliveryConfirmed Shipped Delivered; do
    assert_eq "$(count_type "$ev" "$t")" 1 "exactly one $t for order $order1"
done

# ---- stock ------------------------------------------------------------------------
assert_eq "$(foods_proj | jq -c 'map({name, stock})')" '[{"name":"pizza","stock":80},{"name":"meat","stock":100}]' \
    "foods list: pizza's stock is 80 (100 - 20), meat's untouched"
wait_for 20 "catalog view: pizza's stock is 80" view_stock_is 1 80

# ---- a second order, cancelled ------------------------------------------------------
batch second "orders place customer=2 food=1 qty=5"
assert_json_eq "$(line 1 '{customerId, foodId, qty, amount, status, paymentStatus}')" \
    '{"customerId":2,"foodId":1,"qty":5,"amount":5000,"status":"placed","paymentStatus":"paid"}' \
    "kim orders 5 pizzas: placed and paid"
order2=$(line 1 .id)
assert_eq "$(stock_of 1)" 75 "pizza's stock is 75 while the second order stands"
wait_for 20 "the delivery team has order $order2" delivery_status_is "$order2" received
d2=$(counter --json deliveries list order="$order2" | jq -r .id)

batch cancel "orders cancel $order2"
assert_json_eq "$(line 1 '{id, status}')" "{\"id\":$order2,\"status\":\"cancel_requested\"}" \
    "orders cancel $order2: cancel_requested"
wait_for 20 "CancelRequested for order $order2" has_event CancelRequested "$order2"
assert_eq "$(counter --json deliveries list status=cancel_requested | jq -r .orderId | paste -sd' ' -)" "$order2" \
    "deliveries list status=cancel_requested: the second order, waiting for the team"
assert_eq "$(stock_of 1)" 75 "no stock comes back before the team confirms"
assert_eq "$(pays_json | jq -r --argjson o "$order2" '.[] | select(.orderId == $o) | .status')" paid \
    "no refund before the team confirms"

batch team-cancel "deliveries cancel-confirm $d2"
assert_eq "$(line 1 .status)" '"cancelled"' "deliveries cancel-confirm $d2: cancelled"
for t in DeliveryCanceled PaymentCancelled OrderCancelled; do
    wait_for 20 "$t for order $order2" has_event "$t" "$order2"
done
wait_for 20 "my orders: order $order2 cancelled, payment refunded" \
    myorder_is "$order2" '[.orderStatus, .paymentStatus, .deliveryStatus]' '["cancelled","refunded","cancelled"]'
wait_for 20 "orders show $order2: cancelled, refunded" order_is "$order2" '[.status, .paymentStatus]' '["cancelled","refunded"]'
wait_for 20 "catalog view: pizza's stock is back to 80" view_stock_is 1 80
assert_eq "$(foods_proj | jq -c 'map({name, stock})')" '[{"name":"pizza","stock":80},{"name":"meat","stock":100}]' \
    "foods list: pizza's stock is back to 80"

ev=$(order_events "$order2")
for t in Ordered Paid DeliveryReceived CancelRequested DeliveryCanceled PaymentCancelled OrderCancelled; do
    assert_eq "$(count_type "$ev" "$t")" 1 "exactly one $t for order $order2"
done
assert_eq "$(count_type "$ev" Delivered)" 0 "no Delivered for the cancelled order"
assert_json_eq "$(printf '%s\n' "$ev" | jq -c 'map(select(.eventType == "PaymentCancelled"))[0] | {orderId, amount}')" \
    "{\"orderId\":$order2,\"amount\":5000}" "PaymentCancelled refunds the 5000 paid"
assert_eq "$(printf '%s\n' "$ev" | jq -c '[.[] | select(.eventType == "StockChanged") | .delta]')" "[-5,5]" \
    "the stock moved twice for the second order: -5 when placed, +5 on cancel"

assert_json_eq "$(pays_json | jq -c 'map({orderId, amount, status})')" \
    "[{\"orderId\":$order1,\"amount\":20000,\"status\":\"paid\"},{\"orderId\":$order2,\"amount\":5000,\"status\":\"refunded\"}]" \
    "pays list: the delivered order paid, the cancelled one refunded"
assert_json_eq "$(myorders_json | jq -c 'map({orderId, orderStatus, paymentStatus, deliveryStatus})')" \
    "[{\"orderId\":$order2,\"orderStatus\":\"cancelled\",\"paymentStatus\":\"refunded\",\"deliveryStatus\":\"cancelled\"},{\"orderId\":$order1,\"orderStatus\":\"delivered\",\"paymentStatus\":\"paid\",\"deliveryStatus\":\"delivered\"}]" \
    "my orders: both orders with their final status"

audit_ok "after the walkthrough"
finish
