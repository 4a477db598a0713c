#!/usr/bin/env bash
# tui_screen: what a terminal program owes its user. Korean food names line
# up in the catalog at 80 columns; resizing to 60x20 and back leaves a clean
# screen; NO_COLOR=1 runs without color (and the same screen has colors
# without it); sold-out foods are greyed, refused, and change live; the
# status line and the `?` help come from one key table, the keys a role may
# not use greyed; `counter` with no command opens the role menu; the backend
# refuses what a role may not do whatever the TUI shows. (tui_login: the
# login dialog, logout and a session ending mid-screen.)
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

backend_start || die "the backend does not start"
printf '%s\n' "customers add name=lee address=seoul" "customers add name=kim address=busan" \
    "foods add name=김치찌개 price=9000 stock=10" "foods add name=계란말이 price=5000 stock=3" \
    "foods add name=pizza price=1000 stock=100" "foods add name=된장찌개 price=8000 stock=0" \
    >"$SCRATCH/setup.batch"
assert_rc 0 "customers and foods registered" counter batch "$SCRATCH/setup.batch"
wait_for 10 "the catalog view has the 4 foods" sh -c '[ "$("$COUNTER_BIN" --json catalog | wc -l)" -eq 4 ]'

# ---- the role menu --------------------------------------------------------------
tui_start menu --
tui_wait 10 "counter with no command opens the role menu" menu "Who is at the counter\?"
tui_keys menu m
tui_wait 5 "m asks the manager's login and password" menu "manager login"
tui_type menu admin
tui_keys menu Enter
tui_type menu "$(cat "$TEST_PW")"
tui_keys menu Enter
tui_wait 10 "... which open the manager screen" menu "manager: admin .*\[Foods\]"
tui_keys menu R
tui_wait 5 "R goes back to the role menu" menu "Who is at the counter\?"
tui_quit menu

# ---- Korean names line up at 80 columns ----------------------------------------------
tui_start cust -- --role customer --as customer:1
tui_wait 10 "customer 1 is signed in from --as" cust "customer: lee #1"
tui_wait 10 "the catalog shows the Korean foods" cust "계란말이 +5,000 +3"
screen=$(tui_cap cust)
widths=""
for name in 김치찌개 계란말이 pizza 된장찌개; do
    line=$(printf '%s\n' "$screen" | grep -E -- "^ +[0-9]+ +$name ")
    # Through the end of the price, then through the end of the stock.
    p=$(text_width "$(printf '%s\n' "$line" | sed -E 's/^(.*[0-9],[0-9]{3}).*/\1/')")
    s=$(text_width "$(printf '%s\n' "$line" | sed -E 's/^(.*[0-9],[0-9]{3} +[0-9]+).*/\1/')")
    widths="$widths$name:$p/$s "
done
note "price/stock column ends: $widths"
assert_eq "$(printf '%s\n' $widths | cut -d: -f2 | sort -u | wc -l)" 1 \
    "prices and stocks end in the same columns for Korean and Latin names"
max=0
while IFS= read -r l; do
    w=$(text_width "$l")
    [ "$w" -le "$max" ] || max=$w
done <<<"$screen"
assert_eq "$([ "$max" -le 80 ] && echo fits)" fits "no line is wider than 80 columns (widest: $max)"

# ---- sold out: greyed, refused, live -------------------------------------------------------
assert_match "$screen" "된장찌개 +8,000 +0 +sold out" "a food with stock 0 shows sold out"
sold_line=$(tui_cap_e cust | grep -- "된장찌개")
assert_match "$sold_line" $'\e\\[([0-9]*;)*2(;[0-9]*)*m' "... greyed (dim)"
tui_keys cust End
tui_keys cust Enter
tui_wait 5 "ordering a sold-out food is refused" cust "된장찌개 is sold out: it cannot be ordered"
assert_eq "$(counter --json orders list | wc -l)" 0 "... and no order was sent"
tui_start boss -- --role manager
tui_wait 10 "the manager sees the foods" boss "pizza +1,000 +100"
tui_keys boss Down Down
tui_keys boss x
tui_wait 5 "x marks pizza sold out on the manager screen" boss "pizza +1,000 +0 +0 +SOLD OUT"
tui_wait 5 "... and the customer's catalog shows it sold out, live" cust "pizza +1,000 +0 +sold out"
tui_keys boss s
tui_wait 5 "s asks for the new stock" boss "Stock of pizza \(now 0"
tui_type boss "+25"
tui_keys boss Enter
tui_wait 5 "+25 sets the stock to 25" boss "pizza +1,000 +25 "
tui_wait 5 "... and the customer can order pizza again" cust "pizza +1,000 +25 *$"

# ---- the manager adds a food with a Korean name -----------------------------------------------
tui_keys boss a
tui_wait 5 "a opens the add-food form" boss "add a food"
tui_type boss "순두부찌개"
tui_keys boss Tab
tui_type boss "7500"
tui_keys boss Tab
tui_type boss "12"
tui_keys boss Enter
tui_wait 5 "the new food is in the manager's table" boss "5 +순두부찌개 +7,500 +12"
tui_wait 5 "... and in the customer's catalog" cust "5 +순두부찌개 +7,500 +12"

# ---- the manager edits and deletes it ------------------------------------------------------------
tui_keys boss End
tui_keys boss e
tui_wait 5 "e opens the edit form, filled in" boss "edit food #5"
tui_keys boss Tab C-u
tui_type boss "8000"
tui_keys boss Enter
tui_wait 5 "the new price shows on the manager's table" boss "5 +순두부찌개 +8,000 +12"
tui_wait 5 "... and in the customer's catalog" cust "5 +순두부찌개 +8,000 +12"
assert_eq "$(counter --json foods show 5 | jq -c '[.name, .price, .stock]')" '["순두부찌개",8000,12]' \
    "the catalog service has the edited food"
tui_keys boss d
tui_wait 5 "d asks before deleting" boss "Delete food #5 순두부찌개"
tui_keys boss y
tui_wait 5 "the food is gone from the manager's table" boss "food #5 순두부찌개 deleted"
wait_for 5 "... it is no longer listed" screen_lacks boss "^ +5 +순두부찌개"
tui_wait 5 "... nor in the customer's catalog" cust "된장찌개 +8,000 +0 +sold out"
wait_for 5 "the customer's catalog no longer lists it" screen_lacks cust "순두부찌개"

# ---- search, and typing survives live updates ----------------------------------------------------
tui_keys cust /
tui_wait 5 "/ opens the search prompt" cust "Search foods"
tui_type cust "찌개"
tui_wait 5 "the catalog shows only the stews while typing" cust "foods matching \"찌개\""
assert_no_match "$(tui_cap cust)" "pizza|계란말이" "... and not the others"
assert_rc 0 "the stock of 김치찌개 changes meanwhile (CLI)" counter foods update 1 stock=42
tui_wait 5 "the catalog shows the new stock live, under the prompt" cust "김치찌개 +9,000 +42"
assert_match "$(tui_cap cust | sed -n 23p)" "Search foods.*: 찌개" "... and the half-typed search is intact"
tui_type cust "x"
tui_wait 5 "typing goes on in the prompt" cust ": 찌개x"
tui_keys cust BSpace Enter
tui_wait 5 "Enter keeps the search" cust "foods matching \"찌개\""
tui_keys cust Escape
tui_wait 5 "Esc clears it" cust "pizza +1,000"

# ---- resize to 60x20 and back -----------------------------------------------------------------------
tui_keys cust Home
# Wait for the message line to clear so that the screens compare whole.
wait_for 15 "the customer screen has no message left" sh -c \
    "tmux -S '$TMUX_SOCK' capture-pane -p -t '=cust:' | sed -n 23p | grep -qv '[a-z]'"
before=$(tui_cap cust)
tm resize-window -t "=cust:" -x 60 -y 20
small_ok() {
    local s
    s=$(tui_cap cust)
    printf '%s\n' "$s"
    [ "$(printf '%s\n' "$s" | wc -l)" -eq 20 ] || return 1
    printf '%s\n' "$s" | head -n 1 | grep -q "online" || return 1
    printf '%s\n' "$s" | tail -n 1 | grep -q "? help" || return 1
    grep -q "김치찌개" <<<"$s"
}
wait_for 5 "at 60x20: title, catalog and status line are redrawn for the new size" small_ok
small=$(tui_cap cust)
max=0
while IFS= read -r l; do
    w=$(text_width "$l")
    [ "$w" -le "$max" ] || max=$w
done <<<"$small"
assert_eq "$([ "$max" -le 60 ] && echo fits)" fits "at 60x20 no line is wider than 60 columns (widest: $max)"
assert_match "$(printf '%s\n' "$small" | tail -n 1)" "^\? help" "the status line is the last line"
tm resize-window -t "=cust:" -x 80 -y 24
same_again() {
    local s
    s=$(tui_cap cust)
    printf '%s\n' "$s"
    [ "$s" == "$before" ]
}
if ! wait_for 5 "back at 80x24 the screen is exactly as before the resize" same_again; then
    show "before" "$before"
fi
assert_eq "$(tui_cap cust | wc -l)" 24 "24 lines"

# ---- colors, and NO_COLOR -------------------------------------------------------------------------
color_re=$'\e\\[([0-9]*;)*(3[0-7]|4[0-7]|9[0-7]|10[0-7]|38|48)(;[0-9]*)*m'
tui_start mono NO_COLOR=1 -- --role manager
tui_wait 10 "the manager screen runs with NO_COLOR=1" mono "김치찌개 +9,000 +42"
tui_wait 5 "... and is online" mono "online"
if tui_cap_e mono | grep -Eq "$color_re"; then
    fail "NO_COLOR=1: the screen has color escapes"
    show "screen with escapes" "$(tui_cap_e mono | cat -v | head -n 5)"
else
    ok "NO_COLOR=1: no color on the screen"
fi
assert_match "$(tui_cap_e mono)" $'\e\\[([0-9]*;)*7[;m]' "NO_COLOR=1: the title bar is in reverse video instead"
if tui_cap_e boss | grep -Eq "$color_re"; then
    ok "without NO_COLOR the same screen has colors"
else
    fail "without NO_COLOR the screen should have colors"
fi
tui_quit mono

# ---- the status line and ? come from the key table; greyed keys --------------------------------------
tui_keys boss Tab Tab
tui_wait 5 "the manager's Deliveries tab shows the board" boss "\[Deliveries\]"
bar=$(tui_cap_e boss | tail -n 1)
assert_match "$(tui_cap boss | tail -n 1)" "Enter ticket +c confirm +s ship +d deliver +y accept" "the status line lists the board's keys"
assert_match "$bar" $'\e\\[([0-9]*;)*2(;[0-9]*)*mc\e' "... greyed for the manager (dim)"
tui_keys boss c
tui_wait 5 "pressing a greyed key says who may use it" boss "is for the delivery team, not the manager"
tui_keys boss '?'
tui_wait 5 "? opens the help built from the key table" boss "keys \(greyed: not for the manager\)"
assert_match "$(tui_cap boss)" "confirm the selected delivery \(received\) \(delivery team only\)" \
    "the help marks the delivery team's keys"
tui_keys boss Escape
tui_wait 5 "Esc closes the help" boss "Delivery board|Deliveries: oldest first"

# ---- the backend enforces the roles, whatever a screen shows ------------------------------------------
assert_error 1 "forbidden" "a manager cannot confirm a delivery (backend)" \
    counter --as manager:park deliveries confirm 1
assert_error 1 "forbidden" "a customer cannot add a food (backend)" \
    counter --as customer:1 foods add name=x price=1 stock=1
tui_keys cust 1 Enter
tui_wait 5 "confirm ordering" cust "Order 1 x 김치찌개"
tui_keys cust y
tui_wait 10 "customer 1 orders (order #1)" cust "order #1 placed and paid"
assert_error 1 "forbidden" "customer 2 cannot see customer 1's order (backend)" \
    counter --as customer:2 orders show 1

# ---- the board colours deliveries by waiting time -------------------------------------------------
printf 'tui.wait_warn_s = 1\ntui.wait_late_s = 3\n' >>"$COUNTER_HOME/counter.conf"
tui_start team -- --role delivery --as delivery:kim
tui_wait 10 "the board shows order 1" team "#1 +김치찌개 x1 +lee"
tui_wait 10 "after 3 s it is marked late (!)" team "#1 +김치찌개 x1 +lee +seoul +[0-9]+s!"
late=$(tui_cap_e team | grep -- "#1")
assert_match "$late" $'\e\\[([0-9]*;)*31(;[0-9]*)*m[^\e]*s!' "... in red"
tui_quit team
assert_error 1 "forbidden" "customer 2 cannot cancel customer 1's order (backend)" \
    counter --as customer:2 orders cancel 1

for s in cust boss; do
    tui_quit "$s"
done
finish
