#!/usr/bin/env bash
# saga_oversell: never oversell, whatever the concurrency (DESIGN 4.3). A food
# with stock 10, 50 concurrent placements of 1: exactly 10 succeed, 40 get
# insufficient_stock, the stock is 0 and the audit is OK. Twice: once from
# the load generator (50 clients, one placement each), once from 50
# `counter orders place` processes started together.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/saga_lib.sh"

[ -x "$LOADGEN_BIN" ] || die "$LOADGEN_BIN is missing: make ${BUILD##*/}/tests/loadgen"
backend_start || die "the backend does not start"
printf '%s\n' \
    "customers add name=lee phone=010 address=seoul age=29" \
    "foods add name=bagel stock=10 price=300" \
    "foods add name=waffle stock=10 price=500" >"$SCRATCH/seed.batch"
assert_rc 0 "lee; bagel (food 1) and waffle (food 2), 10 of each" counter batch "$SCRATCH/seed.batch"

# ---- 50 loadgen clients, one placement each, on bagel --------------------------------------
run "$LOADGEN_BIN" -c 50 -n 50 -d 60 -C 1 -F 1 -q 1 -t $((30000 * TIME_SCALE))
assert_eq "$RUN_RC" 0 "loadgen -c 50 -n 50 -F 1: exit 0"
lg=$RUN_OUT
note "loadgen: $lg"
assert_eq "$(jqr "$lg" .attempts)" 50 "loadgen made 50 placements"
assert_eq "$(jqr "$lg" .placed)" 10 "exactly 10 placements succeeded"
assert_json_eq "$(jq -c .rejects <<<"$lg")" '{"insufficient_stock":40}' "the other 40 got insufficient_stock"
wait_for 20 "every placement is finished" no_open_placements
assert_eq "$(stock_of 1)" 0 "bagel's stock is 0"
assert_eq "$(orders_json | jq -c '[length, (map(.qty) | add)]')" "[10,10]" "10 orders of 1 bagel"
wait_for 20 "the catalog view: bagel's stock is 0" view_stock_is 1 0
audit_ok "after 50 concurrent placements for 10 bagels"

# ---- 50 counter processes at once, on waffle -------------------------------------------------
# A generous client timeout: a slow answer must not turn into a retry.
pids=()
for i in $(seq 1 50); do
    COUNTER_CLIENT_TIMEOUT_MS=$((20000 * TIME_SCALE)) \
        "$COUNTER_BIN" --json orders place customer=1 food=2 qty=1 \
        >"$SCRATCH/p$i.out" 2>"$SCRATCH/p$i.err" &
    pids+=($!)
done
okn=0 stockn=0 other=()
for i in $(seq 1 50); do
    wait "${pids[$((i - 1))]}"
    rc=$?
    if [ "$rc" -eq 0 ]; then
        okn=$((okn + 1))
    elif [ "$rc" -eq 1 ] && grep -q insufficient_stock "$SCRATCH/p$i.err"; then
        stockn=$((stockn + 1))
    else
        other+=("process $i: exit $rc: $(cat "$SCRATCH/p$i.err")")
    fi
done
assert_eq "$okn" 10 "50 counter processes: exactly 10 placed"
assert_eq "$stockn" 40 "50 counter processes: 40 insufficient_stock (exit 1)"
assert_eq "${#other[@]}" 0 "no other outcome" || show "other outcomes" "$(printf '%s\n' "${other[@]}")"
assert_match "$(cat "$SCRATCH"/p*.err | grep -m1 insufficient_stock)" "only 0 of waffle left" \
    "the refusal says how many are left"
wait_for 20 "every placement is finished" no_open_placements
assert_eq "$(stock_of 2)" 0 "waffle's stock is 0"
assert_eq "$(orders_json | jq -c '[.[] | select(.foodId == 2)] | [length, (map(.qty) | add)]')" "[10,10]" \
    "10 orders of 1 waffle"
assert_eq "$(pays_json | jq '[.[] | select(.status == "paid")] | length')" 20 "20 payments in all, no more"
wait_for 20 "the catalog view: waffle's stock is 0" view_stock_is 2 0
assert_rc 0 "catalog shows both sold out" counter --json catalog
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(.sold_out)')" "[1,1]" "the catalog view marks both sold out"
audit_ok "at the end"
finish
