#!/usr/bin/env bash
# saga_n1b: a delivered order cannot be cancelled (N1b): conflict "delivered
# orders cannot be cancelled", exit 1, and nothing changes (the order, its
# payment, the stock, the events). A cancellation the delivery team rejects
# lets the order go on: the delivery goes back to where it was and can be
# shipped and delivered, the payment stays paid, the stock does not move.
# Ownership: a customer cannot see or cancel another customer's order, and
# lists only their own. After a cancellation `orders show` and `myorders`
# agree on the order's status (one delivery -> order mapping, proto/status.c),
# also when the view was down during the cancellation and catches up on the
# order's events before the delivery's.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"
seed_shop

place() {   # CUSTOMER FOOD QTY -> prints the order id
    local out
    out=$("$COUNTER_BIN" --json orders place customer="$1" food="$2" qty="$3" 2>"$SCRATCH/place.err")
    local rc=$?
    if [ "$rc" -ne 0 ]; then
        fail "orders place customer=$1 food=$2 qty=$3: exit $rc" "$(cat "$SCRATCH/place.err")"
        return 1
    fi
    printf '%s\n' "$out" | jq -r .id
}
delivery_of() { counter --json deliveries list order="$1" | jq -r .id; }
move() {   # VERB DELIVERY_ID EXPECTED_STATUS
    assert_rc 0 "deliveries $1 $2" counter --as delivery:kim --json deliveries "$1" "$2" &&
        assert_eq "$(jqr "$RUN_OUT" .status)" "$3" "deliveries $1 $2: $3"
}
event_count() { counter --json events --from-beginning | jq -s 'map(select(.publisher != "auth")) | length'; }
# Everything the refused cancel could have touched, in one text.
snapshot() {   # ORDER_ID FOOD_ID
    echo "order: $(counter --json orders show "$1" | jq -S -c .)"
    echo "payments: $(pays_json | jq -S -c .)"
    echo "delivery: $(counter --json deliveries list order="$1" | jq -S -c .)"
    echo "stock: $(stock_of "$2")"
    echo "my orders: $(myorders_json | jq -S -c --argjson o "$1" 'map(select(.orderId == $o))')"
    echo "events: $(event_count)"
}

# ---- a delivered order cannot be cancelled -----------------------------------------------
a=$(place 1 1 2) || die "cannot place an order"
wait_for 20 "the team has order $a" delivery_status_is "$a" received
da=$(delivery_of "$a")
move confirm "$da" confirmed
move ship "$da" shipped
move complete "$da" delivered
wait_for 20 "order $a is delivered" order_is "$a" .status '"delivered"'
audit_ok "order $a delivered"
before=$(snapshot "$a" 1)

assert_error 1 "conflict.*delivered orders cannot be cancelled" \
    "orders cancel $a (delivered): conflict, exit 1" counter orders cancel "$a"
assert_error 1 "conflict.*delivered orders cannot be cancelled" \
    "orders cancel $a as its customer (delivered): conflict, exit 1" counter --as customer:1 orders cancel "$a"
audit_ok "after the refused cancels"
assert_eq "$(snapshot "$a" 1)" "$before" \
    "the refused cancels changed nothing (order, payment, delivery, stock, my orders, events count)"
assert_eq "$(counter --json events --from-beginning | jq -s -c --argjson o "$a" 'map(select(.orderId == $o and (.eventType | test("Cancel")))) | length')" \
    0 "no Cancel* event for order $a"

# ---- a cancellation the team rejects ---------------------------------------------------------
b=$(place 1 2 3) || die "cannot place an order"
wait_for 20 "the team has order $b" delivery_status_is "$b" received
db_=$(delivery_of "$b")
move confirm "$db_" confirmed
wait_for 20 "order $b follows the delivery: confirmed" order_is "$b" .status '"confirmed"'
stock_b=$(stock_of 2)
assert_eq "$stock_b" 97 "meat's stock is 97 with order $b placed"

assert_rc 0 "orders cancel $b" counter --json orders cancel "$b"
assert_eq "$(jqr "$RUN_OUT" .status)" cancel_requested "orders cancel $b: cancel_requested"
wait_for 20 "the delivery of order $b: cancel_requested" delivery_status_is "$b" cancel_requested
assert_error 1 "conflict" "a second cancel of order $b while one is pending: conflict" \
    counter orders cancel "$b"
move cancel-reject "$db_" confirmed
wait_for 20 "CancelRejected for order $b" has_event CancelRejected "$b"
wait_for 20 "order $b goes on: back to confirmed" order_is "$b" '[.status, .deliveryStatus, .paymentStatus]' \
    '["confirmed","confirmed","paid"]'
wait_for 20 "my orders: order $b confirmed, paid" myorder_is "$b" '[.orderStatus, .paymentStatus, .deliveryStatus]' \
    '["confirmed","paid","confirmed"]'
assert_eq "$(stock_of 2)" "$stock_b" "the rejected cancel did not move the stock"
assert_eq "$(pays_json | jq -r --argjson o "$b" '.[] | select(.orderId == $o) | .status')" paid \
    "the rejected cancel refunded nothing"
move ship "$db_" shipped
move complete "$db_" delivered
wait_for 20 "order $b delivered after all" order_is "$b" '[.status, .paymentStatus]' '["delivered","paid"]'
wait_for 20 "my orders: order $b delivered" myorder_is "$b" '[.orderStatus, .paymentStatus, .deliveryStatus]' \
    '["delivered","paid","delivered"]'
audit_ok "after the rejected cancel"
ev=$(counter --json events --from-beginning | jq -s -c --argjson o "$b" 'map(select(.orderId == $o) | .eventType)')
for t in DeliveryCanceled PaymentCancelled OrderCancelled; do
    assert_eq "$(jqr "$ev" "map(select(. == \"$t\")) | length")" 0 "no $t for order $b"
done
assert_eq "$(jqr "$ev" 'map(select(. == "CancelRequested" or . == "CancelRejected")) | join(" ")')" \
    "CancelRequested CancelRejected" "one CancelRequested, then one CancelRejected for order $b"
assert_eq "$(stock_of 2)" "$stock_b" "meat's stock stays 97"

# ---- customers see and cancel only their own orders ---------------------------------------------
c=$(place 2 1 1) || die "cannot place an order"           # kim's
d=$(place 1 1 1) || die "cannot place an order"           # lee's, still open
wait_for 20 "the team has order $d" delivery_status_is "$d" received
wait_for 20 "my orders has order $c" myorder_is "$c" .orderId "$c"
before=$(snapshot "$d" 1)

assert_error 1 "forbidden" "--as customer:2 orders show $a (lee's): forbidden" \
    counter --as customer:2 orders show "$a"
assert_error 1 "forbidden" "--as customer:2 orders cancel $d (lee's, open): forbidden" \
    counter --as customer:2 orders cancel "$d"
assert_error 1 "forbidden" "--as customer:2 orders list customer=1: forbidden" \
    counter --as customer:2 orders list customer=1
assert_error 1 "forbidden" "--as customer:2 myorders customer=1: forbidden" \
    counter --as customer:2 myorders customer=1
assert_error 1 "forbidden" "--as customer:2 orders place customer=1 ...: forbidden" \
    counter --as customer:2 orders place customer=1 food=1 qty=1
audit_ok "after the forbidden requests"
assert_eq "$(snapshot "$d" 1)" "$before" "the forbidden requests changed nothing"

assert_rc 0 "--as customer:1 orders list" counter --json --as customer:1 orders list
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.id)')" "[$a,$b,$d]" \
    "--as customer:1 orders list: lee's orders only"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.customerId) | unique')" "[1]" "... all of customer 1"
assert_rc 0 "--as customer:2 orders list" counter --json --as customer:2 orders list
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.id)')" "[$c]" "--as customer:2 orders list: kim's order only"
assert_rc 0 "--as customer:2 orders show $c (own)" counter --json --as customer:2 orders show "$c"
assert_eq "$(jqr "$RUN_OUT" .customerId)" 2 "--as customer:2 orders show $c: kim's order"
assert_rc 0 "--as customer:2 myorders" counter --json --as customer:2 myorders
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.orderId)')" "[$c]" "--as customer:2 myorders: kim's order only"
assert_rc 0 "--as customer:1 myorders" counter --json --as customer:1 myorders
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.orderId) | sort')" "[$a,$b,$d]" "--as customer:1 myorders: lee's orders only"

# The owner can cancel it.
assert_rc 0 "--as customer:1 orders cancel $d (own)" counter --json --as customer:1 orders cancel "$d"
assert_eq "$(jqr "$RUN_OUT" .status)" cancel_requested "... cancel_requested"
wait_for 20 "the delivery of order $d: cancel_requested" delivery_status_is "$d" cancel_requested
move cancel-confirm "$(delivery_of "$d")" cancelled
wait_for 20 "order $d cancelled and refunded" order_is "$d" '[.status, .paymentStatus]' '["cancelled","refunded"]'

# ---- orders show and my orders agree on a cancelled order ---------------------------------------
# statuses_agree ORDER_ID: orders show's status and my orders' orderStatus are both cancelled.
statuses_agree() {
    local o m
    o=$(counter --json orders show "$1" 2>&1 | jq -r .status 2>&1)
    m=$(counter --json myorders 2>&1 | jq -r --argjson o "$1" 'select(.orderId == $o) | .orderStatus' 2>&1)
    echo "order $1: orders show '$o', my orders '$m' (want both cancelled)"
    [ "$o" = cancelled ] && [ "$m" = cancelled ]
}
wait_for 20 "order $d: orders show and my orders agree: cancelled" statuses_agree "$d"

# The view is down while order $e is cancelled: when it starts again it
# catches up on the order's events (OrderCancelled) before the delivery's
# (CancelRequested, DeliveryCanceled), and must still end at cancelled.
e=$(place 1 1 1) || die "cannot place an order"
wait_for 20 "the team has order $e" delivery_status_is "$e" received
wait_for 20 "my orders has order $e, placed" myorder_is "$e" .orderStatus '"placed"'
backend_stop view
wait_for 10 "the view is stopped" is_stopped view
assert_rc 0 "orders cancel $e (the view is down)" counter --json orders cancel "$e"
wait_for 20 "the delivery of order $e: cancel_requested" delivery_status_is "$e" cancel_requested
move cancel-confirm "$(delivery_of "$e")" cancelled
wait_for 20 "order $e cancelled and refunded" order_is "$e" '[.status, .paymentStatus]' '["cancelled","refunded"]'
backend_start view || die "the view does not start again"
wait_for 20 "my orders caught up on order $e: delivery cancelled, payment refunded" \
    myorder_is "$e" '[.deliveryStatus, .paymentStatus]' '["cancelled","refunded"]'
wait_for 20 "order $e: orders show and my orders agree: cancelled" statuses_agree "$e"

audit_ok "at the end"
finish
