#!/usr/bin/env bash
# tui_keys: no key sequence crashes the TUI. 2,000 random key presses
# (letters, digits, Korean characters, arrows, function keys, Enter, Esc,
# Tab, Backspace, control keys, resizes) spread over the customer, manager
# and delivery-team screens, with live orders going on meanwhile. Every TUI
# must still run afterwards, answer keys (no stuck screen: Esc closes any
# dialog, ? opens the help, R the role menu, m and the manager's password
# the manager screen), quit with status 0, and leave
# no sanitizer report (build-san: `make SAN=1`).
#
# The sequence is reproducible: KEYS_SEED picks it (default 4242). q and
# Ctrl-C are left out (they end the program on purpose).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/tui_lib.sh"

KEYS_SEED=${KEYS_SEED:-4242}
KEYS_TOTAL=${KEYS_TOTAL:-2000}
RANDOM=$KEYS_SEED
note "key sequence seed: $KEYS_SEED ($KEYS_TOTAL keys)"

backend_start || die "the backend does not start"
printf '%s\n' "customers add name=lee address=seoul" "customers add name=kim address=busan" \
    "foods add name=김치찌개 price=9000 stock=500" "foods add name=계란말이 price=5000 stock=300" \
    "foods add name=pizza price=1000 stock=0" >"$SCRATCH/setup.batch"
assert_rc 0 "customers and foods" counter batch "$SCRATCH/setup.batch"
wait_for 10 "the catalog view has the foods" sh -c '[ "$("$COUNTER_BIN" --json catalog | wc -l)" -eq 3 ]'
# Some deliveries on the board, one of them asking to cancel.
for i in 1 2 3; do
    counter --as customer:2 orders place customer=2 food=1 qty=$i >/dev/null ||
        fail "setup order $i"
done
wait_for 10 "the board has the setup orders" sh -c '[ "$("$COUNTER_BIN" --json deliveries list | wc -l)" -eq 3 ]'
assert_rc 0 "a cancellation request on the board" counter --as customer:2 orders cancel 3

screens=(cust boss team)
tui_start cust -- --role customer --as customer:1
tui_start boss -- --role manager
tui_start team -- --role delivery --as delivery:kim
tui_wait 10 "customer screen up" cust "김치찌개"
tui_wait 10 "manager screen up" boss "김치찌개"
tui_wait 10 "delivery screen up" team "CANCELLATION REQUESTS \(1\)"

keys=(a b c d e f g h i j k l m n o p r s t u v w x y z A B D E G H M N P R S T W X Y Z
    0 1 2 3 4 5 6 7 8 9 ' ' '/' '?' '+' '-' '.' ',' '*' '#' '!' '~' '"' "'"
    Enter Enter Enter Escape Escape Tab BTab BSpace BSpace DC IC Up Up Down Down Left Right
    Home End PPage NPage F1 F2 F5 F10 F12 C-a C-e C-k C-l C-u C-w C-d C-b C-f C-n C-p
    y y n n)
literal=(김 치 찌 개 é ü 日 '🍳' 'ｱ' "$(printf '%0.s가나다라마바사' {1..40})")
sent=0
batch=0
t0=$(now_ms)
while [ "$sent" -lt "$KEYS_TOTAL" ]; do
    target=${screens[$((RANDOM % 3))]}
    n=$((10 + RANDOM % 20))
    [ $((sent + n)) -le "$KEYS_TOTAL" ] || n=$((KEYS_TOTAL - sent))
    args=()
    for ((i = 0; i < n; i++)); do
        args+=("${keys[$((RANDOM % ${#keys[@]}))]}")
    done
    tui_keys "$target" "${args[@]}" || fail "send-keys to $target"
    # Now and then typed text (Korean, emoji) and a resize.
    if [ $((RANDOM % 4)) -eq 0 ]; then
        tui_type "$target" "${literal[$((RANDOM % ${#literal[@]}))]}"
        n=$((n + 1))
    fi
    if [ $((RANDOM % 10)) -eq 0 ]; then
        tm resize-window -t "=$target:" -x $((20 + RANDOM % 100)) -y $((5 + RANDOM % 35))
    fi
    if [ $((RANDOM % 15)) -eq 0 ]; then
        # Live changes while keys fly: an order and a stock change.
        counter --as customer:2 orders place customer=2 food=2 qty=1 >/dev/null 2>&1 &
        counter foods update 1 stock=$((100 + RANDOM % 400)) >/dev/null 2>&1 &
    fi
    sent=$((sent + n))
    batch=$((batch + 1))
    # Let the screens take the keys in (no fixed sleep: wait until tmux has
    # delivered them, i.e. the pane answers a capture).
    tui_cap "$target" >/dev/null
    for s in "${screens[@]}"; do
        tui_running "$s" || break 2
    done
done
wait
note "sent $sent keys in $batch batches in $(( $(now_ms) - t0 )) ms"

for s in "${screens[@]}"; do
    if tui_running "$s"; then
        ok "$s still runs after the random keys"
    else
        fail "$s ended during the random keys (exit status $(cat "$SCRATCH/$s.rc"))"
        show "its last screen" "$(tui_cap "$s")"
        show "its stderr" "$(cat "$SCRATCH/$s.err")"
    fi
done

# ---- no stuck screen ----------------------------------------------------------------------
for s in "${screens[@]}"; do
    tm resize-window -t "=$s:" -x 80 -y 24
    tui_running "$s" || continue
    for i in 1 2 3 4; do
        tui_keys "$s" Escape
        tui_cap "$s" >/dev/null
    done
    tui_keys "$s" '?'
    tui_wait 10 "$s answers keys: ? opens the help" "$s" "keys( \(greyed|[^a-z])"
    tui_keys "$s" Escape
    tui_keys "$s" R
    tui_wait 10 "$s: R shows the role menu" "$s" "Who is at the counter\?"
    tui_keys "$s" m
    tui_wait 10 "$s: m asks the manager's login" "$s" "manager login"
    tui_type "$s" admin
    tui_keys "$s" Enter
    tui_type "$s" "$(cat "$TEST_PW")"
    tui_keys "$s" Enter
    tui_wait 10 "$s: ... which opens the manager screen, live data shown" "$s" "\[Foods\].*online|김치찌개 +9,000"
done
assert_rc 0 "the backend still answers" counter status
tui_keys boss Escape
for s in "${screens[@]}"; do
    if tui_running "$s"; then
        tui_quit "$s"
    else
        tui_no_reports "$s"
    fi
done
finish
