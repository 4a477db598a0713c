#!/usr/bin/env bash
# auth_attack: issue 9's attack table. Each attempt is refused with
# unauthorized or forbidden, writes nothing (the services' tables are the same
# before and after) and leaves the audit OK: no token, a garbage token, a token
# with one character changed, a token of another shop, an expired token, a token
# after logout, after a password change, after a lock, a withdrawn customer's
# token, a customer's token on a manager's command, customer A on B's order and
# record, system:NAME from a terminal's connection, a password on the command
# line. Then throttling: 20 wrong passwords lock the account and the right one
# waits; 200 logins at once do not stop orders. No password is in any database
# or log. (A tcp client without the server's key: tests/it/curve.sh; a socket
# taken by another process: tests/it/ipc.sh; payment.admin without
# faults.enabled: tests/it/faults.sh.)
. "$(dirname "$0")/../lib.sh"

# Fast throttling for the table (the delay's growth is tests/it/auth.sh's).
export COUNTER_AUTH_FAIL_DELAY_MS=1 COUNTER_AUTH_FAIL_DELAY_MAX_MS=20
backend_start || die "the backend does not start"

run counter batch - <<'EOF'
customers add name=lee phone=010 address=seoul age=29
customers add name=kim phone=011 address=busan age=35
customers add name=park phone=012 address=incheon age=41
foods add name=pizza stock=100 price=1000
EOF
assert_eq "$RUN_RC" 0 "two customers, a third to withdraw, and a food" || show "stderr" "$RUN_ERR"
A=$(token_for customer:1) && B=$(token_for customer:2) && P=$(token_for customer:3) &&
    K=$(token_for delivery:kim) && M=$(token_for manager:boss) || die "cannot log in the test's people"
assert_rc 0 "lee orders as herself" env COUNTER_TOKEN="$A" "$COUNTER_BIN" orders place customer=1 food=1 qty=1
order_a=$(jqr "$RUN_OUT" .id)
assert_rc 0 "kim orders as himself" env COUNTER_TOKEN="$B" "$COUNTER_BIN" orders place customer=2 food=1 qty=2
order_b=$(jqr "$RUN_OUT" .id)

# What no refused attempt may change: every service's own tables (the auth
# service's failure counters and the ended sessions do change, on purpose).
domain_dump() {
    local f svc t
    for f in "$COUNTER_HOME"/data/*.db; do
        svc=$(basename "$f" .db)
        [ "$svc" = auth ] && continue
        for t in $(db "$svc" "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT IN ('req_log', 'bus_applied', 'authn_revoked')
                   AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
            echo "== $svc.$t"
            sqlite3 -readonly -batch -header -cmd '.timeout 5000' "$f" "SELECT * FROM \"$t\" ORDER BY rowid"
        done
    done
}
assert_rc 0 "the shop settles" counter --json audit --wait $((30 * TIME_SCALE))
domain_dump >"$SCRATCH/before.txt"

as() { local t=$1; shift; COUNTER_TOKEN=$t "$COUNTER_BIN" "$@"; }
refused() {   # STATUS DESC TOKEN ARGS...: counter with that token exits 1 with STATUS
    local status=$1 desc=$2 tok=$3
    shift 3
    assert_error 1 "^counter: $status" "$desc" as "$tok" "$@"
}
raw() {   # STATUS DESC SERVICE COMMAND CREDENTIAL BODY [rawsend options...]
    local status=$1 desc=$2 svc=$3 cmd=$4 cr=$5 body=$6 st
    shift 6
    run rawsend "$@" "$svc" CTR2 "$cmd" "r-$RANDOM$RANDOM" "$cr" "$body"
    st=$(printf '%s\n' "$RUN_OUT" | sed -n 3p)
    if [ "$st" = "$status" ]; then
        ok "raw: $desc  [$st: $(printf '%s\n' "$RUN_OUT" | sed -n 4p | jq -r .message | cut -c1-100)]"
    else
        fail "raw: $desc: got '$st', expected $status" "rawsend $svc $cmd $cr"
        show "reply" "$RUN_OUT"
    fi
}

# ---- forged and missing credentials ------------------------------------------------
FREE='{"name":"free","price":0,"stock":1}'
raw unauthorized "no credential: catalog.add" catalog catalog.add - "$FREE"
raw unauthorized "no credential: customer.show" customer customer.show - '{"id":1}'
raw unauthorized "no credential: payment.pay" payment payment.pay - '{"order":99,"customer":1,"amount":1}'
raw bad_request "a claimed manager (CTR/1's caller frame)" catalog catalog.add manager:mallory "$FREE"
refused unauthorized "a garbage token" "garbage" foods add name=free stock=1 price=0
refused unauthorized "a token-shaped garbage token" "eyJ2IjoxfQ.AAAA" foods add name=free stock=1 price=0
flip() {   # TOKEN POS: the token with the character at POS changed
    local t=$1 p=$2 c
    c=${t:$p:1}
    [ "$c" = A ] && c=B || c=A
    printf '%s%s%s' "${t:0:$p}" "$c" "${t:$((p + 1))}"
}
refused unauthorized "the manager's token with one character of its claims changed" \
    "$(flip "$M" 20)" foods add name=free stock=1 price=0
refused unauthorized "the manager's token with one character of its signature changed" \
    "$(flip "$M" $((${#M} - 10)))" foods add name=free stock=1 price=0
# A customer who edits her token's claims to say manager: the signature no
# longer matches.
claims=$(printf '%s' "${A%%.*}" | tr '_-' '/+' | base64 -d 2>/dev/null)
forged=$(printf '%s' "$claims" | sed 's/"role":"customer"/"role":"manager"/' | base64 -w0 | tr '/+' '_-' | tr -d '=')
refused unauthorized "a customer's token with its claims rewritten to manager" \
    "$forged.${A#*.}" foods add name=free stock=1 price=0

# Another shop's key: a token from a shop of its own.
OTHER=$TEST_HOME/other
mkdir -p "$OTHER"
COUNTER_HOME=$OTHER "$COUNTER_BIN" backend start auth >/dev/null 2>"$SCRATCH/other.err" ||
    fail "the other shop's auth service does not start" "$(cat "$SCRATCH/other.err")"
COUNTER_HOME=$OTHER "$COUNTER_BIN" setup login=boss --password-file "$TEST_PW" >/dev/null 2>>"$SCRATCH/other.err"
stranger=$(COUNTER_HOME=$OTHER "$COUNTER_BIN" login boss --print-token --password-file "$TEST_PW" 2>>"$SCRATCH/other.err")
assert_match "$stranger" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' "the other shop's manager has a token"
refused unauthorized "a manager's token signed by another shop's key" "$stranger" foods add name=free stock=1 price=0
COUNTER_HOME=$OTHER "$COUNTER_BIN" backend stop >/dev/null 2>&1

# ---- sessions that ended -------------------------------------------------------------
# Expired: the auth service restarted with a 2 s lifetime for new tokens.
run env COUNTER_AUTH_TOKEN_TTL_S=2 "$COUNTER_BIN" backend restart auth
assert_eq "$RUN_RC" 0 "auth restarted with 2 s tokens" || show "stderr" "$RUN_ERR"
short=$("$COUNTER_BIN" login boss --print-token --password-file "$TEST_PW")
assert_rc 0 "the 2 s token works at first" as "$short" foods list
sleep 3
refused unauthorized "an expired token" "$short" foods list
assert_match "$RUN_ERR" "expired" "... saying it expired"
run "$COUNTER_BIN" backend restart auth
assert_eq "$RUN_RC" 0 "auth restarted with the usual lifetime"

ended() {   # DESC TOKEN: within 5 s every service refuses TOKEN
    local desc=$1 tok=$2 svc_cmd
    for svc_cmd in "foods list" "customers show 1" "orders list" "myorders customer=1" "deliveries list"; do
        # shellcheck disable=SC2086
        wait_for 5 "$desc: $svc_cmd refused" refused_now "$tok" $svc_cmd
    done
}
refused_now() { local t=$1; shift; ! as "$t" "$@" >/dev/null 2>"$SCRATCH/refused.err" &&
    grep -q "^counter: unauthorized" "$SCRATCH/refused.err"; }

t_logout=$("$COUNTER_BIN" login boss --print-token --password-file "$TEST_PW")
assert_rc 0 "a second session of boss works" as "$t_logout" foods list
assert_rc 0 "boss logs out of it" as "$t_logout" logout
ended "a token after logout" "$t_logout"
assert_rc 0 "boss's other session goes on" as "$M" foods list

t_pw=$("$COUNTER_BIN" login kim --print-token --password-file "$TEST_PW")
printf 'counter-test-pw-1\nkim-new-password-2\n' >"$SCRATCH/pw2"
assert_rc 0 "kim changes his password" as "$t_pw" accounts passwd --password-file "$SCRATCH/pw2"
ended "kim's token after his password change" "$t_pw"
ended "kim's other token after his password change" "$K"
assert_error 1 "unauthorized" "kim's old password no longer logs in" \
    "$COUNTER_BIN" login kim --print-token --password-file "$TEST_PW"
printf 'kim-new-password-2\n' >"$SCRATCH/pw3"
K=$("$COUNTER_BIN" login kim --print-token --password-file "$SCRATCH/pw3")
assert_rc 0 "kim's new password logs in" as "$K" deliveries list

assert_rc 0 "the manager locks kim" as "$M" accounts lock kim
ended "kim's token after the lock" "$K"
assert_error 1 "unauthorized.*lock" "kim cannot log in while locked" \
    "$COUNTER_BIN" login kim --print-token --password-file "$SCRATCH/pw3"
assert_rc 0 "the manager unlocks kim" as "$M" accounts unlock kim
assert_rc 0 "kim logs in again after the unlock" "$COUNTER_BIN" login kim --print-token --password-file "$SCRATCH/pw3"

assert_rc 0 "park withdraws" as "$P" customers withdraw 3
ended "a withdrawn customer's token" "$P"
assert_error 1 "unauthorized" "a withdrawn customer cannot log in" \
    "$COUNTER_BIN" login c3 --print-token --password-file "$TEST_PW"

# ---- roles and ownership ---------------------------------------------------------------
refused forbidden "a customer's token on a manager's command" "$A" foods add name=free stock=1 price=0
refused forbidden "a customer's token on the staff's customer list" "$A" customers list
refused forbidden "a customer's token on the delivery team's command" "$A" deliveries confirm 1
refused forbidden "a delivery token on a manager's command" "$K" foods delete 1
refused forbidden "lee shows kim's order" "$A" orders show "$order_b"
refused forbidden "lee cancels kim's order" "$A" orders cancel "$order_b"
refused forbidden "lee lists kim's orders" "$A" orders list customer=2
refused forbidden "lee reads kim's my orders" "$A" myorders customer=2
refused forbidden "lee places an order for kim" "$A" orders place customer=2 food=1 qty=1
refused forbidden "lee shows kim's record" "$A" customers show 2
refused forbidden "lee changes kim's address" "$A" customers update 2 address=mine
refused forbidden "lee withdraws kim" "$A" customers withdraw 2
refused forbidden "kim shows lee's order" "$B" orders show "$order_a"
refused forbidden "a customer adds staff" "$A" accounts add login=evil role=manager --password-file "$TEST_PW"
refused forbidden "a delivery account locks the manager" "$K" accounts lock boss

# ---- services: system:NAME only with NAME's key ------------------------------------------
raw unauthorized "system:order from a terminal's connection (catalog.reserve)" \
    catalog catalog.reserve system:order '{"order":99,"food":1,"qty":5}'
raw unauthorized "system:order from a terminal's connection (payment.pay)" \
    payment payment.pay system:order '{"order":99,"customer":1,"amount":1}'
raw unauthorized "system:auth from a terminal's connection (auth.setup)" \
    auth auth.setup system:counter '{"login":"evil","password":"evil-password-1"}'
raw unauthorized "system:catalog with the order service's key" \
    catalog catalog.reserve system:catalog '{"order":99,"food":1,"qty":5}' --key order

# ---- passwords never on the command line ---------------------------------------------------
assert_error 2 "never given on the command line" "login with password=..." \
    "$COUNTER_BIN" login boss password=counter-test-pw-1
assert_error 2 "never given on the command line" "accounts add with password=..." \
    as "$M" accounts add login=evil role=delivery password=evil-password-1
assert_error 2 "no password" "login without any password input" \
    "$COUNTER_BIN" login boss </dev/null

# ---- nothing changed -------------------------------------------------------------------------
assert_rc 0 "the audit is OK after the attacks" counter --json audit --wait $((30 * TIME_SCALE))
domain_dump >"$SCRATCH/after.txt"
# park's withdrawal and its ended sessions are the only changes made on purpose.
if diff <(grep -v '^3|park' "$SCRATCH/before.txt") <(grep -v '^3|park' "$SCRATCH/after.txt") >"$SCRATCH/diff.txt"; then
    ok "no service's tables changed (but park's withdrawal)"
else
    fail "a refused attempt changed a service's tables" "$(head -20 "$SCRATCH/diff.txt")"
fi
assert_eq "$(counter --json foods list | jq -s -c 'map(.name)')" '["pizza"]' "no free food was added"

# ---- throttling: 20 wrong passwords ------------------------------------------------------------
token_for manager:victim >/dev/null || fail "cannot make the victim's account"
printf 'not-the-password\n' >"$SCRATCH/wrong"
wrong_login() {   # one wrong try, waiting out the delay it is told
    local i
    for i in $(seq 1 50); do
        "$COUNTER_BIN" --json login victim --print-token --password-file "$SCRATCH/wrong" >/dev/null 2>"$SCRATCH/wrong.err"
        grep -qi "try again" "$SCRATCH/wrong.err" || return 0
        sleep 0.05
    done
}
for i in $(seq 1 20); do wrong_login; done
assert_error 1 "unauthorized.*locked" "the 21st try, with the right password, waits: locked" \
    "$COUNTER_BIN" login victim --print-token --password-file "$TEST_PW"
assert_eq "$(db auth "SELECT COUNT(*) FROM bus_outbox WHERE type = 'AccountLocked'" )" 1 "one AccountLocked event"

# ---- 200 logins at once while orders flow --------------------------------------------------------
# At the real argon2id cost (tests otherwise use the smallest).
run env -u COUNTER_AUTH_PWHASH_OPS -u COUNTER_AUTH_PWHASH_MEM_KIB "$COUNTER_BIN" backend restart auth
assert_eq "$RUN_RC" 0 "auth restarted with the default argon2id cost" || show "stderr" "$RUN_ERR"
start=$(now_ms)
"$COUNTER_BIN" login boss --print-token --password-file "$TEST_PW" >/dev/null 2>&1
note "one login at the default cost: $(( $(now_ms) - start )) ms"
COUNTER_TOKEN=$M "$BUILD/tests/loadgen" -c 4 -r 40 -d $((8 * TIME_SCALE)) -C 2 -F 1 -q 1 \
    >"$SCRATCH/load.json" 2>"$SCRATCH/load.err" &
load=$!
for i in $(seq 1 200); do
    "$COUNTER_BIN" login boss --print-token --password-file "$TEST_PW" >/dev/null 2>&1 &
done
wait "$load"
wait
placed=$(jq .placed "$SCRATCH/load.json")
failed=$(jq '.rejects | to_entries | map(.value) | add // 0' "$SCRATCH/load.json")
note "loadgen during 200 logins: $(cat "$SCRATCH/load.json")"
[ "${placed:-0}" -gt 0 ] && ok "orders kept flowing during 200 logins ($placed placed)" ||
    fail "no order was placed during 200 logins" "$(cat "$SCRATCH/load.json" "$SCRATCH/load.err")"
assert_eq "$failed" 0 "no placement failed during 200 logins"

# ---- no password anywhere -----------------------------------------------------------------------
for pw in counter-test-pw-1 kim-new-password-2 not-the-password; do
    hits=$(grep -a -l -F -- "$pw" "$COUNTER_HOME"/data/* "$COUNTER_HOME"/log/* 2>/dev/null | grep -v scratch)
    assert_eq "$hits" "" "the password '$pw' is in no database and no log"
done
finish
