#!/usr/bin/env bash
# tui_board: on the delivery team's board the cursor follows the delivery it
# is on. With two deliveries received and the cursor never moved, `c`
# confirms the oldest, which moves to the CONFIRMED section; Space then moves
# that same delivery on (shipped), not the one that took its row.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
assert_rc 0 "a customer, a food, two orders" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=10
orders place customer=1 food=1 qty=1
orders place customer=1 food=1 qty=2
B
wait_for 10 "two deliveries received" sh -c '[ "$("$COUNTER_BIN" --json deliveries list status=received | wc -l)" -eq 2 ]'

status_of() { "$COUNTER_BIN" --json deliveries list order="$1" | jq -r .status; }
is_status() { [ "$(status_of "$1")" = "$2" ]; }

tui_start team -- --role delivery --as delivery:kim
tui_wait 10 "the board shows both" team "RECEIVED \(2\)"
tui_keys team c
wait_for 10 "c confirmed the oldest (order 1)" is_status 1 confirmed
tui_wait 10 "the board shows it confirmed" team "CONFIRMED \(1\)"
tui_keys team Space
wait_for 10 "Space moved the same delivery on: order 1 shipped" is_status 1 shipped
assert_eq "$(status_of 2)" received "order 2 was not touched"
tui_quit team
finish
