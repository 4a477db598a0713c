#!/usr/bin/env bash
# ready: a worker is ready (health "ready": true) only once it caught up with
# every publisher it follows; `counter backend start` waits for that. A
# publisher that is down does not keep it unready for ever: after
# SERVICE.ready_timeout_ms without a word from it, the worker counts it as
# caught up and says so in health's ready_note; when it comes back, the
# worker catches up as ever.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"
assert_eq "$(counter --json status | jq -r .ready | sort -u)" true \
    "after backend start every worker is ready"
assert_eq "$(counter --json status | jq -r '.ready_note // empty')" "" \
    "... with no ready_note (every publisher answered)"

for i in $(seq 1 50); do
    echo "foods add name=r-$i stock=1 price=$((100 + i))"
done >"$SCRATCH/foods.batch"
backend_stop view
assert_rc 0 "50 foods while the view is down" counter batch "$SCRATCH/foods.batch"
backend_stop catalog

# The view starts while the catalog is down: not ready for 3 s, then ready
# with a note; backend start waits for it.
# The view's health straight from it (counter status would first wait for
# the catalog that is down).
view_health() { "$RAWSEND_BIN" -t 500 view CTR2 health "r-$RANDOM" - '{}' | sed -n 4p; }
view_alive() { [ "$(view_health | jq -r .alive)" = true ]; }
t0=$(now_ms)
COUNTER_VIEW_READY_TIMEOUT_MS=3000 "$COUNTER_BIN" backend start view \
    >"$SCRATCH/start.out" 2>"$SCRATCH/start.err" &
starter=$!
wait_for 5 "the view answers health" view_alive
# The others answer within a heartbeat (0.5 s); the catalog does not.
only_catalog_missing() {
    view_health | jq -e '.ready_note == "waiting for catalog (up to 3000 ms)"'
}
wait_for 2 "ready_note: waiting for catalog (up to 3000 ms)" only_catalog_missing
assert_eq "$(jqr "$(view_health)" .ready)" false "health before the timeout: ready false"
wait "$starter"
rc=$?
took=$(( $(now_ms) - t0 ))
assert_eq "$rc" 0 "backend start view: exit 0 (stderr: $(cat "$SCRATCH/start.err"))"
[ "$took" -ge 2900 ] && ok "backend start view waited for ready ($took ms, timeout 3000)" ||
    fail "backend start view returned after $took ms, before the view could be ready (3000 ms)"
h=$(view_health)
assert_eq "$(jqr "$h" .ready)" true "health after the timeout: ready true"
assert_match "$(jqr "$h" .ready_note)" "^no answer from catalog within 3000 ms: counted as caught up$" \
    "ready_note names the publisher given up on"
assert_match "$(cat "$COUNTER_HOME/log/view.log")" "info: ready on .*no answer from catalog" \
    "the view's log says it is ready, and without whom"

# The catalog returns: the view catches up; it stays ready.
assert_rc 0 "the catalog comes back" counter backend start catalog
wait_for 20 "the view caught up with the catalog" view_caught_up
assert_eq "$(jqr "$(view_health)" .ready)" true "the view is still ready"

# A publisher that answers: the view is ready only after applying what it
# had (the position at ready is the catalog's last sequence).
backend_stop view
assert_rc 0 "10 more foods while the view is down" counter batch <(head -10 "$SCRATCH/foods.batch" | sed 's/name=r-/name=s-/')
seq0=$(catalog_last_seq)
assert_rc 0 "backend start view (catalog up)" counter backend start view
assert_eq "$(db view "SELECT seq FROM bus_applied WHERE publisher = 'catalog'")" "$seq0" \
    "when backend start returns, the view applied every catalog event ($seq0)"
assert_eq "$(jqr "$(view_health)" '.ready_note // ""')" "" "no ready_note"
finish
