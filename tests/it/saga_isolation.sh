#!/usr/bin/env bash
# saga_isolation: fault isolation (seed C4). With the delivery worker stopped,
# 50 orders are placed (all succeed); when delivery starts again it catches
# up: exactly 50 deliveries, one per order. With the view worker stopped, 50
# more; when it starts, my orders has all 100. A customer with open orders
# cannot withdraw (conflict naming the count); once every order is delivered
# or cancelled, the withdrawal goes through.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"
seed_shop

# place_many N FIRST_LINE_NO NAME: N placements in one batch, customers 1 and 2
# alternating (odd lines lee, even lines kim), one pizza each.
place_many() {
    local n=$1 name=$2 i
    for i in $(seq 1 "$n"); do
        echo "orders place customer=$(( (i - 1) % 2 + 1 )) food=1 qty=1"
    done >"$SCRATCH/$name.batch"
    assert_rc 0 "$name: $n placements in a batch, all succeed" counter --json batch "$SCRATCH/$name.batch"
    assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c '[length, (map(.status) | unique)]')" "[$n,[\"placed\"]]" \
        "$name: $n orders answered placed"
}

# deliveries_are N: the delivery list has N deliveries for N distinct orders.
deliveries_are() {
    local got
    got=$(deliveries_json | jq -c '[length, (map(.orderId) | unique | length)]')
    echo "deliveries list: [deliveries, distinct orderIds] = $got"
    [ "$got" = "[$1,$1]" ]
}
myorders_are() {
    local got
    got=$(myorders_json | jq -c '[length, (map(.orderId) | unique | length)]')
    echo "my orders: [rows, distinct orderIds] = $got"
    [ "$got" = "[$1,$1]" ]
}

# ---- delivery down ---------------------------------------------------------------------
backend_stop delivery
wait_for 10 "delivery is stopped" is_stopped delivery
place_many 50 "delivery down"
assert_eq "$(orders_json | jq length)" 50 "50 orders exist"
assert_eq "$(stock_of 1)" 50 "pizza's stock is 50"
wait_for 20 "my orders shows the 50 orders while delivery is down" myorders_are 50
assert_eq "$(myorders_json | jq -c 'map(.deliveryStatus) | unique')" '["pending"]' \
    "my orders: their delivery is pending"
backend_start delivery
wait_for 30 "delivery caught up: 50 deliveries, 50 distinct orders" deliveries_are 50
assert_eq "$(deliveries_json | jq -c 'map(.orderId) | sort')" "$(orders_json | jq -c 'map(.id) | sort')" \
    "one delivery for each order, none for anything else"
assert_eq "$(deliveries_json | jq -c 'map(.status) | unique')" '["received"]' "every delivery is received"
myorders_deliveries_are() {
    local got
    got=$(myorders_json | jq -c 'map(.deliveryStatus) | unique')
    echo "my orders: delivery statuses $got"
    [ "$got" = "[\"$1\"]" ]
}
wait_for 30 "my orders: every delivery received" myorders_deliveries_are received
audit_ok "after delivery caught up"
assert_eq "$(counter --json events --from-beginning | jq -s '[.[] | select(.eventType == "DeliveryReceived")] | [length, (map(.orderId) | unique | length)]' | jq -c .)" \
    "[50,50]" "50 DeliveryReceived events, one per order"

# ---- view down -------------------------------------------------------------------------
backend_stop view
wait_for 10 "view is stopped" is_stopped view
place_many 50 "view down"
assert_eq "$(orders_json | jq length)" 100 "100 orders exist"
wait_for 30 "delivery has all 100 while the view is down" deliveries_are 100
backend_start view
wait_for 30 "my orders caught up: all 100 orders" myorders_are 100
assert_eq "$(myorders_json | jq -c 'map(.orderId) | sort')" "$(orders_json | jq -c 'map(.id) | sort')" \
    "my orders has exactly the orders"
wait_for 20 "catalog view: pizza's stock is 0" view_stock_is 1 0
audit_ok "after the view caught up"

# ---- withdraw with open orders ---------------------------------------------------------------
open1=$(orders_json | jq '[.[] | select(.customerId == 1)] | length')
assert_eq "$open1" 50 "lee has 50 open orders"
assert_error 1 "conflict.*\\b$open1\\b open order" "lee cannot withdraw with $open1 open orders (the count named)" \
    counter customers withdraw 1
assert_eq "$(counter --json customers show 1 | jq -r .status)" active "lee is still active"

# Cancel five of lee's, the team confirms; deliver everything else.
cancel=$(orders_json | jq -r '[.[] | select(.customerId == 1)] | .[0:5] | .[].id')
for o in $cancel; do
    echo "orders cancel $o"
done >"$SCRATCH/cancel.batch"
assert_rc 0 "cancel 5 of lee's orders" counter --json batch "$SCRATCH/cancel.batch"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.status) | unique')" '["cancel_requested"]' \
    "the 5 cancels are requested"
wait_for 20 "5 cancellations wait for the team" count_is 5 deliveries list status=cancel_requested
# Still open while undecided.
assert_error 1 "conflict.*open order" "lee still cannot withdraw while cancels are pending" \
    counter customers withdraw 1
assert_rc 0 "deliveries auto enabled=true delay_ms=0" counter deliveries auto enabled=true delay_ms=0
all_closed() {
    local got
    got=$(deliveries_json | jq -c 'group_by(.status) | map({(.[0].status): length}) | add')
    echo "deliveries by status: $got"
    [ "$got" = '{"cancelled":5,"delivered":95}' ]
}
wait_for 40 "auto mode: 95 delivered, 5 cancelled" all_closed
assert_rc 0 "deliveries auto enabled=false" counter deliveries auto enabled=false
audit_ok "after every order was delivered or cancelled"
assert_eq "$(orders_json | jq -c 'group_by(.status) | map({(.[0].status): length}) | add')" \
    '{"cancelled":5,"delivered":95}' "orders: 95 delivered, 5 cancelled"
assert_eq "$(stock_of 1)" 5 "the 5 cancelled pizzas are back in stock"
assert_eq "$(counter --json events --from-beginning | jq -s -c '[.[] | select(.eventType == "Shipped" or .eventType == "Delivered" or .eventType == "OrderCancelled")] | group_by(.eventType) | map({(.[0].eventType): [length, (map(.orderId) | unique | length)]}) | add')" \
    '{"Delivered":[95,95],"OrderCancelled":[5,5],"Shipped":[95,95]}' \
    "the waiting orders were processed: 95 Shipped and Delivered, 5 OrderCancelled, each once per order"

assert_rc 0 "lee withdraws once nothing is open" counter --json customers withdraw 1
assert_eq "$(jqr "$RUN_OUT" .status)" withdrawn "lee is withdrawn"
assert_rc 0 "kim withdraws too" counter --json customers withdraw 2
assert_error 1 "not_found" "a withdrawn customer cannot order" counter orders place customer=1 food=1 qty=1
audit_ok "at the end"
finish
