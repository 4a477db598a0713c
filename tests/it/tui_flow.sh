#!/usr/bin/env bash
# tui_flow: the three screens together, live. A customer signs up on the
# customer kiosk (login and password), orders 2 of a food and sees it in my orders; the delivery
# team's screen (another terminal) sees it arrive within 1 s, confirms,
# ships and completes it; the customer's screen shows "delivered" within 1 s
# without a key pressed there; the manager's foods table shows the stock 2
# lower. Then a cancellation asked on the customer screen shows flagged on
# the board; the team accepts it; the customer's screen shows it cancelled
# and the manager's the stock back.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
printf '%s\n' "foods add name=김치찌개 price=9000 stock=10" "foods add name=계란말이 price=5000 stock=4" \
    >"$SCRATCH/foods.batch"
assert_rc 0 "two foods registered" counter batch "$SCRATCH/foods.batch"
wait_for 10 "the catalog view has both foods" sh -c '[ "$("$COUNTER_BIN" --json catalog | wc -l)" -eq 2 ]'

tui_start cust -- --role customer
tui_start team -- --role delivery --as delivery:kim
tui_start boss -- --role manager --as manager:park
tui_wait 10 "the customer kiosk asks to log in, or to sign up" cust "Tab: new customer"
tui_wait 10 "the delivery board is empty" team "RECEIVED \(0\)"
tui_wait 10 "the manager sees 김치찌개 with stock 10" boss "김치찌개 +9,000 +10 "
tui_wait 10 "every screen is online" boss "online"

# ---- sign up ------------------------------------------------------------------
tui_keys cust Tab
tui_wait 5 "Tab opens the sign-up form" cust "new customer: sign up"
tui_type cust "lee"
tui_keys cust Tab
tui_type cust "010-1234"
tui_keys cust Tab
tui_type cust "seoul"
tui_keys cust Tab
tui_type cust "lee"
tui_keys cust Tab
tui_type cust "$(cat "$TEST_PW")"
tui_keys cust Enter
tui_wait 5 "signed up: the title names customer lee #1" cust "customer: lee #1"
tui_wait 5 "... and the catalog shows 김치찌개" cust "1 +김치찌개 +9,000 +10"
assert_eq "$(counter --json customers show 1 | jq -r '"\(.name) \(.phone) \(.address)"')" "lee 010-1234 seoul" \
    "the backend has the customer as typed"

# ---- order 2 -------------------------------------------------------------------
tui_keys cust 2
tui_wait 5 "typing 2 sets the quantity" cust "Quantity 2 +Enter: order 2 x 김치찌개 = 18,000"
tui_keys cust Enter
tui_wait 5 "Enter asks to confirm the order and its total" cust "Order 2 x 김치찌개 for 18,000"
t0=$(now_ms)
tui_keys cust y
tui_wait 10 "yes pays: the order is placed" cust "order #1 placed and paid: 2 x 김치찌개, 18,000"
tui_within 1000 "$t0" "the delivery screen shows the new order within 1 s" team "#1 +김치찌개 x2 +lee +seoul"
tui_keys cust Tab
tui_wait 5 "my orders shows it" cust "1 +김치찌개 +2 +18,000 +placed +paid"
assert_eq "$(counter --json orders show 1 | jq -r '"\(.customerId) \(.qty) \(.amount) \(.status)"')" \
    "1 2 18000 placed" "the backend has order 1: customer 1, 2, 18000, placed"

# ---- the delivery team moves it on ---------------------------------------------
tui_keys team c
tui_wait 5 "c confirms it" team "CONFIRMED \(1\)"
tui_wait 5 "... the customer sees confirmed" cust "1 +김치찌개 +2 +18,000 +confirmed"
tui_keys team s
tui_wait 5 "s ships it" team "SHIPPED \(1\)"
tui_wait 5 "... the customer sees shipped" cust "1 +김치찌개 +2 +18,000 +shipped"
before=$(tui_cap cust)
t0=$(now_ms)
tui_keys team d
tui_within 1000 "$t0" "the customer screen shows delivered within 1 s, no key pressed there" cust \
    "1 +김치찌개 +2 +18,000 +delivered"
tui_wait 5 "the board is empty again" team "On the board: 0\. Done today: 1 delivered"
assert_match "$before" "shipped" "(the customer's screen showed shipped before)"

# ---- the manager's stock ----------------------------------------------------------
tui_wait 5 "the manager's stock of 김치찌개 went down by 2 (10 -> 8), 2 sold today" boss "김치찌개 +9,000 +8 +2"
tui_wait 5 "the manager's day line counts the order" boss "Today: 1 order, sales 18,000, 0 cancelled, 2 foods sold"

# ---- the ticket ------------------------------------------------------------------------
tui_keys cust Enter
tui_wait 5 "Enter opens the ticket of the order" cust "ticket: order #1"
assert_match "$(tui_cap cust)" "Amount +18,000" "the ticket shows the amount"
assert_match "$(tui_cap cust)" "Status +delivered" "the ticket shows the status"
tui_keys cust Escape
tui_wait 5 "Esc closes the ticket" cust "My orders \(lee, #1\)"

# ---- a cancellation -----------------------------------------------------------------------
tui_keys cust Tab
tui_wait 5 "Tab goes back to the catalog" cust "Quantity 1"
tui_keys cust Enter
tui_wait 5 "order 1 more: confirm" cust "Order 1 x 김치찌개 for 9,000"
tui_keys cust y
tui_wait 10 "order #2 is placed" cust "order #2 placed and paid"
tui_wait 5 "the board shows order 2" team "RECEIVED \(1\)"
tui_wait 5 "the manager's stock is 7" boss "김치찌개 +9,000 +7 +3"
tui_keys cust Tab
tui_wait 5 "my orders lists order 2 first" cust "2 +김치찌개 +1 +9,000 +placed"
tui_keys cust x
tui_wait 5 "x asks to confirm the cancellation" cust "cancel order #2"
t0=$(now_ms)
tui_keys cust y
tui_wait 10 "the customer sees cancel requested" cust "2 +김치찌개 +1 +9,000 +cancel requested"
tui_within 1000 "$t0" "the delivery screen flags the cancellation request within 1 s" team \
    "CANCELLATION REQUESTS \(1\)"
assert_match "$(tui_cap team)" "! #2 +김치찌개 x1" "the request is flagged with !"
t0=$(now_ms)
tui_keys team y
tui_within 1000 "$t0" "the customer screen shows cancelled within 1 s" cust "2 +김치찌개 +1 +9,000 +cancelled +refunded"
tui_wait 5 "... with the team's answer" cust "order #2: the delivery team confirmed your cancellation"
tui_wait 5 "the manager sees the stock back (8) and the cancellation counted" boss "김치찌개 +9,000 +8 +2"
tui_wait 5 "... in the day line" boss "Today: 2 orders, sales 18,000, 1 cancelled, 2 foods sold"
tui_wait 5 "the board has no flag left" team "On the board: 0\. Done today: 1 delivered, 1 cancelled"

# ---- withdraw is refused while an order is open, allowed after ----------------------------
tui_keys cust Tab
tui_keys cust Enter
tui_wait 5 "one more order: confirm" cust "Order 1 x 김치찌개"
tui_keys cust y
tui_wait 10 "order #3 placed" cust "order #3 placed and paid"
tui_wait 5 "order #3 is on the board (its events went round)" team "RECEIVED \(1\)"
tui_keys cust W
tui_wait 5 "W asks to confirm the withdrawal" cust "Withdraw account #1"
tui_keys cust y
tui_wait 10 "withdrawal refused with the reason" cust "withdrawal refused: .*1 open order"
tui_wait 5 "... and lee stays signed in" cust "customer: lee #1"

# ---- edit my details ---------------------------------------------------------------------------
tui_keys cust e
tui_wait 5 "e opens my details, filled in" cust "my details"
assert_match "$(tui_cap cust)" "Address +seoul" "... with the address"
tui_keys cust Tab Tab C-u
tui_type cust "busan"
tui_keys cust Enter
tui_wait 5 "saved" cust "your details are saved"
assert_eq "$(counter --json customers show 1 | jq -r .address)" busan "the backend has the new address"

# ---- the audit names who did what -----------------------------------------------------------
tui_keys boss Tab Tab Tab
tui_wait 5 "the manager's audit shows the customer's order" boss "customer:1 +order #1: 2 x 김치찌개 for lee"
assert_match "$(tui_cap boss)" "delivery:kim +order #1 delivered" "... and who delivered it"

for s in cust team boss; do
    tui_quit "$s"
done
run counter audit
assert_eq "$RUN_RC" 0 "the shop's audit is clean after the TUI session"
[ "$RUN_RC" -eq 0 ] || show "audit" "$RUN_OUT $RUN_ERR"
finish
