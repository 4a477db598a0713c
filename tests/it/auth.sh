#!/usr/bin/env bash
# auth: the auth worker (backend/svc_auth.c) through raw CTR/2 frames:
# the first manager (once), logins whose tokens carry the right claims,
# wrong passwords (LoginFailed, a growing delay, then a lock that even the
# right password does not pass), unlock, staff accounts, a customer's
# sign-up (customer record + account; a taken login creates nothing; a
# retry creates one customer), logout / password change / lock / a
# customer's withdrawal ending sessions (SessionRevoked), argon2id hashes
# rehashed at new limits, nice, and no password in any database or log.
. "$(dirname "$0")/../lib.sh"

# Fast hashes and a short throttle, so the test runs in seconds.
export COUNTER_AUTH_PWHASH_OPS=1 COUNTER_AUTH_PWHASH_MEM_KIB=8
# A first delay of 1 s: long enough that the next try, a new process on a
# loaded machine, still comes "too soon"; waits below are the delays told.
export COUNTER_AUTH_FAIL_DELAY_MS=1000 COUNTER_AUTH_FAIL_DELAY_MAX_MS=3000
export COUNTER_AUTH_LOCK_AFTER=4 COUNTER_AUTH_LOCK_MS=60000
sleep_past() { sleep "$(awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 + 0.15 }')"; }

PW_ADMIN='Adm1n-Passw0rd-x7'
PW_KIM='Kim-Secret-9q2'
PW_KIM2='Kim-NewSecret-4z8'
PW_LEE='Lee-Secret-5w3'
PW_KIM3='Kim-ByManager-6k1'

# start [SERVICE]: the backend without the test library's own setup and
# login (backend_start makes the admin itself): this test makes it.
start() {
    assert_rc 0 "backend start ${1:-(all)}" counter backend start "$@"
}
start || die "the backend does not start"

# call SERVICE COMMAND CREDENTIAL BODY [REQUEST_ID]: one request; the reply's
# status in ST, its body in RB.
# (system:NAME is believed only from a connection with NAME's key: --key.)
call() {
    local rid=${5:-r$RANDOM$RANDOM} key=()
    case $3 in system:*) key=(--key "${3#system:}") ;; esac
    run rawsend -t $((5000 * TIME_SCALE)) "${key[@]}" "$1" CTR2 "$2" "$rid" "$3" "$4"
    ST=$(printf '%s\n' "$RUN_OUT" | sed -n 3p)
    RB=$(printf '%s\n' "$RUN_OUT" | sed -n 4p)
}
# expect STATUS DESC: the last call's status.
expect() {
    if [ "$ST" = "$1" ]; then
        ok "$2"
    else
        fail "$2: status '$ST', expected '$1'"
        show "reply" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
    fi
}
# claims TOKEN: the token's claims as JSON (base64url, unpadded).
claims() {
    local b=${1%%.*}
    b=$(printf '%s' "$b" | tr '_-' '/+')
    while [ $(( ${#b} % 4 )) -ne 0 ]; do b="$b="; done
    printf '%s' "$b" | base64 -d
}
# events TYPE: the auth events of that type, one JSON per line.
events() { db auth "SELECT json FROM bus_outbox WHERE type = '$1' ORDER BY seq"; }
login() {   # LOGIN PASSWORD
    call auth auth.login - "$(jq -nc --arg l "$1" --arg p "$2" '{login: $l, password: $p}')"
}

# ---- the first manager --------------------------------------------------------
call auth auth.setup - "{\"login\":\"admin\",\"password\":\"$PW_ADMIN\"}"
expect unauthorized "auth.setup without a credential is refused (system only)"
call auth auth.setup system:counter "{\"login\":\"admin\",\"password\":\"short\"}"
expect bad_request "setup: a password shorter than auth.password_min is refused"
assert_eq "$(jqr "$RB" .field)" password "... naming the field password"
call auth auth.setup system:counter "{\"login\":\"admin\",\"password\":\"$PW_ADMIN\"}"
expect ok "auth.setup makes the first manager"
assert_json_eq "$(jqr "$RB" '{role, subject, login}')" \
    '{"role":"manager","subject":"admin","login":"admin"}' "setup answers role, subject, login"
call auth auth.setup system:counter "{\"login\":\"boss\",\"password\":\"$PW_ADMIN\"}"
expect conflict "a second auth.setup is a conflict"
assert_eq "$(db auth "SELECT COUNT(*) FROM accounts")" 1 "... and makes no account"

# ---- logging in ---------------------------------------------------------------
login admin "$PW_ADMIN"
expect ok "admin logs in"
ADMIN=$(jqr "$RB" .token)
C=$(claims "$ADMIN")
assert_json_eq "$(jqr "$C" '{v, role, sub}')" '{"v":1,"role":"manager","sub":"admin"}' \
    "the token's claims: version 1, role manager, subject admin"
assert_eq "$(jqr "$C" '.exp - .iat')" 28800 "the token expires after auth.token_ttl_s (a shift)"
assert_eq "$(jqr "$RB" .expires)" "$(jqr "$C" .exp)" "the reply's expires is the token's"
assert_eq "$(db auth "SELECT login || ' ' || role || ' ' || subject FROM sessions
                      WHERE sid = '$(jqr "$C" .sid)'")" "admin manager admin" \
    "the token's session id is a session of admin"
assert_match "$(events LoggedIn | tail -n 1)" "\"sessionId\":\"$(jqr "$C" .sid)\"" \
    "LoggedIn names the session"
assert_match "$(db auth "SELECT hash FROM accounts WHERE login = 'admin'")" '^\$argon2id\$' \
    "the stored hash is argon2id"

# ---- staff accounts -----------------------------------------------------------
call auth auth.add "token:$ADMIN" "{\"login\":\"k im\",\"role\":\"delivery\",\"password\":\"$PW_KIM\"}"
expect bad_request "a login with a space is refused"
assert_eq "$(jqr "$RB" .field)" login "... naming login"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"cook\",\"password\":\"$PW_KIM\"}"
expect bad_request "an unknown role is refused"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"delivery\",\"customer\":1,\"password\":\"$PW_KIM\"}"
expect bad_request "a staff account with a customer is refused"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"customer\",\"password\":\"$PW_KIM\"}"
expect bad_request "a customer account without customer= is refused"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"customer\",\"customer\":99,\"password\":\"$PW_KIM\"}"
expect not_found "a customer account for a customer who does not exist is refused"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"delivery\",\"password\":\"$PW_KIM\"}"
expect ok "the manager adds kim (delivery)"
assert_match "$(events AccountCreated | tail -n 1)" '"login":"kim","role":"delivery","customerId":null' \
    "AccountCreated kim, delivery, no customer"
call auth auth.add "token:$ADMIN" "{\"login\":\"kim\",\"role\":\"delivery\",\"password\":\"$PW_KIM\"}"
expect conflict "adding kim again is a conflict"

# ---- wrong passwords: a growing delay, then a lock ------------------------------
login kim "wrong-password-1"
expect unauthorized "a wrong password is unauthorized"
assert_eq "$(jqr "$RB" .message)" "wrong login or password" "... saying 'wrong login or password'"
d1=$(jqr "$RB" .retry_after_ms)
assert_match "$(events LoginFailed | tail -n 1)" '"login":"kim","failures":1' "LoginFailed kim, 1 failure"
login kim "$PW_KIM"
expect unauthorized "the right password too soon after a failure is refused"
assert_match "$(jqr "$RB" .message)" "too many failed logins for kim: try again in [0-9]+ s" \
    "... saying when to try again"
assert_eq "$(events LoginFailed | wc -l)" 1 "... without counting (or hashing) another failure"
sleep_past "$d1"
login kim "wrong-password-2"
d2=$(jqr "$RB" .retry_after_ms)
sleep_past "$d2"
login kim "wrong-password-3"
d3=$(jqr "$RB" .retry_after_ms)
if [ "$d1" -ge 800 ] && [ "$d1" -le 1000 ] && [ "$d2" -gt "$d1" ] && [ "$d3" -gt "$d2" ]; then
    ok "the delay grows with each failure in a row ($d1, $d2, $d3 ms)"
else
    fail "the delay grows with each failure in a row" "got $d1, $d2, $d3 ms; expected 1000, 2000, 3000"
fi
sleep_past "$d3"
login kim "wrong-password-4"
expect unauthorized "the 4th wrong password (auth.lock_after=4) is unauthorized"
assert_match "$(events AccountLocked | tail -n 1)" '"login":"kim".*"reason":"failed logins"' \
    "AccountLocked kim after the failed logins"
sleep_past 3000
login kim "$PW_KIM"
expect unauthorized "the right password while locked is refused"
assert_match "$(jqr "$RB" .message)" \
    "account kim is locked until [0-9]{2}:[0-9]{2}:[0-9]{2} UTC after 4 failed logins" \
    "... saying until when and why"
[ "$(jqr "$RB" .retry_after_ms)" -gt 0 ] && ok "... with retry_after_ms" ||
    fail "... with retry_after_ms" "$RB"
login nobody "whatever-pass"
expect unauthorized "an unknown login is unauthorized"
assert_eq "$(jqr "$RB" .message)" "wrong login or password" "... with the same sentence"
assert_eq "$(events LoginFailed | grep -c nobody)" 0 "... and no LoginFailed"

call auth auth.list "token:$ADMIN" '{}'
assert_eq "$(jqr "$RB" '.items[] | select(.login == "kim") | .state')" locked \
    "auth.list shows kim locked"
assert_no_match "$RB" 'argon2|hash' "auth.list shows no hash"
call auth auth.unlock "token:$ADMIN" '{"login":"kim"}'
expect ok "the manager unlocks kim"
assert_eq "$(events AccountUnlocked | wc -l)" 1 "AccountUnlocked"
login kim "$PW_KIM"
expect ok "kim logs in after the unlock"
KIM=$(jqr "$RB" .token)
assert_json_eq "$(claims "$KIM" | jq -c '{role, sub}')" '{"role":"delivery","sub":"kim"}' \
    "kim's token: role delivery, subject kim"
assert_eq "$(db auth "SELECT failures FROM accounts WHERE login = 'kim'")" 0 \
    "a good login resets the failures"
call auth auth.unlock "token:$KIM" '{"login":"kim"}'
expect forbidden "delivery may not unlock"

# ---- a customer signs up ---------------------------------------------------------
ncust() { db customer "SELECT COUNT(*) FROM customers"; }
SIGNUP="{\"name\":\"lee\",\"phone\":\"010\",\"address\":\"seoul\",\"login\":\"lee\",\"password\":\"$PW_LEE\"}"
call auth auth.signup - "$SIGNUP" signup-1
expect ok "lee signs up without a token"
LEE=$(jqr "$RB" .token)
LEE_ID=$(jqr "$RB" .subject)
assert_json_eq "$(claims "$LEE" | jq -c '{role, sub}')" "{\"role\":\"customer\",\"sub\":\"$LEE_ID\"}" \
    "lee's token: role customer, subject the customer id"
call customer customer.show system:auth "{\"id\":$LEE_ID}"
assert_eq "$(jqr "$RB" .name)" lee "the customer record exists (customer.show)"
assert_eq "$(db auth "SELECT role || ' ' || customer_id FROM accounts WHERE login = 'lee'")" \
    "customer $LEE_ID" "the account is lee's, a customer's"
assert_match "$(events AccountCreated | tail -n 1)" "\"login\":\"lee\",\"role\":\"customer\",\"customerId\":$LEE_ID" \
    "AccountCreated lee with the customer id"
n=$(ncust)
call auth auth.signup - "$SIGNUP" signup-1
expect ok "the same sign-up again (a retry, same request id) is answered"
assert_eq "$(ncust)" "$n" "... and creates no second customer"
call auth auth.signup - "{\"name\":\"kim\",\"login\":\"kim\",\"password\":\"$PW_LEE\"}"
expect conflict "a sign-up with a taken login is a conflict"
assert_eq "$(ncust)" "$n" "... and creates no customer"
call auth auth.signup - "{\"name\":\"x\",\"login\":\"xx\",\"password\":\"short\"}"
expect bad_request "a sign-up with a short password is refused"
assert_eq "$(ncust)" "$n" "... and creates no customer"

# ---- sessions end ----------------------------------------------------------------
revoked() {   # REASON: SessionRevoked events with that reason
    events SessionRevoked | grep -c "\"reason\":\"$1\""
}
call auth auth.logout "token:$LEE" '{}'
expect ok "lee logs out"
assert_match "$(events SessionRevoked | tail -n 1)" \
    "\"sessionId\":\"$(claims "$LEE" | jq -r .sid)\",\"login\":\"lee\",\"expires\":$(claims "$LEE" | jq .exp),\"reason\":\"logout\"" \
    "SessionRevoked for lee's session, reason logout"
assert_eq "$(db auth "SELECT reason FROM sessions WHERE sid = '$(claims "$LEE" | jq -r .sid)'")" logout \
    "the session is recorded as ended"
call auth auth.logout "token:$LEE" '{}'
expect unauthorized "the auth worker refuses the ended session's token at once"
refused_by_customer() {   # TOKEN: customer.show with it is unauthorized
    call customer customer.show "token:$1" "{\"id\":$LEE_ID}"
    [ "$ST" = unauthorized ]
}
wait_for 10 "the customer worker refuses it too (it follows SessionRevoked)" refused_by_customer "$LEE"

call auth auth.passwd "token:$KIM" "{\"password\":\"$PW_KIM2\"}"
expect bad_request "changing your own password without old is refused"
call auth auth.passwd "token:$KIM" "{\"old\":\"not-kims-password\",\"password\":\"$PW_KIM2\"}"
expect forbidden "a wrong old password is refused"
assert_match "$(events LoginFailed | tail -n 1)" '"login":"kim","failures":1' "... counted as a failed login"
sleep_past 1000
call auth auth.passwd "token:$KIM" "{\"old\":\"$PW_KIM\",\"password\":\"$PW_KIM2\"}"
expect ok "kim changes her own password"
call auth auth.passwd "token:$KIM" "{\"old\":\"$PW_KIM2\",\"password\":\"$PW_KIM\"}"
expect unauthorized "kim's token from before the change is refused"
assert_eq "$(revoked password)" 1 "SessionRevoked reason password (kim's session)"
assert_eq "$(events PasswordChanged | wc -l)" 1 "PasswordChanged"
login kim "$PW_KIM"
expect unauthorized "the old password no longer logs in"
sleep_past "$(jqr "$RB" .retry_after_ms)"
login kim "$PW_KIM2"
expect ok "the new password does"
KIM=$(jqr "$RB" .token)
login lee "$PW_LEE"
LEE=$(jqr "$RB" .token)
call auth auth.passwd "token:$LEE" "{\"login\":\"kim\",\"password\":\"$PW_KIM3\"}"
expect forbidden "a customer may not change kim's password"
call auth auth.passwd "token:$ADMIN" "{\"login\":\"kim\",\"password\":\"$PW_KIM3\"}"
expect ok "the manager sets kim's password without the old one"
assert_eq "$(revoked password)" 2 "... ending kim's session"

login kim "$PW_KIM3"
KIM=$(jqr "$RB" .token)
call auth auth.lock "token:$ADMIN" '{"login":"kim"}'
expect ok "the manager locks kim"
call auth auth.logout "token:$KIM" '{}'
expect unauthorized "kim's token is refused once the account is locked"
assert_eq "$(revoked locked)" 1 "SessionRevoked reason locked"
login kim "$PW_KIM3"
expect unauthorized "a locked account cannot log in"
assert_match "$(jqr "$RB" .message)" "locked by a manager" "... saying so"
call auth auth.lock "token:$ADMIN" '{"login":"admin"}'
expect conflict "the last active manager cannot be locked"

live=$(db auth "SELECT COUNT(*) FROM sessions WHERE login = 'lee' AND revoked_at IS NULL")
call customer customer.withdraw "token:$LEE" "{\"id\":$LEE_ID}"
expect ok "lee withdraws"
wait_for 10 "the auth worker closes lee's account" \
    test "$(db auth "SELECT state FROM accounts WHERE login = 'lee'")" = withdrawn
assert_eq "$(revoked withdrawn)" "$live" "SessionRevoked reason withdrawn, one per live session of lee ($live)"
wait_for 10 "a withdrawn customer's token is refused" refused_by_customer "$LEE"
login lee "$PW_LEE"
expect unauthorized "a withdrawn customer cannot log in"
call auth auth.unlock "token:$ADMIN" '{"login":"lee"}'
expect conflict "a withdrawn customer's account cannot be unlocked"

# ---- the command line --------------------------------------------------------------
printf '%s\n' "$PW_ADMIN" >"$SCRATCH/admin.pw"
assert_rc 0 "counter login admin (password from a file)" \
    counter login admin --password-file "$SCRATCH/admin.pw"
assert_rc 0 "counter accounts list" counter --json accounts list
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r 'select(.login == "kim") | .state')" locked \
    "... shows kim locked"
assert_rc 0 "counter accounts unlock kim" counter accounts unlock kim
n=$(revoked logout)
assert_rc 0 "counter logout" counter logout
assert_eq "$(revoked logout)" $((n + 1)) "counter logout ends the session (SessionRevoked)"
assert_error 1 "unauthorized|log in" "after logout, counter accounts list is refused" \
    counter accounts list

# ---- the worker ----------------------------------------------------------------
pid=$(lock_pid auth)
assert_eq "$(ps -o ni= -p "$pid" | tr -d ' ')" 10 "the auth worker runs at nice 10 (auth.nice)"
old=$(db auth "SELECT hash FROM accounts WHERE login = 'admin'")
backend_stop auth
COUNTER_AUTH_PWHASH_OPS=2 start auth
login admin "$PW_ADMIN"
expect ok "admin logs in after the limits changed"
new=$(db auth "SELECT hash FROM accounts WHERE login = 'admin'")
assert_match "$old" ',t=1,' "the old hash was made with t=1"
assert_match "$new" '^\$argon2id\$v=19\$m=8,t=2,' "a login rehashes at the new limits (t=2)"

# ---- no password anywhere ---------------------------------------------------------
backend_stop
for pw in "$PW_ADMIN" "$PW_KIM" "$PW_KIM2" "$PW_KIM3" "$PW_LEE"; do
    hits=$(grep -a -l -F -r -- "$pw" "$COUNTER_HOME/data" "$COUNTER_HOME/log" 2>/dev/null)
    assert_eq "$hits" "" "no database or log holds the password ${pw:0:3}..."
done
assert_eq "$(sqlite3 "$COUNTER_HOME/data/auth.db" "SELECT COUNT(*) FROM bus_outbox
                WHERE json LIKE '%argon2%'")" 0 "no event carries a hash"

finish
