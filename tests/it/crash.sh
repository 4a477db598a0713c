#!/usr/bin/env bash
# crash: kill -9 the catalog worker in the middle of a burst of 1,000
# acknowledged updates, restart it: every acknowledged update is there, each
# exactly once as a FoodUpdated event, the events are gap-free, and the view
# agrees with the catalog after catching up.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"
assert_rc 0 "add pizza" counter foods add name=pizza stock=100 price=0 || die "cannot add a food"
assert_eq "$(jqr "$RUN_OUT" .id)" 1 "pizza is food 1"

for n in $(seq 1 1000); do
    echo "foods update 1 price=$n"
done >"$SCRATCH/burst.batch"

# Each acknowledged update prints the food with its new price on stdout.
"$COUNTER_BIN" batch "$SCRATCH/burst.batch" --keep-going >"$SCRATCH/acks.json" 2>"$SCRATCH/burst.err" &
burst=$!
acked() { [ "$(wc -l <"$SCRATCH/acks.json")" -ge "$1" ]; }
wait_for 30 "300 updates acknowledged" acked 300
catalog_pid=$(lock_pid catalog)
kill9 catalog
acks_at_kill=$(wc -l <"$SCRATCH/acks.json")
if kill -0 "$burst" 2>/dev/null; then
    ok "catalog (pid $catalog_pid) killed in the middle of the burst, after $acks_at_kill acks"
else
    fail "the burst was over before the kill: the test did not test a kill mid-burst"
fi
backend_start catalog
wait "$burst"
burst_rc=$?
failed_lines=$(grep -c 'failed (exit' "$SCRATCH/burst.err")
note "burst exit status $burst_rc; $(wc -l <"$SCRATCH/acks.json") acknowledged, $failed_lines failed"
if [ "$failed_lines" -gt 0 ]; then
    show "failures of the burst (unacknowledged: may or may not be applied)" "$(cat "$SCRATCH/burst.err")"
fi
[ "$(wc -l <"$SCRATCH/acks.json")" -gt "$acks_at_kill" ] &&
    ok "updates were acknowledged again after the restart" ||
    fail "no update was acknowledged after the restart"

jq -r 'select(.id == 1) | .price' "$SCRATCH/acks.json" >"$SCRATCH/acked.txt"
assert_eq "$(wc -l <"$SCRATCH/acked.txt")" "$(wc -l <"$SCRATCH/acks.json")" \
    "every acknowledgement is a JSON line of food 1"
if sort -n -c "$SCRATCH/acked.txt" 2>/dev/null && [ -z "$(uniq -d "$SCRATCH/acked.txt")" ]; then
    ok "acknowledgements came in order, each once"
else
    fail "acknowledgements out of order or repeated"
fi
last_acked=$(tail -n 1 "$SCRATCH/acked.txt")

# ---- the catalog kept every acknowledged change ------------------------------------
final=$(counter foods show 1 | jq -r .price)
if [ -n "$final" ] && [ -n "$last_acked" ] && [ "$last_acked" -le "$final" ]; then
    ok "the last acknowledged price ($last_acked) <= the final price ($final)"
else
    fail "the final price '$final' is below the last acknowledged price '$last_acked'"
fi

# check_events SOURCE FILE: FILE holds every catalog event as a JSON line.
check_events() {
    local src=$1 file=$2
    local n
    n=$(jq -s 'length' "$file")
    assert_eq "$(jq -s -c '[.[].seq] == [range(1; length + 1)]' "$file")" true \
        "$src: catalog seqs are 1..$n, gap-free and in order"
    assert_eq "$(jq -s '[.[].eventId] | length == (unique | length)' "$file")" true \
        "$src: every eventId is unique"
    jq -r 'select(.eventType == "FoodUpdated" and .foodId == 1) | .price' "$file" >"$SCRATCH/updated.txt"
    local dup missing
    dup=$(sort -n "$SCRATCH/updated.txt" | uniq -d | head -n 10 | paste -sd' ' -)
    assert_eq "$dup" "" "$src: no price has two FoodUpdated events"
    missing=$(comm -23 <(sort "$SCRATCH/acked.txt") <(sort -u "$SCRATCH/updated.txt") | head -n 10 | paste -sd' ' -)
    assert_eq "$missing" "" "$src: every acknowledged price has its FoodUpdated event"
    if sort -n -c "$SCRATCH/updated.txt" 2>/dev/null; then
        ok "$src: FoodUpdated events are in the order of the updates"
    else
        fail "$src: FoodUpdated events out of order"
    fi
    assert_eq "$(tail -n 1 "$SCRATCH/updated.txt")" "$final" \
        "$src: the last FoodUpdated event has the stored price (no change without its event)"
}

# From the outbox itself (read-only), so the guarantees are checked even if
# `counter events` cannot show them.
db catalog 'SELECT json FROM bus_outbox ORDER BY seq' >"$SCRATCH/outbox.json"
check_events "outbox" "$SCRATCH/outbox.json"

# And as a user sees them.
run counter events --from-beginning
assert_eq "$RUN_RC" 0 "counter events --from-beginning after the crash: exit 0"
[ "$RUN_RC" -eq 0 ] || show "stderr" "$RUN_ERR"
printf '%s\n' "$RUN_OUT" | jq -c 'select(.publisher == "catalog")' >"$SCRATCH/events.json" 2>/dev/null
if assert_eq "$(wc -l <"$SCRATCH/events.json")" "$(wc -l <"$SCRATCH/outbox.json")" \
    "counter events shows every catalog event of the outbox"; then
    check_events "counter events" "$SCRATCH/events.json"
fi

wait_for 20 "the view agrees with the catalog after catch-up" view_caught_up

finish
