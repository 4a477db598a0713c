#!/usr/bin/env bash
# tui_ticket: a customer's ticket view of an order. x on the ticket asks to
# cancel (with a confirm step); once the cancellation is requested, x on the
# same ticket says there is nothing to cancel instead of asking again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
assert_rc 0 "a customer, a food and an order" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=10
orders place customer=1 food=1 qty=2
B
wait_for 10 "the delivery team has the order" sh -c '[ "$("$COUNTER_BIN" --json deliveries list | wc -l)" -eq 1 ]'

tui_start t -- --role customer --as customer:1
tui_wait 10 "the customer screen is online" t "online"
tui_keys t Tab
tui_wait 5 "my orders shows order 1" t "^ +1 +toast +2 "
tui_keys t t
tui_wait 5 "t opens the ticket" t "ticket: order #1"
tui_keys t x
tui_wait 5 "x asks first" t "Ask the delivery team to cancel order #1"
tui_keys t y
wait_for 10 "the order is cancel_requested" sh -c \
    '[ "$("$COUNTER_BIN" --json orders show 1 | jq -r .status)" = cancel_requested ]'
tui_wait 10 "the ticket shows the request" t "cancel requested"
tui_keys t x
tui_wait 5 "x again: nothing to cancel" t "order #1 is cancel requested: nothing to cancel"
screen_lacks t "Ask the delivery team to cancel" || fail "x again opened another confirm box"
tui_keys t Escape
tui_quit t
finish
