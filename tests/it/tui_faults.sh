#!/usr/bin/env bash
# tui_faults: the TUI when the backend misbehaves. With payment failing on
# purpose the customer sees "payment is busy, try again in N s" and no order
# appears anywhere. With the backend stopped while the TUI is open, the
# offline flag shows within 2 s, the TUI keeps running and answering keys,
# and when the backend returns the flag goes and live updates resume.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
printf '%s\n' "customers add name=lee address=seoul" "foods add name=김치찌개 price=9000 stock=10" \
    >"$SCRATCH/setup.batch"
assert_rc 0 "a customer and a food" counter batch "$SCRATCH/setup.batch"
wait_for 10 "the catalog view has the food" sh -c '[ "$("$COUNTER_BIN" --json catalog | wc -l)" -eq 1 ]'

tui_start cust -- --role customer --as customer:1
tui_wait 10 "customer 1 sees the catalog" cust "김치찌개 +9,000 +10"
tui_wait 5 "... online" cust "online"

# ---- payment failing: payment_busy, no order --------------------------------------------
assert_rc 0 "payment made to fail on purpose" counter pays faults fail_ratio=100
tui_keys cust 2 Enter
tui_wait 5 "confirm 2 x 김치찌개" cust "Order 2 x 김치찌개 for 18,000"
tui_keys cust y
tui_wait 10 "the customer sees: payment is busy, try again in N s" cust \
    "payment is busy, try again in [0-9]+ s: the order was not placed"
assert_eq "$(counter --json orders list | wc -l)" 0 "no order exists in the order service"
assert_eq "$(counter --json myorders customer=1 | wc -l)" 0 "no order in my orders"
assert_eq "$(counter --json deliveries list | wc -l)" 0 "nothing reached delivery"
assert_eq "$(counter --json foods show 1 | jq .stock)" 10 "the stock is untouched"
tui_keys cust Tab
tui_wait 5 "my orders on the screen stays empty" cust "no orders yet"
assert_rc 0 "payment works again" counter pays faults fail_ratio=0
tui_keys cust Tab

# ---- the backend stops while the TUI is open -----------------------------------------------
t0=$(now_ms)
"$COUNTER_BIN" backend stop >"$SCRATCH/stop.out" 2>&1 &
stopper=$!
tui_within 2000 "$t0" "the offline flag shows within 2 s of the backend stopping" cust "OFFLINE"
wait "$stopper"
assert_eq "$?" 0 "backend stop"
tui_keys cust Tab
tui_wait 5 "the TUI keeps running and answers keys while offline (Tab)" cust "My orders \(lee, #1\)"
tui_keys cust Tab Enter
tui_wait 5 "... an order asked for while offline (the quantity 2 kept for a retry)" cust "Order 2 x 김치찌개"
tui_keys cust y
tui_wait 5 "... is refused at once with the reason" cust "the order was not placed: offline"
assert_eq "$(tui_running cust && echo running)" running "the TUI is still running"
assert_match "$(tui_cap cust | head -n 1)" "OFFLINE" "still offline"

# ---- it comes back ------------------------------------------------------------------------------
backend_start
tui_wait 10 "the flag clears when the backend is back" cust "online"
tui_wait 5 "... and says so" cust "back online"
assert_rc 0 "an order placed elsewhere (CLI) while the TUI watches" \
    counter --as customer:1 orders place customer=1 food=1 qty=3
tui_keys cust Tab
tui_wait 10 "live updates resume: my orders shows it (order #2: the failed placement took #1)" cust "2 +김치찌개 +3 +27,000 +placed"
tui_keys cust Tab
tui_wait 5 "... and the catalog the new stock" cust "김치찌개 +9,000 +7"

tui_quit cust
finish
