#!/usr/bin/env bash
# walkthrough: the seed's steps through `counter batch FILE`: sign up lee and
# kim, register pizza and meat, list and show them, update, delete; the
# catalog view follows each change; `counter events --from-beginning` prints
# every event once, each publisher's in sequence order 1..N.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

# A console consumer that follows from the start, as the seed's did: it must
# see the same events as the history below (a slow joiner catches up).
"$COUNTER_BIN" events --follow --from-beginning >"$SCRATCH/follow.json" 2>"$SCRATCH/follow.err" &
follower=$!

# batch FILE: run it, stdout in $RUN_OUT as JSON lines; must exit 0.
batch() {
    local name=$1
    shift
    printf '%s\n' "$@" >"$SCRATCH/$name.batch"
    assert_rc 0 "batch $name" counter batch "$SCRATCH/$name.batch"
    if printf '%s\n' "$RUN_OUT" | jq -e -s 'all(type == "object")' >/dev/null 2>&1; then
        ok "batch $name prints one JSON object per line"
    else
        fail "batch $name prints one JSON object per line"
        show "stdout" "$RUN_OUT"
    fi
}
# The n-th output line (1-based) of the last batch, with only some fields.
line() { printf '%s\n' "$RUN_OUT" | sed -n "$1p" | jq -S -c "$2"; }

# ---- sign up and register -----------------------------------------------------
batch add \
    "# the seed's customers and foods" \
    "customers add name=lee phone=010 address=seoul age=29" \
    "customers add name=kim phone=011 address=busan age=35" \
    "" \
    "foods add name=pizza stock=100 price=1000" \
    "foods add name=meat stock=100 price=2000"
assert_eq "$(printf '%s\n' "$RUN_OUT" | wc -l)" 4 "four results for four adds"
assert_json_eq "$(line 1 '{id, name, phone, address, age, status}')" \
    '{"id":1,"name":"lee","phone":"010","address":"seoul","age":29,"status":"active"}' \
    "customers add lee answers the new customer"
assert_json_eq "$(line 2 '{id, name, phone, address, age, status}')" \
    '{"id":2,"name":"kim","phone":"011","address":"busan","age":35,"status":"active"}' \
    "customers add kim answers the new customer"
assert_json_eq "$(line 3 '{id, name, price, stock}')" \
    '{"id":1,"name":"pizza","price":1000,"stock":100}' "foods add pizza answers the new food"
assert_json_eq "$(line 4 '{id, name, price, stock}')" \
    '{"id":2,"name":"meat","price":2000,"stock":100}' "foods add meat answers the new food"

want_view='[{"id":1,"name":"pizza","price":1000,"stock":100},{"id":2,"name":"meat","price":2000,"stock":100}]'
view_is() { local v; v=$(view_proj) || return 1; echo "$v"; [ "$v" = "$1" ]; }
wait_for 10 "the catalog view shows pizza and meat" view_is "$want_view"

# ---- list and show ------------------------------------------------------------
batch show \
    "customers list" \
    "customers show 1" \
    "customers show 2" \
    "foods list" \
    "foods show 1" \
    "foods show 2"
assert_eq "$(printf '%s\n' "$RUN_OUT" | wc -l)" 8 "2 customers + 2 shows + 2 foods + 2 shows"
assert_json_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 1,2p | jq -s -c 'map({id, name, phone, address, age})')" \
    '[{"id":1,"name":"lee","phone":"010","address":"seoul","age":29},{"id":2,"name":"kim","phone":"011","address":"busan","age":35}]' \
    "customers list shows lee and kim"
assert_json_eq "$(line 3 '{id, name, phone, address, age}')" \
    '{"id":1,"name":"lee","phone":"010","address":"seoul","age":29}' "customers show 1 is lee"
assert_json_eq "$(line 4 '{id, name, phone, address, age}')" \
    '{"id":2,"name":"kim","phone":"011","address":"busan","age":35}' "customers show 2 is kim"
assert_json_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 5,6p | jq -s -c 'map({id, name, price, stock})')" \
    "$want_view" "foods list shows pizza and meat"
assert_json_eq "$(line 7 '{id, name, price, stock}')" \
    '{"id":1,"name":"pizza","price":1000,"stock":100}' "foods show 1 is pizza"
assert_json_eq "$(line 8 '{id, name, price, stock}')" \
    '{"id":2,"name":"meat","price":2000,"stock":100}' "foods show 2 is meat"

# ---- update -------------------------------------------------------------------
batch update \
    "customers update 1 phone=019" \
    "foods update 1 stock=80 price=1200"
assert_json_eq "$(line 1 '{id, name, phone, address, age}')" \
    '{"id":1,"name":"lee","phone":"019","address":"seoul","age":29}' \
    "customers update 1 phone=019 answers the changed customer"
assert_json_eq "$(line 2 '{id, name, price, stock}')" \
    '{"id":1,"name":"pizza","price":1200,"stock":80}' \
    "foods update 1 stock=80 price=1200 answers the changed food"
assert_json_eq "$(counter customers show 1 | jq -c '{phone, address}')" \
    '{"address":"seoul","phone":"019"}' "customers show 1 has the new phone, the rest kept"
assert_json_eq "$(counter foods show 1 | jq -c '{name, price, stock}')" \
    '{"name":"pizza","price":1200,"stock":80}' "foods show 1 has the new price and stock"
want_view='[{"id":1,"name":"pizza","price":1200,"stock":80},{"id":2,"name":"meat","price":2000,"stock":100}]'
wait_for 10 "the catalog view shows pizza's new price and stock" view_is "$want_view"

# ---- delete -------------------------------------------------------------------
batch delete "foods delete 2"
assert_json_eq "$(line 1 '{id, name, deleted}')" '{"id":2,"name":"meat","deleted":true}' \
    "foods delete 2 answers the deleted food"
want_view='[{"id":1,"name":"pizza","price":1200,"stock":80}]'
assert_json_eq "$(foods_proj)" "$want_view" "foods list no longer shows meat"
assert_error 1 'not_found' "foods show 2 after the delete: not_found" counter foods show 2
wait_for 10 "the catalog view no longer shows meat" view_is "$want_view"
assert_json_eq "$(counter catalog | jq -c '{sold_out}')" '{"sold_out":0}' "pizza is not sold out"

# ---- the events ---------------------------------------------------------------
assert_rc 0 "counter events --from-beginning" counter events --from-beginning
events=$RUN_OUT
if printf '%s\n' "$events" | jq -e -s 'length > 0 and all(type == "object")' >/dev/null 2>&1; then
    ok "events print as JSON lines"
else
    fail "events print as JSON lines"
    show "got" "$events"
fi
ev() { printf '%s\n' "$events" | jq -s -r -c "$1"; }
assert_eq "$(ev 'map(select(.publisher != "auth") | .eventType) | sort | join(" ")')" \
    "CustomerRegistered CustomerRegistered CustomerUpdated FoodDeleted FoodRegistered FoodRegistered FoodUpdated StockChanged" \
    "the expected event types, each exactly once (besides the auth service's: the admin's login)"
assert_eq "$(ev '[.[].eventId] | (length == (unique | length))')" true "every eventId is unique"
assert_eq "$(ev '[.[] | select(.publisher == "customer") | .seq]')" "[1,2,3]" \
    "customer's events in sequence order 1..3"
assert_eq "$(ev '[.[] | select(.publisher == "catalog") | .seq]')" "[1,2,3,4,5]" \
    "catalog's events in sequence order 1..5"
assert_eq "$(ev '[.[] | select(.publisher == "catalog") | .eventType] | join(" ")')" \
    "FoodRegistered FoodRegistered FoodUpdated StockChanged FoodDeleted" \
    "catalog's events in the order of the changes"
assert_eq "$(ev '[.[] | select(.publisher == "customer") | .eventType] | join(" ")')" \
    "CustomerRegistered CustomerRegistered CustomerUpdated" \
    "customer's events in the order of the changes"
assert_eq "$(ev 'all(.timestamp | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$"))')" true \
    "every event has a UTC timestamp"
assert_json_eq "$(ev 'map(select(.eventType == "CustomerRegistered")) | map({customerId, name, phone, address, age})')" \
    '[{"customerId":1,"name":"lee","phone":"010","address":"seoul","age":29},{"customerId":2,"name":"kim","phone":"011","address":"busan","age":35}]' \
    "CustomerRegistered carries the customer"
assert_json_eq "$(ev 'map(select(.eventType == "CustomerUpdated")) | map({customerId, phone})')" \
    '[{"customerId":1,"phone":"019"}]' "CustomerUpdated carries the new phone"
assert_json_eq "$(ev 'map(select(.eventType == "FoodRegistered")) | map({foodId, name, price, stock})')" \
    '[{"foodId":1,"name":"pizza","price":1000,"stock":100},{"foodId":2,"name":"meat","price":2000,"stock":100}]' \
    "FoodRegistered carries the food"
assert_json_eq "$(ev 'map(select(.eventType == "FoodUpdated")) | map({foodId, price, stock})')" \
    '[{"foodId":1,"price":1200,"stock":80}]' "FoodUpdated carries the new price and stock"
assert_json_eq "$(ev 'map(select(.eventType == "StockChanged")) | map({foodId, stock, delta})')" \
    '[{"foodId":1,"stock":80,"delta":-20}]' "StockChanged carries the stock and its delta"
assert_json_eq "$(ev 'map(select(.eventType == "FoodDeleted")) | map({foodId})')" \
    '[{"foodId":2}]' "FoodDeleted names the food"

# ---- the follower saw the same, live ------------------------------------------------
follow_has() {
    local n
    n=$(jq -s length "$SCRATCH/follow.json" 2>/dev/null)
    echo "the follower printed ${n:-?} events so far (of $1)"
    [ "${n:-0}" -ge "$1" ]
}
wait_for 10 "events --follow printed all 8 events" follow_has 8
kill -TERM "$follower"
wait "$follower"
assert_eq "$?" 0 "events --follow stops cleanly on SIGTERM"
follow_ids=$(jq -r .eventId "$SCRATCH/follow.json" | sort | paste -sd' ' -)
assert_eq "$follow_ids" "$(ev '[.[].eventId] | sort | join(" ")')" \
    "events --follow printed exactly the events of the history, each once"
for p in customer catalog; do
    assert_eq "$(jq -s -c --arg p "$p" '[.[] | select(.publisher == $p) | .seq]' "$SCRATCH/follow.json")" \
        "$(ev "[.[] | select(.publisher == \"$p\") | .seq]")" \
        "events --follow printed $p's events in sequence order"
done
assert_eq "$(cat "$SCRATCH/follow.err")" "" "events --follow printed nothing on stderr"

# ---- the seed's alias field names -----------------------------------------------
# The seed accepted other names for some fields: `orders place` takes
# customerid= and foodcaltalogid= (DESIGN section 7). Aliases live in proto.c's
# command table; the CLI rewrites them before it calls anything, so a request
# that fails validation only on qty shows both aliases were taken.
run counter orders place customerid=1 foodcaltalogid=1 qty=0
if printf '%s\n' "$RUN_ERR" | grep -q "unknown command"; then
    note "no 'orders place' command yet: alias check skipped"
else
    assert_eq "$RUN_RC" 2 "orders place with the seed's aliases and qty=0: usage error"
    assert_match "$RUN_ERR" "qty" "... and the complaint is about qty"
    assert_no_match "$RUN_ERR" "unknown field" "... not about customerid= or foodcaltalogid="
    assert_error 2 "customer must be an integer" "customerid=x is checked as customer" \
        counter orders place customerid=x food=1 qty=1
    assert_error 2 "food must be an integer" "foodcaltalogid=x is checked as food" \
        counter orders place customer=1 foodcaltalogid=x qty=1
    # The seed's own line, end to end: lee orders 20 pizzas (price now 1200).
    printf '%s\n' "orders place customerid=1 foodcaltalogid=1 qty=20" >"$SCRATCH/order.batch"
    assert_rc 0 "batch: orders place customerid=1 foodcaltalogid=1 qty=20" \
        counter batch "$SCRATCH/order.batch"
    assert_json_eq "$(printf '%s\n' "$RUN_OUT" | jq -c '{customerId, foodId, qty, amount}')" \
        '{"customerId":1,"foodId":1,"qty":20,"amount":24000}' \
        "the order placed with the seed's aliases is lee's 20 pizzas"
    assert_eq "$(counter foods show 1 | jq .stock)" 60 "pizza's stock went from 80 to 60"
    want_view='[{"id":1,"name":"pizza","price":1200,"stock":60}]'
    wait_for 10 "the catalog view shows pizza's stock after the order" view_is "$want_view"
fi

finish
