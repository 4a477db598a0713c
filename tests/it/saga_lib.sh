# shellcheck shell=bash
# tests/it/saga_lib.sh - helpers shared by the order-saga tests (saga_*.sh).
#
# Source it after tests/lib.sh:
#     . "$(dirname "$0")/../lib.sh"
#     . "$(dirname "$0")/saga_lib.sh"
# (It is not a test itself: tests/run.sh skips *_lib.sh, and this file exits
# at once when run on its own.)

if [ -z "${COUNTER_BIN:-}" ] || ! declare -F finish >/dev/null; then
    # Run on its own rather than sourced by a test: nothing to do.
    return 0 2>/dev/null || exit 0
fi

LOADGEN_BIN=${LOADGEN_BIN:-$BUILD/tests/loadgen}
export LOADGEN_BIN

# ---- counting and reading -----------------------------------------------------

# nlines TEXT: the number of non-empty lines.
nlines() { printf '%s\n' "$1" | grep -c . ; }

# jarr CMD...: run `counter --json CMD...` and print its JSON lines as one array
# (an empty array when it prints nothing); exit status of counter.
jarr() {
    local out rc
    out=$("$COUNTER_BIN" --json "$@" 2>"$SCRATCH/jarr.err")
    rc=$?
    printf '%s\n' "$out" | jq -s -c . 2>/dev/null || echo '"(not JSON)"'
    return "$rc"
}

orders_json() { jarr orders list; }
pays_json() { jarr pays list; }
deliveries_json() { jarr deliveries list "$@"; }
myorders_json() { jarr myorders "$@"; }
events_json() { jarr events --from-beginning; }

stock_of() { "$COUNTER_BIN" --json foods show "$1" | jq -r .stock; }
view_stock_of() { "$COUNTER_BIN" --json catalog | jq -r --argjson id "$1" 'select(.id == $id) | .stock'; }

# The order worker's breaker (one JSON object), from the worker's own health
# answer, so that a check of the breaker does not depend on how `counter
# status` renders it; status_breaker_json is what `counter status` shows.
breaker_json() {
    "$RAWSEND_BIN" -t $((5000 * TIME_SCALE)) order CTR2 health "h$RANDOM$RANDOM" - '{}' 2>/dev/null |
        sed -n 4p | jq -c '.breaker' 2>/dev/null
}
breaker_field() { breaker_json | jq -r ".$1"; }
status_breaker_json() { "$COUNTER_BIN" --json status 2>/dev/null | jq -c 'select(.service == "order") | .breaker'; }

# Placements that are neither done nor failed (read-only look at order.db).
open_placements() {
    db order "SELECT COUNT(*) FROM placements WHERE state IN ('started','reserved','compensate')"
}
no_open_placements() {
    local n
    n=$(open_placements) || return 1
    echo "unfinished placements: $n"
    [ "$n" = 0 ]
}

# ---- conditions for wait_for -------------------------------------------------------

# has_event TYPE ORDER_ID: `counter events --from-beginning` has it.
has_event() {
    local n
    n=$("$COUNTER_BIN" --json events --from-beginning 2>/dev/null |
        jq -s --arg t "$1" --argjson o "$2" 'map(select(.eventType == $t and .orderId == $o)) | length')
    echo "$1 events for order $2: ${n:-?}"
    [ "${n:-0}" -ge 1 ]
}

# delivery_status_is ORDER_ID STATUS
delivery_status_is() {
    local s
    s=$("$COUNTER_BIN" --json deliveries list order="$1" 2>&1 | jq -r .status 2>/dev/null | paste -sd' ' -)
    echo "delivery of order $1: '${s}'"
    [ "$s" = "$2" ]
}

# myorder_is ORDER_ID JQ_FILTER EXPECTED: my orders' row of the order,
# filtered, equals EXPECTED.
myorder_is() {
    local got
    got=$("$COUNTER_BIN" --json myorders 2>&1 | jq -c --argjson o "$1" "select(.orderId == \$o) | $2" 2>&1)
    echo "my orders, order $1, $2: $got"
    [ "$got" = "$3" ]
}

# order_is ORDER_ID JQ_FILTER EXPECTED: the same for `orders show`.
order_is() {
    local got
    got=$("$COUNTER_BIN" --json orders show "$1" 2>&1 | jq -c "$2" 2>&1)
    echo "orders show $1 | $2: $got"
    [ "$got" = "$3" ]
}

# count_is EXPECTED CMD...: CMD prints EXPECTED JSON lines.
count_is() {
    local want=$1 n
    shift
    n=$("$COUNTER_BIN" --json "$@" 2>&1 | grep -c '^{')
    echo "counter $*: $n lines (want $want)"
    [ "$n" = "$want" ]
}

stock_is() {   # FOOD_ID STOCK (the catalog itself)
    local s
    s=$(stock_of "$1")
    echo "foods: stock of food $1 is '$s' (want $2)"
    [ "$s" = "$2" ]
}

view_stock_is() {
    local s
    s=$(view_stock_of "$1")
    echo "catalog view: stock of food $1 is '$s' (want $2)"
    [ "$s" = "$2" ]
}

# ---- the backend -------------------------------------------------------------------

# restart_order [VAR=VALUE...]: stop the order worker and start it again
# with these variables in its environment (and only in its).
restart_order() {
    backend_stop order
    wait_for 10 "order worker stopped" is_stopped order
    run env "$@" "$COUNTER_BIN" backend start order
    if [ "$RUN_RC" -ne 0 ]; then
        fail "env $* counter backend start order: exit $RUN_RC"
        show "stderr" "$RUN_ERR"
        show_logs
        return 1
    fi
    ok "order worker restarted${1:+ with $*}"
}

# The seed's customers and foods (C3), through one batch file.
seed_shop() {
    printf '%s\n' \
        "customers add name=lee phone=010 address=seoul age=29" \
        "customers add name=kim phone=011 address=busan age=35" \
        "foods add name=pizza stock=100 price=1000" \
        "foods add name=meat stock=100 price=2000" >"$SCRATCH/seed.batch"
    assert_rc 0 "seed: customers lee, kim; foods pizza, meat" counter batch "$SCRATCH/seed.batch"
}

# ---- the audit ---------------------------------------------------------------------

# audit_ok DESC: `counter audit` settles, exits 0 and says OK.
audit_ok() {
    local desc=${1:-audit}
    run counter --json audit --wait $((30 * TIME_SCALE))
    local verdict
    verdict=$(printf '%s\n' "$RUN_OUT" | jq -r .audit 2>/dev/null)
    if [ "$RUN_RC" -eq 0 ] && [ "$verdict" = OK ]; then
        ok "$desc: counter audit OK [$(printf '%s' "$RUN_OUT" | jq -c '{orders, cancelled, deliveries, payments}')]"
    else
        fail "$desc: counter audit: exit $RUN_RC, verdict '${verdict}', expected exit 0 and OK"
        show "stdout" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
        return 1
    fi
}
