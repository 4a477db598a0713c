#!/usr/bin/env bash
# tui_login: the TUI's side of accounts (DESIGN 7 and 9). A kiosk started
# without a customer session asks; its m opens the manager's login dialog,
# where a wrong password, a customer's own password and a delivery login are
# refused (a try right after a failure waits: "try again in N s"; the
# sessions those two opened are ended at once) and the manager
# screen never shows; the manager's password opens it and the title names
# who is logged in; a password never shows on the screen; L logs out to the
# role menu (the session ends in the backend) and the next m asks again. A new
# customer signs up on the kiosk and sees their (empty) orders. A session
# that ends mid-screen (the account locked, which ends its sessions) opens
# the dialog over the screen; after logging in again the tab, the selection
# and a half-typed form are as they were, and the refused action was not
# sent again.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

# A failed login makes the next one of that account wait 3 s (the throttle).
export COUNTER_AUTH_FAIL_DELAY_MS=3000
backend_start || die "the backend does not start"
assert_rc 0 "a customer and three foods" counter batch - <<'B'
customers add name=lee phone=010 address=seoul
foods add name=toast price=3000 stock=10
foods add name=bagel price=2500 stock=10
foods add name=waffle price=4000 stock=10
B
for who in manager:park manager:lim delivery:kim customer:1; do
    token_for "$who" >/dev/null || fail "an account for $who"
done
PW=$(cat "$TEST_PW")
# What a screen must never show: the password, or any long part of it.
no_password() {
    local s
    s=$(tui_cap "$1")
    if printf '%s\n' "$s" | grep -Fq -- "${PW:0:8}"; then
        fail "$2: the password shows on the screen" "$s"
    else
        ok "$2: no trace of the password on the screen"
    fi
}

# dialog_login NAME LOGIN: in NAME's open login dialog, LOGIN and the
# password, Enter; again after the throttle's "try again in N s" (the wrong
# passwords below slow park's logins down).
dialog_login() {
    local name=$1 login=$2 i s wait
    for i in 1 2 3 4 5; do
        tui_keys "$name" Up C-u
        tui_type "$name" "$login"
        tui_keys "$name" Down C-u
        tui_type "$name" "$PW"
        no_password "$name" "$login's password typed"
        tui_keys "$name" Enter
        wait_for 10 "$name: the login is answered" screen_lacks "$name" "logging in" >/dev/null
        s=$(tui_cap "$name")
        wait=$(printf '%s\n' "$s" | sed -nE 's/.*try again in ([0-9]+) s.*/\1/p' | head -n 1)
        [ -n "$wait" ] || return 0
        note "throttled: waiting $wait s"
        sleep "$wait"
    done
}

# ---- a kiosk: no customer session (the shop's session file is a manager's) --------------
session_before=$(cksum <"$COUNTER_HOME/session")
tui_start kiosk -- --role customer
tui_wait 10 "a kiosk started without a customer session asks: the customer login" kiosk \
    "customer login"
assert_match "$(tui_cap kiosk)" "Tab: new customer" "... which offers to sign up"
tui_keys kiosk Escape
tui_wait 5 "Esc goes back to the role menu" kiosk "Who is at the counter\?"
tui_keys kiosk m
tui_wait 5 "m opens the manager's login dialog, not the manager screen" kiosk "manager login"
assert_no_match "$(tui_cap kiosk)" "\[Foods\]" "... the manager screen is not shown"

# A wrong password.
tui_type kiosk park
tui_keys kiosk Enter
tui_type kiosk "not-the-password"
tui_wait 5 "the password shows as stars while typed" kiosk "Password +\*{16}"
tui_keys kiosk Enter
tui_wait 10 "a wrong password is refused with the backend's sentence" kiosk "wrong login or password"
assert_match "$(tui_cap kiosk)" "manager login" "... and the dialog stays"
assert_no_match "$(tui_cap kiosk)" "\[Foods\]|manager: park" "... the manager screen is not shown"
# At once the right one: the throttle's sentence.
tui_keys kiosk Down C-u
tui_type kiosk "$PW"
tui_keys kiosk Enter
tui_wait 10 "the next try at once is throttled, with the backend's sentence" kiosk \
    "too many failed logins for park: try again in [0-9] s"
assert_no_match "$(tui_cap kiosk)" "\[Foods\]|manager: park" "... the manager screen is not shown"

# A customer's own login and password on the manager's dialog.
dialog_login kiosk c1
tui_wait 10 "a customer's login is refused on the manager's dialog" kiosk \
    "c1 is a customer, not a manager"
assert_no_match "$(tui_cap kiosk)" "\[Foods\]|\[Catalog\]" "... no screen opens"

# A delivery login on the manager's dialog.
dialog_login kiosk kim
tui_wait 10 "a delivery login is refused on the manager's dialog" kiosk \
    "kim is delivery staff, not a manager"

# The manager's password.
dialog_login kiosk park
tui_wait 10 "the manager's password opens the manager screen; the title names park" kiosk \
    "manager: park .*\[Foods\]"
tui_wait 10 "... with its data" kiosk "waffle +4,000 +10"
no_password kiosk "the manager screen"
assert_match "$(tui_cap kiosk | tail -n 1)" "L logout" "the status line shows the logout key"

# Logout.
tui_keys kiosk L
tui_wait 5 "L logs out: the role menu" kiosk "Who is at the counter\?"
assert_match "$(tui_cap kiosk)" "park: logged out" "... saying who logged out"
# revoked LOGIN: how many of LOGIN's sessions were ended by a logout.
revoked() {
    counter --json events --from-beginning 2>/dev/null |
        jq -r "select(.eventType == \"SessionRevoked\" and .login == \"$1\" and .reason == \"logout\") | .sessionId" |
        wc -l
}
park_logged_out() { [ "$(revoked park)" -eq 1 ]; }
wait_for 5 "the logout ended park's session in the backend" park_logged_out
assert_eq "$(revoked c1)" 1 "the session of c1 refused on the manager's dialog was ended at once"
assert_eq "$(revoked kim)" 1 "... and so was kim's"
tui_keys kiosk m
tui_wait 5 "m after a logout asks the password again" kiosk "manager login"
assert_no_match "$(tui_cap kiosk)" "\[Foods\]" "... the manager screen is not shown"
tui_keys kiosk Escape

# ---- a new customer signs up on the kiosk -------------------------------------------------
tui_keys kiosk c
tui_wait 5 "c opens the customer's login dialog" kiosk "customer login"
tui_keys kiosk Tab
tui_wait 5 "Tab opens the new-customer form" kiosk "new customer: sign up"
tui_type kiosk "jang"
tui_keys kiosk Tab
tui_type kiosk "010-5555"
tui_keys kiosk Tab
tui_type kiosk "incheon"
tui_keys kiosk Tab
tui_type kiosk "jang"
tui_keys kiosk Tab
tui_type kiosk "$PW"
no_password kiosk "the new customer's password typed"
tui_keys kiosk Enter
tui_wait 10 "signed up and logged in: the title names jang #2" kiosk "customer: jang #2"
tui_keys kiosk Tab
tui_wait 5 "... whose orders are empty" kiosk "no orders yet"
assert_eq "$(counter --json customers show 2 | jq -r '"\(.name) \(.phone) \(.address)"')" \
    "jang 010-5555 incheon" "the backend has the customer as typed"
run sh -c "'$COUNTER_BIN' --json accounts list | jq -r 'select(.login == \"jang\") | .role'"
assert_eq "$RUN_OUT" customer "the backend has jang's account, a customer's"
tui_quit kiosk
assert_eq "$(cksum <"$COUNTER_HOME/session")" "$session_before" \
    "the kiosk's logins left the session file alone (tokens live in the TUI's memory only)"
assert_eq "$(ls "$COUNTER_HOME" | grep -c '^tui-accounts')" 0 "... and wrote no list of accounts"

# ---- a session ending mid-screen -----------------------------------------------------------
tui_start boss -- --role manager --as manager:lim
tui_wait 10 "lim's manager screen opens at once with his session" boss "manager: lim .*\[Foods\]"
tui_wait 10 "... with the foods" boss "waffle +4,000 +10"
tui_keys boss Down
tui_keys boss a
tui_wait 5 "a opens the add-food form" boss "add a food"
tui_type boss "half typed"
assert_rc 0 "lim's account is locked (which ends his sessions)" counter accounts lock lim
lim_token=$(cat "$TEST_HOME/tokens/manager-lim")
wait_for 10 "the catalog service refuses lim's session" sh -c \
    "! COUNTER_TOKEN='$lim_token' '$COUNTER_BIN' foods list >/dev/null 2>&1"
# Send the form, unless the periodic refresh found out first.
if ! screen_has boss "session ended" >/dev/null; then
    tui_keys boss Enter
fi
tui_wait 10 "the login dialog opens over the screen, for lim" boss "session ended: manager lim"
assert_rc 0 "lim's account is unlocked" counter accounts unlock lim
tui_type boss "$PW"
no_password boss "the password typed again"
tui_keys boss Enter
tui_wait 10 "logged in again" boss "welcome back, lim"
assert_match "$(tui_cap boss)" "add a food" "... the form is still open"
assert_match "$(tui_cap boss)" "half typed" "... with what was typed"
assert_match "$(tui_cap boss)" "\[Foods\]" "... on the same tab"
sleep 1
assert_eq "$(counter --json foods list | wc -l)" 3 "... and the refused form was not sent again"
tui_keys boss Escape
tui_keys boss e
tui_wait 5 "the selection is kept: e edits the second food" boss "edit food #2"
tui_keys boss Escape
tui_wait 10 "the screen has its data with the new session" boss "waffle +4,000 +10"
tui_keys boss a
tui_type boss "scone"
tui_keys boss Tab
tui_type boss "2000"
tui_keys boss Tab
tui_type boss "5"
tui_keys boss Enter
tui_wait 10 "the new session works: a food added" boss "scone +2,000 +5"
tui_quit boss
finish
