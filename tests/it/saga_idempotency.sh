#!/usr/bin/env bash
# saga_idempotency: a placement sent twice with the same request id (a retry)
# is placed and paid once, and both replies carry the same order id: sent one
# after the other, sent at the same moment, and sent again after the order
# worker restarted. Another caller cannot reuse the id to get someone else's
# order; a fresh id is a new order.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

backend_start || die "the backend does not start"
seed_shop
BODY='{"customer":1,"food":1,"qty":2}'
T=$((20000 * TIME_SCALE))

reply_status() { printf '%s\n' "$1" | sed -n 3p; }
reply_body() { printf '%s\n' "$1" | sed -n 4p; }
reply_order() { reply_body "$1" | jq -c '{id, customerId, foodId, qty, amount, status, paymentStatus}' 2>/dev/null; }
paid_for() { pays_json | jq -c '[.[] | select(.status == "paid")] | length'; }

# ---- the same frames twice -------------------------------------------------------------------
assert_rc 0 "order.place same-1 (first)" rawsend -t "$T" order CTR2 order.place same-1 "$(cred manager:x)" "$BODY"
first=$RUN_OUT
assert_eq "$(reply_status "$first")" ok "first same-1: ok"
assert_json_eq "$(reply_order "$first")" \
    '{"id":1,"customerId":1,"foodId":1,"qty":2,"amount":2000,"status":"placed","paymentStatus":"paid"}' \
    "first same-1: order 1, 2 pizzas, 2000 paid"
assert_rc 0 "order.place same-1 (again, identical frames)" rawsend -t "$T" order CTR2 order.place same-1 "$(cred manager:x)" "$BODY"
second=$RUN_OUT
assert_eq "$(reply_status "$second")" ok "second same-1: ok"
assert_eq "$(reply_body "$second" | jq -r .id)" "$(reply_body "$first" | jq -r .id)" \
    "both replies carry the same order id"
assert_eq "$(printf '%s\n' "$second" | sed -n 2p)" same-1 "the reply carries the request id"

assert_eq "$(orders_json | jq -c 'map(.id)')" "[1]" "orders list: one order"
assert_eq "$(pays_json | jq -c 'map({orderId, amount, status})')" '[{"orderId":1,"amount":2000,"status":"paid"}]' \
    "pays list: one payment of 2000"
assert_eq "$(stock_of 1)" 98 "pizza's stock went down by 2 only"
assert_eq "$(events_json | jq -c '[.[] | select(.eventType == "Ordered" or .eventType == "Paid" or .eventType == "StockChanged") | .eventType] | sort')" \
    '["Ordered","Paid","StockChanged"]' "one Ordered, one Paid, one StockChanged"
wait_for 20 "one delivery for order 1" count_is 1 deliveries list
audit_ok "after the repeated request"

# ---- the same request twice at the same moment -------------------------------------------------
"$RAWSEND_BIN" -t "$T" order CTR2 order.place same-2 "$(cred manager:x)" "$BODY" >"$SCRATCH/a.out" 2>"$SCRATCH/a.err" &
pa=$!
"$RAWSEND_BIN" -t "$T" order CTR2 order.place same-2 "$(cred manager:x)" "$BODY" >"$SCRATCH/b.out" 2>"$SCRATCH/b.err" &
pb=$!
wait "$pa"; ra=$?
wait "$pb"; rb=$?
a=$(cat "$SCRATCH/a.out") b=$(cat "$SCRATCH/b.out")
assert_eq "$ra $rb" "0 0" "two concurrent same-2: both answered"
assert_eq "$(reply_status "$a") $(reply_status "$b")" "ok ok" "two concurrent same-2: both ok" ||
    show "replies" "$a"$'\n'"--"$'\n'"$b"
assert_eq "$(reply_body "$a" | jq -r .id)" "$(reply_body "$b" | jq -r .id)" \
    "two concurrent same-2: the same order id"
wait_for 20 "every placement is finished" no_open_placements
assert_eq "$(orders_json | jq length)" 2 "orders list: two orders in all"
assert_eq "$(paid_for)" 2 "pays list: two payments in all"
assert_eq "$(stock_of 1)" 96 "pizza's stock: 96"

# ---- again after a restart of the order worker ----------------------------------------------------
restart_order
assert_rc 0 "order.place same-1 after the restart" rawsend -t "$T" order CTR2 order.place same-1 "$(cred manager:x)" "$BODY"
assert_eq "$(reply_status "$RUN_OUT")" ok "same-1 after the restart: ok"
assert_eq "$(reply_body "$RUN_OUT" | jq -r .id)" 1 "same-1 after the restart: still order 1"
assert_eq "$(orders_json | jq length)" 2 "still two orders"
assert_eq "$(paid_for)" 2 "still two payments"
assert_eq "$(stock_of 1)" 96 "the stock did not move"

# ---- another caller, the same id --------------------------------------------------------------------
run rawsend -t "$T" order CTR2 order.place same-1 "$(cred manager:other)" "$BODY"
note "same-1 from manager:other: $(reply_status "$RUN_OUT"): $(reply_body "$RUN_OUT" | cut -c1-200)"
assert_eq "$(reply_status "$RUN_OUT")" conflict "same-1 from another caller: conflict, not the first caller's order"
assert_eq "$(orders_json | jq length)" 2 "... and nothing placed"

# ---- a fresh id is a new order ----------------------------------------------------------------------
assert_rc 0 "order.place same-3 (a new id)" rawsend -t "$T" order CTR2 order.place same-3 "$(cred manager:x)" "$BODY"
assert_eq "$(reply_status "$RUN_OUT")" ok "same-3: ok"
assert_eq "$(reply_body "$RUN_OUT" | jq -r .id)" 3 "same-3: a new order, 3"
assert_eq "$(paid_for)" 3 "three payments"
assert_eq "$(stock_of 1)" 94 "pizza's stock: 94"
wait_for 20 "three deliveries, one per order" count_is 3 deliveries list
audit_ok "at the end"
finish
