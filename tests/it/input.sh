#!/usr/bin/env bash
# input: names, phones and addresses refuse control characters (C0, C1 such as
# U+009B), bidirectional formatting and zero-width characters and white space
# only, with bad_request naming the field, the code point and where, both on
# the command line and on the wire (rawsend); nothing is written. Korean text
# and punctuation are kept. A customer caller whose subject is not a customer
# id (customer:0, customer:x, ...) is refused: only a signed token says who
# a caller is.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

printf '%s\n' \
    "customers add name=이서준 phone=010-1234-5678 address=서울시_강남구_101호 age=29" \
    "customers add name=kim phone=011 address=busan age=35" \
    "foods add name=김치찌개 stock=100 price=9000" \
    "foods add name=O'Brien's_toast_&_jam_(50%) stock=100 price=3000" >"$SCRATCH/setup.batch"
assert_rc 0 "Korean names and addresses, punctuation in a food's name: accepted" \
    counter batch "$SCRATCH/setup.batch" || die "cannot set up the shop"
assert_eq "$(counter --json customers show 1 | jq -r .name)" "이서준" "the Korean name is stored as typed"
assert_rc 0 "an order for customer 1" counter orders place customer=1 food=1 qty=1
assert_rc 0 "an order for customer 2" counter orders place customer=2 food=2 qty=1

snapshot() {   # DIR
    mkdir -p "$1"
    counter --json customers list >"$1/customers.json" 2>&1
    counter --json foods list >"$1/foods.json" 2>&1
    counter --json orders list >"$1/orders.json" 2>&1
    db_dump >"$1/db.txt"
}
# The orders' events (DeliveryReceived and what follows) settle first: the
# "before" snapshot must not race them.
# The sessions the checks use are made (accounts, logins) before it too.
cred manager:test >/dev/null && cred customer:1 >/dev/null || fail "cannot log in the test's callers"
assert_rc 0 "the shop settles (counter audit --wait)" counter --json audit --wait $((30 * TIME_SCALE))
snapshot "$SCRATCH/before"
[ -s "$SCRATCH/before/customers.json" ] || fail "customers list printed nothing"

# ---- the command line (checked before sending, by the same rule) -----------------
u() { printf "$1"; }   # the bytes of a printf escape
e() { assert_error "$@"; }
e 2 "name contains a control character \(U\+001B at character 3\)" "food name with ESC" \
    counter foods add "name=pi$(u '\033')[2Jzza" stock=1 price=1
e 2 "name contains a control character \(U\+009B at character 4\)" "food name with C1 CSI (U+009B)" \
    counter foods add "name=kim$(u '\302\233')31m" stock=1 price=1
e 2 "address contains a bidirectional formatting character \(U\+202E at character 6\)" \
    "address with a right-to-left override" \
    counter customers add name=x "address=seoul$(u '\342\200\256')lirpa"
e 2 "phone contains a zero-width character \(U\+200B at character 4\)" "phone with a zero-width space" \
    counter customers update 1 "phone=010$(u '\342\200\213')1"
e 2 "name contains a bidirectional formatting character \(U\+2066" "name with a bidi isolate" \
    counter customers update 1 "name=a$(u '\342\201\246')b"
e 2 "name contains a zero-width character \(U\+FEFF at character 1\)" "name with a BOM" \
    counter foods update 1 "name=$(u '\357\273\277')x"
e 2 "address must not be white space only" "address of spaces" counter customers update 1 "address=   "
e 2 "name must not be empty" "name of an ideographic space" counter customers add "name=$(u '\343\200\200')"
e 2 "phone must not be white space only" "phone of a no-break space" \
    counter customers add name=x "phone=$(u '\302\240')"

# ---- the wire: every service refuses in proto_validate ---------------------------
# refused STATUS REGEX DESC SERVICE COMMAND CALLER BODY: rawsend gets STATUS
# (frame 3) and a message matching REGEX.
refused() {
    local status=$1 re=$2 desc=$3 svc=$4 cmd=$5 caller=$6 body=$7 st msg
    run rawsend "$svc" CTR2 "$cmd" "r-$RANDOM$RANDOM" "$caller" "$body"
    st=$(printf '%s\n' "$RUN_OUT" | sed -n 3p)
    msg=$(printf '%s\n' "$RUN_OUT" | sed -n 4p | jq -r .message 2>/dev/null)
    if [ "$st" = "$status" ] && printf '%s\n' "$msg" | grep -Eqi -- "$re"; then
        ok "raw: $desc  [$st: $(printf '%s' "$msg" | cut -c1-110)]"
    else
        fail "raw: $desc: got '$st', expected $status matching /$re/" "rawsend $svc $cmd $caller $body"
        show "reply" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
    fi
}
M=$(cred manager:test)
refused bad_request "name contains a control character \(U\+009B at character 4\)" "catalog.add, C1" \
    catalog catalog.add $M '{"name":"kim\u009b31m","price":1,"stock":1}'
refused bad_request "name contains a control character \(U\+0085" "catalog.update, NEL" \
    catalog catalog.update $M '{"id":1,"name":"a\u0085"}'
refused bad_request "name contains a control character \(U\+001B" "catalog.add, ESC" \
    catalog catalog.add $M '{"name":"\u001b]0;x\u0007","price":1,"stock":1}'
refused bad_request "address contains a bidirectional formatting character \(U\+202E at character 2\)" \
    "customer.add, RLO" customer customer.add $M '{"name":"x","address":"a\u202eb"}'
refused bad_request "name contains a bidirectional formatting character \(U\+061C" \
    "customer.update, Arabic letter mark" customer customer.update $M '{"id":1,"name":"x\u061c"}'
refused bad_request "phone contains a zero-width character \(U\+200D" "customer.add, ZWJ" \
    customer customer.add $M '{"name":"x","phone":"1\u200d2"}'
refused bad_request "name contains a zero-width character \(U\+2060" "customer.update as the customer, word joiner" \
    customer customer.update "$(cred customer:1)" '{"id":1,"name":"x\u2060"}'
refused bad_request "address must not be white space only" "customer.update, spaces and a no-break space" \
    customer customer.update $M '{"id":1,"address":" \u00a0 "}'
refused bad_request "address must not be white space only" "customer.update, ideographic spaces" \
    customer customer.update $M '{"id":1,"address":"\u3000\u3000"}'
refused bad_request "name must not be empty" "catalog.add, Hangul filler" \
    catalog catalog.add $M '{"name":"\u3164","price":1,"stock":1}'

# ---- callers that are no customer: a claim is never believed ---------------------
# (CTR/1 believed "customer:0" and showed it every order; a token's subject is
# signed, and token_sign refuses a customer subject that is no customer id.)
for who in customer:0 customer:x customer:-1 customer:1x customer:01 customer:1; do
    refused bad_request "claimed role:subject is not accepted" "a claimed $who lists orders" \
        order order.list "$who" '{}'
done
refused unauthorized "log in first" "no credential lists orders" order order.list - '{}'
refused unauthorized "log in first" "no credential reads my orders" view view.myorders - '{}'
refused unauthorized "log in first" "no credential shows order 1" order order.show - '{"id":1}'
e 2 "--as is gone" "counter --as customer:0" "$COUNTER_BIN" --as customer:0 orders list
assert_rc 0 "customer:1 lists orders" counter --json --as customer:1 orders list
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.customerId) | unique')" "[1]" \
    "customer:1 sees only their own orders"

# ---- nothing changed ---------------------------------------------------------------
snapshot "$SCRATCH/after"
changes=$(diff -r "$SCRATCH/before" "$SCRATCH/after" | head -n 20)
assert_eq "$changes" "" "nothing written: customers, foods and orders lists and the databases as before"
assert_rc 0 "counter status: every worker alive" counter status

finish
