#!/usr/bin/env bash
# lists: `since` on orders list and deliveries list. Orders: only those
# changed at or after the time. Deliveries: every open one, plus finished
# ones changed since - what a board needs, without the shop's whole history.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"
assert_rc 0 "a customer, a food, two orders" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=10
orders place customer=1 food=1 qty=1
orders place customer=1 food=1 qty=2
B
wait_for 10 "two deliveries" sh -c '[ "$("$COUNTER_BIN" --json deliveries list | wc -l)" -eq 2 ]'
assert_rc 0 "delivery 1 confirmed, shipped, delivered" counter --as delivery:kim batch - <<'B'
deliveries confirm 1
deliveries ship 1
deliveries complete 1
B

ids() { "$COUNTER_BIN" --json "$@" | jq -s -c 'map(.id) | sort'; }
assert_eq "$(ids orders list since=2000-01-01T00:00:00.000Z)" "[1,2]" "orders since long ago: both"
assert_eq "$(ids orders list since=2999-01-01T00:00:00.000Z)" "[]" "orders since the future: none"
assert_eq "$(ids deliveries list since=2000-01-01T00:00:00.000Z)" "[1,2]" "deliveries since long ago: both"
assert_eq "$(ids deliveries list since=2999-01-01T00:00:00.000Z)" "[2]" \
    "deliveries since the future: only the open one (2), not the delivered one"
assert_eq "$(ids deliveries list)" "[1,2]" "deliveries without since: all"
run counter orders list since=
assert_eq "$RUN_RC" 2 "an empty since is a usage error"
finish
