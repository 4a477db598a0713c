#!/usr/bin/env bash
# tui_audit: the manager's audit of who did what is complete after a switch
# of role. A TUI opened on the customer screen subscribes to events at once;
# orders placed while it shows the customer screen must appear in the audit
# when the same TUI switches to the manager screen (R, then m and the
# manager's password).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
assert_rc 0 "a customer and a food" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=10
B
wait_for 10 "the catalog view has the food" sh -c '[ "$("$COUNTER_BIN" --json catalog | wc -l)" -eq 1 ]'

tui_start t -- --role customer --as customer:1
tui_wait 10 "the customer screen is up and online" t "online"
tui_keys t Tab
tui_wait 5 "Tab shows my orders" t "My orders"
# Orders placed elsewhere while this TUI shows the customer screen. Order 1
# showing up live proves the subscription runs; order 2 is then surely
# placed after it started.
assert_rc 0 "order 1 placed as the customer" counter --as customer:1 orders place customer=1 food=1 qty=2
tui_wait 10 "my orders shows order #1 live" t "^ +1 +toast +2 "
assert_rc 0 "order 2 placed as the customer" counter --as customer:1 orders place customer=1 food=1 qty=1
tui_wait 10 "my orders shows order #2 live" t "^ +2 +toast +1 "

tui_keys t R
tui_wait 5 "R goes back to the role menu" t "manager"
tui_keys t m
tui_wait 5 "m asks the manager's login" t "manager login"
tui_type t admin
tui_keys t Enter
tui_type t "$(cat "$TEST_PW")"
tui_keys t Enter
tui_wait 10 "the manager's password opens the manager screen" t "manager: admin"
for i in 1 2 3; do tui_keys t Tab; done
tui_wait 10 "the audit shows order #1 by customer:1" t "customer:1 +order #1: 2 x toast"
tui_wait 10 "the audit shows order #2 by customer:1" t "customer:1 +order #2: 1 x toast"
tui_quit t
finish
