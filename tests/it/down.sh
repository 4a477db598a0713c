#!/usr/bin/env bash
# down: with no backend, commands say so clearly on stderr and exit 3 quickly;
# once the backend is started, `counter status` shows every worker alive and
# ready; after a stop it is unreachable again and no worker is left.
. "$(dirname "$0")/../lib.sh"

# timed_error RC REGEX MAX_MS DESC CMD...: assert_error, and it took < MAX_MS.
timed_error() {
    local rc=$1 re=$2 max=$3 desc=$4 t0 ms
    shift 4
    t0=$(now_ms)
    assert_error "$rc" "$re" "$desc" "$@"
    ms=$(( $(now_ms) - t0 ))
    if [ "$ms" -lt "$max" ]; then
        ok "... within $max ms ($ms ms)"
    else
        fail "$desc took $ms ms, expected less than $max ms"
    fi
}

for s in customer catalog view; do
    is_stopped "$s" || fail "$s runs before the test started it"
done

timed_error 3 "catalog service is unreachable.*backend start" 2000 \
    "foods list with no backend: exit 3, says the catalog is unreachable" counter foods list
timed_error 3 "customer service is unreachable" 2000 \
    "customers add with no backend: exit 3" counter customers add name=lee
timed_error 3 "view service is unreachable" 2000 "catalog with no backend: exit 3" counter catalog

# status answers for every worker, even when none is there.
run counter status
assert_eq "$RUN_RC" 3 "status with no backend: exit 3"
for s in customer catalog view; do
    assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r --arg s "$s" 'select(.service == $s) | "\(.alive) \(.ready)"')" \
        "false false" "status with no backend: $s is not alive and not ready"
done

printf 'foods list\n' >"$SCRATCH/down.batch"
assert_error 3 "unreachable" "batch with no backend: exit 3" counter batch "$SCRATCH/down.batch"

# ---- start ------------------------------------------------------------------
backend_start || die "the backend does not start"
for s in customer catalog view; do
    is_running "$s" && ok "$s holds its lock" || fail "$s does not hold run/$s.lock"
done
assert_rc 0 "status with the backend: exit 0" counter status
for s in customer catalog view; do
    row=$(printf '%s\n' "$RUN_OUT" | jq -c --arg s "$s" 'select(.service == $s)')
    assert_eq "$(jqr "$row" '"\(.alive) \(.ready)"')" "true true" "status: $s is alive and ready"
    assert_eq "$(jqr "$row" '.pid')" "$(lock_pid "$s")" "status: $s's pid is the one in its lock"
done
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s 'all(.alive and .ready)')" true \
    "status: every worker listed is alive and ready"
assert_rc 0 "status --table on a terminal-style table" counter --table status
assert_match "$RUN_OUT" "^service +alive +ready" "the table has a header line"
assert_rc 0 "foods list with the backend: exit 0" counter foods list

run counter backend start
assert_eq "$RUN_RC" 0 "a second backend start: exit 0"
assert_match "$RUN_OUT" "catalog +already running" "... and says the workers already run"

# ---- one worker down --------------------------------------------------------------
backend_stop catalog
is_stopped catalog && ok "catalog stopped" || fail "catalog still runs after backend stop catalog"
timed_error 3 "catalog service is unreachable" 2000 "foods list with catalog down: exit 3" \
    counter foods list
assert_rc 0 "customers list with only catalog down still works" counter customers list
run counter status
assert_eq "$RUN_RC" 3 "status with catalog down: exit 3"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r 'select(.service == "catalog") | .alive')" false \
    "status shows catalog not alive"
backend_start catalog
assert_rc 0 "foods list after catalog is back" counter foods list

# ---- stop ------------------------------------------------------------------------
t0=$(now_ms)
backend_stop
stop_ms=$(( $(now_ms) - t0 ))
assert_no_match "$RUN_OUT" "killed|did not stop" "every worker stops on SIGTERM (none had to be killed)"
if [ "$stop_ms" -lt $(( 5000 * TIME_SCALE )) ]; then
    ok "backend stop took $stop_ms ms"
else
    fail "backend stop took $stop_ms ms, expected less than $(( 5000 * TIME_SCALE )) ms"
fi
for s in customer catalog view; do
    is_stopped "$s" && ok "$s stopped" || fail "$s still runs after backend stop"
done
timed_error 3 "unreachable" 2000 "foods list after backend stop: exit 3" counter foods list

finish
