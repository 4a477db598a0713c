#!/usr/bin/env bash
# homes: everything of one shop lives under its COUNTER_HOME, and three shops
# running at once, two of them nested in folders, do not see each other's
# data or events. (A home too deep for its socket paths: tests/it/ipc.sh.)
. "$(dirname "$0")/../lib.sh"

A=$TEST_HOME
nested=$TEST_HOME/shops/nested
B=$nested/shop-b
C=$nested/shop-c
mkdir -p "$B" "$C"

in_shop() {   # HOME CMD...: run a command against another shop
    local home=$1
    shift
    COUNTER_HOME=$home "$@"
}

for h in "$A" "$B" "$C"; do
    run in_shop "$h" counter backend start
    assert_eq "$RUN_RC" 0 "backend start in ${h#"$TEST_HOME"}/" || { show "stderr" "$RUN_ERR"; }
    # Each shop has its own keys, accounts and session.
    run in_shop "$h" "$COUNTER_BIN" setup login=admin --password-file "$TEST_PW"
    assert_eq "$RUN_RC" 0 "setup of ${h#"$TEST_HOME"}/ (its first manager)" || show "stderr" "$RUN_ERR"
done
nservices=$("$COUNTERD" --list | wc -l)
for h in "$B" "$C"; do
    assert_eq "$(ls "$h"/run/*.req 2>/dev/null | wc -l)" "$nservices" "a socket file per service in ${h#"$TEST_HOME"}/run/"
done
run in_shop "$B" env COUNTER_TOKEN="$(cat "$C/session")" "$COUNTER_BIN" foods list
assert_eq "$RUN_RC" 1 "shop C's session is refused by shop B (another shop's token key)"

assert_rc 0 "A: add pizza" in_shop "$A" counter foods add name=pizza stock=1 price=100
assert_rc 0 "B: add lee" in_shop "$B" counter customers add name=lee
assert_rc 0 "C: add meat" in_shop "$C" counter foods add name=meat stock=2 price=200
assert_rc 0 "C: add soup" in_shop "$C" counter foods add name=soup stock=3 price=300

names() { in_shop "$1" counter "$2" list | jq -r .name | paste -sd, -; }
assert_eq "$(names "$A" foods)/$(names "$A" customers)" "pizza/" "shop A has only its own data"
assert_eq "$(names "$B" foods)/$(names "$B" customers)" "/lee" "shop B has only its own data"
assert_eq "$(names "$C" foods)/$(names "$C" customers)" "meat,soup/" "shop C has only its own data"

for h in "$A" "$B" "$C"; do
    COUNTER_HOME=$h wait_for 10 "the view of ${h#"$TEST_HOME"}/ has caught up" view_caught_up
done
shop_events() { in_shop "$1" counter events --from-beginning | jq -r 'select(.publisher != "auth") | .eventType' | paste -sd, -; }
assert_eq "$(shop_events "$C")" \
    "FoodRegistered,FoodRegistered" "shop C's events are its own"
assert_eq "$(shop_events "$B")" \
    "CustomerRegistered" "shop B's events are its own"
for h in "$A" "$B" "$C"; do
    [ -s "$h/data/catalog.db" ] && [ -s "$h/log/catalog.log" ] &&
        ok "databases and logs are under ${h#"$TEST_HOME"}/" ||
        fail "no data/ or log/ under $h"
done

# A nested shop's worker can be killed and restarted like any other.
COUNTER_HOME=$C kill9 catalog
assert_rc 0 "C: backend start catalog after kill -9" in_shop "$C" counter backend start catalog
assert_rc 0 "C: foods list answers" in_shop "$C" counter foods list
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s length)" 2 "C: both foods are still there"
assert_rc 0 "A: foods list still answers" in_shop "$A" counter foods list

for h in "$B" "$C"; do
    run in_shop "$h" counter backend stop
    assert_eq "$RUN_RC" 0 "backend stop in ${h#"$TEST_HOME"}/"
done
assert_error 3 "unreachable" "B is unreachable after its stop" in_shop "$B" counter foods list
assert_rc 0 "A still answers after B and C stopped" counter foods list

finish
