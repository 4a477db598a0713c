#!/usr/bin/env bash
# supervise: the local supervisor (`counterd supervise`, DESIGN section 6).
# A worker killed with kill -9 is back and ready within 2 s, the restart
# counted in status; a stalled worker (the stall fault: alive, not answering)
# is killed and restarted within 5 s and a request sent to it meanwhile is
# answered after the restart, applied once; `backend stop SERVICE` is not
# fought by the supervisor; a worker that keeps dying becomes "failed";
# `backend stop` leaves no process behind.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

sup_lock=$COUNTER_HOME/run/supervisor.lock
if [ -e "$sup_lock" ] && ! flock -n -s "$sup_lock" true 2>/dev/null; then
    ok "the supervisor runs (it holds run/supervisor.lock)"
else
    fail "no supervisor holds $sup_lock after backend start"
fi
sup_pid=$(tr -dc '0-9' <"$sup_lock")

# sup FIELD SERVICE: the supervisor's FIELD for SERVICE in counter --json status.
sup() { counter --json status 2>/dev/null | jq -r --arg s "$2" "select(.service == \$s) | .supervisor.$1"; }
# ready_new SERVICE OLDPID: SERVICE answers health, ready, from another pid.
ready_new() {
    local row
    row=$(counter --json status 2>/dev/null | jq -c --arg s "$1" 'select(.service == $s)')
    echo "$row"
    jq -e --argjson old "$2" '.ready == true and .pid != $old' <<<"$row" >/dev/null
}

# ready_within WHAT SERVICE OLDPID T0 LIMIT_MS: wait until SERVICE answers
# health, ready, from another pid than OLDPID; print the time since T0 (ms,
# the moment of WHAT) and check it is at most LIMIT_MS (x TIME_SCALE).
ready_within() {
    local what=$1 s=$2 old=$3 t0=$4 limit=$5 took
    while ! ready_new "$s" "$old" >/dev/null && [ $(( $(now_ms) - t0 )) -lt $(( 3 * limit * TIME_SCALE )) ]; do
        sleep 0.02
    done
    took=$(( $(now_ms) - t0 ))
    note "$what of $s (pid $old) -> restarted and ready in $took ms"
    if [ "$took" -le $(( limit * TIME_SCALE )) ]; then
        ok "$s is back and ready $took ms after the $what (at most $limit ms)"
    else
        fail "$s is not back and ready within $limit ms of the $what ($took ms)" "$(ready_new "$s" "$old")"
    fi
}

states=$(counter --json status | jq -r '.supervisor.state' | sort -u)
assert_eq "$states" running "status: the supervisor runs every worker"

# ---- kill -9: back and ready within 2 s, counted ----------------------------------
for s in catalog order auth; do
    pid=$(lock_pid "$s")
    t0=$(now_ms)
    kill -9 "$pid"
    ready_within "kill -9" "$s" "$pid" "$t0" 2000
    assert_eq "$(sup restarts "$s")" 1 "status counts $s's restart"
    assert_eq "$(sup last_exit "$s")" "signal 9" "status gives $s's last exit: signal 9"
done

# ---- a stalled worker is restarted; a request sent meanwhile is answered once ------
pid=$(lock_pid catalog)
assert_rc 0 "backend stall catalog 30" counter backend stall catalog 30
t0=$(now_ms)
# Two tries of 4 s each (x TIME_SCALE): the first waits in the stalled worker's queue.
COUNTER_CLIENT_TIMEOUT_MS=$((4000 * TIME_SCALE)) "$COUNTER_BIN" foods add name=stalled stock=5 price=100 \
    >"$SCRATCH/add.out" 2>"$SCRATCH/add.err" &
add=$!
ready_within stall catalog "$pid" "$t0" 5000
kill -0 "$pid" 2>/dev/null && fail "the stalled catalog (pid $pid) still runs" ||
    ok "the stalled catalog (pid $pid) was killed"
assert_match "$(cat "$COUNTER_HOME/log/supervisor.log")" "catalog \(pid $pid\) has not answered health" \
    "the supervisor's log says why it killed the catalog"
assert_eq "$(sup last_exit catalog)" "signal 9 (no answer to health: killed)" \
    "status gives the stalled catalog's last exit"
wait "$add"
assert_eq "$?" 0 "the foods add sent during the stall was answered" ||
    show "stderr" "$(cat "$SCRATCH/add.err")"
assert_eq "$(jq -r .name "$SCRATCH/add.out")" stalled "... with the new food"
assert_eq "$(counter --json foods list | jq -s '[.[] | select(.name == "stalled")] | length')" 1 \
    "the food added during the stall exists once"
assert_eq "$(db catalog "SELECT COUNT(*) FROM bus_outbox WHERE json LIKE '%\"stalled\"%'")" 1 \
    "... and its event was recorded once"

# ---- backend stop SERVICE: the supervisor does not start it again ------------------
assert_rc 0 "backend stop delivery" counter backend stop delivery
assert_match "$RUN_OUT" "delivery +stopped" "backend stop delivery says stopped"
sleep 1.5
is_stopped delivery && ok "delivery stays stopped (the supervisor does not fight the stop)" ||
    fail "delivery runs again after backend stop delivery"
assert_eq "$(sup state delivery)" stopped "status: delivery stopped"
run counter --table status
assert_match "$RUN_OUT" "delivery: down \(stopped\) since .*log: $COUNTER_HOME/log/delivery.log" \
    "the table says since when delivery is down and where its log is"
assert_rc 0 "backend start delivery" counter backend start delivery
assert_match "$RUN_OUT" "delivery +started" "backend start delivery says started"
assert_eq "$(sup state delivery)" running "status: delivery runs again"
assert_rc 0 "backend restart payment" counter backend restart payment
assert_eq "$(printf '%s\n' "$RUN_OUT" | tr -s ' ')" "$(printf 'payment stopped\npayment started')" \
    "backend restart payment: stopped, then started"

# ---- a worker that keeps dying becomes failed ----------------------------------------
pid=$(lock_pid view)
for i in 1 2 3 4 5; do
    wait_for 10 "view is ready (round $i)" ready_new view 0 || break
    pid=$(lock_pid view) && kill -9 "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.02; done
done
wait_for 5 "after 5 exits within 60 s the view is failed" \
    bash -c '"$COUNTER_BIN" --json status | jq -e "select(.service == \"view\") | .supervisor.state == \"failed\""'
sleep 1
is_stopped view && ok "a failed view is not restarted" || fail "the failed view was restarted"
run counter --table status
assert_match "$RUN_OUT" "view: down \(failed\) since .*last exit: signal 9, 4 restarts; log: " \
    "the table says the view failed, its last exit, restarts and log"
assert_rc 0 "backend start view (after it failed)" counter backend start view
assert_eq "$(sup state view)" running "backend start brings a failed service back"

# ---- backend restart: one worker at a time, the supervisor stays -----------------
assert_rc 0 "backend restart" counter backend restart
want=$(for s in $("$COUNTERD" --list); do printf '%s stopped\n%s started\n' "$s" "$s"; done)
assert_eq "$(printf '%s\n' "$RUN_OUT" | tr -s ' ')" "$want" \
    "backend restart stops and starts each worker in turn, in start order"
assert_eq "$(tr -dc '0-9' <"$sup_lock")" "$sup_pid" "the same supervisor runs after backend restart"

# ---- backend stop: nothing is left --------------------------------------------------------
pids="$sup_pid"
for s in $("$COUNTERD" --list); do
    p=$(lock_pid "$s") && pids="$pids $p"
done
assert_rc 0 "backend stop" counter backend stop
assert_match "$RUN_OUT" "supervisor +stopped" "backend stop stops the supervisor too"
# A process that exited may stay a zombie a moment, until its parent reaps it.
alive() { [ -e "/proc/$1" ] && ! grep -Eq '^[0-9]+ \(.*\) Z' "/proc/$1/stat" 2>/dev/null; }
none_left() {
    local p left=
    for p in $pids; do
        alive "$p" && left="$left $p"
    done
    echo "still running:${left:- none}"
    [ -z "$left" ]
}
wait_for 2 "no worker and no supervisor runs after backend stop (pids: $pids)" none_left
if flock -n -s "$sup_lock" true 2>/dev/null; then
    ok "run/supervisor.lock is free"
else
    fail "run/supervisor.lock is still held after backend stop"
fi

finish
