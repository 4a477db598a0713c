#!/usr/bin/env bash
# catchup: the catalog view catches up with everything it missed: after being
# stopped during 500 catalog changes, and after a kill -9 in the middle of a
# burst of changes. Afterwards the view equals the catalog (ids, names,
# prices, stocks) and every catalog event was applied exactly once.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

# gen_changes N FIRST_NEW_ID ALIVE_IDS SEED: N catalog changes (adds, updates,
# deletes) that all succeed, given the foods alive now and the next new id.
gen_changes() {
    awk -v n="$1" -v next_id="$2" -v alive="$3" -v seed="$4" 'BEGIN {
        srand(seed)
        na = split(alive, a, ",")
        for (i = 1; i <= n; i++) {
            r = i % 10
            if (r == 0 || r == 5 || na < 5) {
                printf "foods add name=food-%d-%d stock=%d price=%d\n", seed, i, i % 50, 100 + i
                a[++na] = next_id++
            } else if (r == 3) {
                k = 1 + int(rand() * na)
                printf "foods delete %d\n", a[k]
                a[k] = a[na--]
            } else if (r == 7) {
                k = 1 + int(rand() * na)
                printf "foods update %d \"name=dish %d %d\" stock=%d\n", a[k], seed, i, (i * 7) % 40
            } else {
                k = 1 + int(rand() * na)
                printf "foods update %d price=%d stock=%d\n", a[k], (i * 37) % 5000, (i * 3) % 30
            }
        }
        s = ""
        for (k = 1; k <= na; k++) s = s (k > 1 ? "," : "") a[k]
        print s > "/dev/stderr"
    }'
}
alive_ids() { counter foods list | jq -r .id | paste -sd, -; }
next_id() { echo $(( $(db catalog 'SELECT COALESCE(MAX(id), 0) FROM foods') + 1 )); }

view_lag_zero() {   # the view's lag as `counter status` shows it is 0
    local lag
    lag=$(counter status | jq -r 'select(.service == "view") | .lag')
    echo "counter status: the view's lag is $lag"
    [ "$lag" = 0 ]
}

# ---- a start: 20 foods ------------------------------------------------------------
for i in $(seq 1 20); do
    echo "foods add name=start-$i stock=$((i * 5)) price=$((i * 100))"
done >"$SCRATCH/start.batch"
assert_rc 0 "20 foods" counter batch "$SCRATCH/start.batch" || die "cannot add foods"
wait_for 10 "the view has the 20 foods" view_caught_up

# ---- 1. the view is down during 500 changes --------------------------------------------
gen_changes 500 "$(next_id)" "$(alive_ids)" 1 >"$SCRATCH/changes1.batch" 2>/dev/null
assert_eq "$(wc -l <"$SCRATCH/changes1.batch")" 500 "500 catalog changes generated"
backend_stop view
is_stopped view && ok "view stopped" || fail "view still runs"
seq0=$(catalog_last_seq)
t0=$(now_ms)
assert_rc 0 "500 catalog changes while the view is down" counter batch "$SCRATCH/changes1.batch"
note "500 changes took $(( $(now_ms) - t0 )) ms; catalog events $seq0 -> $(catalog_last_seq)"
if [ "$(( $(catalog_last_seq) - seq0 ))" -ge 500 ]; then
    ok "at least 500 new catalog events"
else
    fail "only $(( $(catalog_last_seq) - seq0 )) new catalog events for 500 changes"
fi
assert_eq "$(view_position)" "$seq0 $seq0" "the stopped view applied nothing meanwhile"
backend_start view
wait_for 20 "after its restart the view caught up with 500 changes" view_caught_up
wait_for 5 "counter status shows the view's lag as 0" view_lag_zero

# ---- 2. kill -9 of the view in the middle of a burst ---------------------------------
gen_changes 600 "$(next_id)" "$(alive_ids)" 2 >"$SCRATCH/changes2.batch" 2>/dev/null
seq0=$(catalog_last_seq)
"$COUNTER_BIN" batch "$SCRATCH/changes2.batch" >"$SCRATCH/burst.out" 2>"$SCRATCH/burst.err" &
burst=$!
advanced() { [ "$(catalog_last_seq)" -ge $(( seq0 + $1 )) ]; }
wait_for 20 "the burst is under way (100 events)" advanced 100
view_pid=$(lock_pid view)
kill9 view
if kill -0 "$burst" 2>/dev/null; then
    ok "the view was killed in the middle of the burst (at catalog seq $(catalog_last_seq))"
else
    fail "the burst was over before the kill: the test did not test a kill mid-burst"
fi
backend_start view
new_view_pid=$(lock_pid view)
pid_problems=()
[[ $view_pid =~ ^[1-9][0-9]*$ ]] || pid_problems+=("the killed view's pid '$view_pid' is not a pid")
[[ $new_view_pid =~ ^[1-9][0-9]*$ ]] || pid_problems+=("the new view's pid '$new_view_pid' is not a pid")
[ "$new_view_pid" != "$view_pid" ] || pid_problems+=("the same pid before and after: the old view still runs")
kill -0 "$new_view_pid" 2>/dev/null || pid_problems+=("no process $new_view_pid")
if [ ${#pid_problems[@]} -eq 0 ]; then
    ok "a new view worker runs (pid $view_pid killed, pid $new_view_pid alive)"
else
    fail "a new view worker runs" "${pid_problems[@]}"
fi
note "the view restarted at catalog seq $(catalog_last_seq)"
wait "$burst"
assert_eq "$?" 0 "the burst of 600 changes succeeded"
[ -s "$SCRATCH/burst.err" ] && show "burst stderr" "$(cat "$SCRATCH/burst.err")"
note "catalog events $seq0 -> $(catalog_last_seq)"
wait_for 20 "after kill -9 and restart the view caught up with the burst" view_caught_up
wait_for 5 "counter status shows the view's lag as 0" view_lag_zero

# The view's rows carry the sold-out flag of their stock.
assert_eq "$(counter catalog | jq -s 'all((.stock == 0) == (.sold_out == 1))')" true \
    "sold_out is set exactly for the foods with stock 0"

finish
