#!/usr/bin/env bash
# bench.sh - `make bench`: the breakfast counter's benchmark (DESIGN section 10).
#
#   BUILD=build [BENCH_SECONDS=30] [BENCH_RATE=1000] [BENCH_CATCHUP_ORDERS=5000] scripts/bench.sh
#
# In a fresh temporary COUNTER_HOME (removed at the end; the backend is
# stopped on any exit) with the delivery team on auto (200 ms a step):
#
#   1. 200 customers and 20 foods with a very large stock (`counter batch -`);
#   2. throughput: loadgen -c 64 -r 0 -d BENCH_SECONDS (placed/s, latency, rejects);
#   3. latency at BENCH_RATE/s offered for 10 s: placement p50/p99, then the
#      Ordered-to-my-orders latency (viewedMs - orderedMs of that run's orders);
#   4. catch-up: the view is stopped while BENCH_CATCHUP_ORDERS orders are placed,
#      then started; events it had to apply / seconds from its start to lag 0;
#   5. memory: VmRSS (and the peak, VmHWM) of every worker;
#   6. `counter audit --wait 30`.
#
# Prints a report, each figure next to its target, and ends with one line that
# starts with "bench:". A missed target is a measurement, not a failure: the
# exit status is nonzero only for a broken run (the backend does not start, a
# step cannot run, the audit does not say OK).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
COUNTER_BIN=$BUILD/counter
COUNTERD=$BUILD/counterd
LOADGEN=$BUILD/tests/loadgen
CATCHUP=$BUILD/tests/bench_catchup
BENCH_SECONDS=${BENCH_SECONDS:-30}
BENCH_RATE=${BENCH_RATE:-1000}
BENCH_CATCHUP_ORDERS=${BENCH_CATCHUP_ORDERS:-5000}
CLIENTS=64
CUSTOMERS=200
FOODS=20
STOCK=1000000000

# Targets (DESIGN section 10 / the issue).
T_PLACED=2000        # placed orders/s, sustained, 64 clients, auto-delivery on
T_PLACE_P99=10       # ms, placement p99 at 1,000/s offered
T_VIEW_P99=20        # ms, Ordered-to-my-orders p99 at 1,000/s offered
T_CATCHUP=20000      # events/s applied by the view catching up
T_RSS=32             # MB per worker

for bin in "$COUNTER_BIN" "$COUNTERD" "$LOADGEN" "$CATCHUP"; do
    [ -x "$bin" ] || { echo "bench.sh: $bin is missing; run make first" >&2; exit 2; }
done
for tool in jq awk flock; do
    command -v "$tool" >/dev/null || { echo "bench.sh: '$tool' is needed (apt-get install $tool)" >&2; exit 2; }
done
# The services, in start order, from their one list (proto/config.c).
SERVICE_LIST=$("$COUNTERD" --list) || { echo "bench.sh: $COUNTERD --list failed" >&2; exit 2; }
mapfile -t SERVICES <<<"$SERVICE_LIST"

export TZ=UTC LC_ALL=C
export COUNTERD
unset COUNTER_CALLER
BENCH_HOME=$(mktemp -d /tmp/counter-bench.XXXXXX)
export COUNTER_HOME=$BENCH_HOME
# The workers read these (proto/config.c: COUNTER_<KEY>).
export COUNTER_DELIVERY_AUTO=1 COUNTER_DELIVERY_AUTO_MS=200
# Fault injection allowed, as in the tests (issue 9); no run here injects one.
export COUNTER_FAULTS_ENABLED=1

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "bench.sh: FAILED: $*" >&2; exit 1; }

counter() { "$COUNTER_BIN" "$@"; }
# Lists of tens of thousands of rows take longer than the default 0.7 s.
counter_slow() { COUNTER_CLIENT_TIMEOUT_MS=60000 "$COUNTER_BIN" "$@"; }

# Stop every worker of the bench home (kill -9 what does not stop: only pids
# whose lock is held and whose program is counterd), then remove the home.
cleanup() {
    local rc=$? f pid
    trap - EXIT INT TERM
    if [ -n "${LOADGEN_PID:-}" ]; then
        kill "$LOADGEN_PID" 2>/dev/null || true
        wait "$LOADGEN_PID" 2>/dev/null || true
    fi
    if [ -d "$BENCH_HOME/run" ]; then
        timeout 30 "$COUNTER_BIN" backend stop >/dev/null 2>&1 || true
        for f in "$BENCH_HOME"/run/*.lock; do
            [ -e "$f" ] || continue
            flock -n -s "$f" true 2>/dev/null && continue
            pid=$(tr -dc '0-9' <"$f")
            [ -n "$pid" ] || continue
            case $(cat "/proc/$pid/comm" 2>/dev/null) in
            counterd*) kill -9 "$pid" 2>/dev/null || true ;;
            esac
        done
    fi
    if [ "$rc" -ne 0 ] && [ -d "$BENCH_HOME/log" ]; then
        echo "bench.sh: the workers' last log lines:" >&2
        tail -n 5 "$BENCH_HOME"/log/*.log >&2 2>/dev/null || true
    fi
    rm -rf "$BENCH_HOME"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

now_ms() { date +%s%3N; }

# `counter --json status` as one JSON array (workers that do not answer are
# rows with alive false).
status_json() { counter --json status 2>/dev/null | jq -s . || true; }

# behind: events committed by publishers that their subscribers have not
# stored yet (each subscription's stored position against the publisher's own
# last_seq, as `counter audit` settles), from `counter --json status` rows.
behind() {
    jq '(map({key: .service, value: (.last_seq // 0)}) | from_entries) as $last |
        [.[] | .subscriptions[]? | ($last[.publisher] // 0) - (.stored_seq // 0) | select(. > 0)] | add // 0'
}
# wait_settled SECONDS: every worker answers and every subscriber has stored
# everything its publishers committed.
wait_settled() {
    local deadline=$(( $(now_ms) + $1 * 1000 )) st
    while :; do
        st=$(status_json)
        if [ -n "$st" ] && [ "$(jq '[.[] | select(.alive == false)] | length' <<<"$st")" = 0 ] &&
            [ "$(behind <<<"$st")" = 0 ]; then
            return 0
        fi
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# Comparison helpers for the report: "ok" or "MISSED".
at_least() { awk -v v="$1" -v t="$2" 'BEGIN { print ((v + 0 >= t + 0) ? "ok" : "MISSED") }'; }
at_most() { awk -v v="$1" -v t="$2" 'BEGIN { print ((v + 0 <= t + 0) ? "ok" : "MISSED") }'; }
fmt() { awk -v v="$1" -v d="${2:-1}" 'BEGIN { printf "%.*f", d, v }'; }

# ---- 1. the shop ---------------------------------------------------------------
log "home $BENCH_HOME; starting the backend (delivery auto, 200 ms)"
counter backend start >/dev/null || die "the backend does not start (see the log lines above)"
wait_settled 15 || die "the backend is not healthy after start"
# The bench's manager: a real account and session (loadgen places orders with
# its token, as a clerk at the counter would).
printf 'bench-password-1\n' >"$BENCH_HOME/password"
counter setup login=bench --password-file "$BENCH_HOME/password" >/dev/null ||
    die "counter setup could not make the bench's manager"
COUNTER_TOKEN=$(counter login bench --print-token --password-file "$BENCH_HOME/password") ||
    die "cannot log in as the bench's manager"
export COUNTER_TOKEN
declare -A PID
while IFS=$'\t' read -r svc pid; do PID[$svc]=$pid; done < <(status_json | jq -r '.[] | [.service, .pid] | @tsv')
for s in "${SERVICES[@]}"; do
    [ -n "${PID[$s]:-}" ] || die "no pid for the $s worker"
done

log "adding $CUSTOMERS customers and $FOODS foods"
{
    for i in $(seq 1 "$CUSTOMERS"); do
        echo "customers add name=bench-$i phone=010-$i address=street-$i age=$((20 + i % 50))"
    done
    for i in $(seq 1 "$FOODS"); do
        echo "foods add name=dish-$i price=$((500 + i * 100)) stock=$STOCK"
    done
} | counter batch - >/dev/null || die "counter batch could not set up the shop"
wait_settled 30 || die "the view does not catch up with the setup"

# ---- CPU accounting: where the time of a run goes ---------------------------------
HZ=$(getconf CLK_TCK)
NCPU=$(nproc)
cpu_snapshot() {   # "svc=ticks ..." (user + system of each worker)
    local s
    for s in "${SERVICES[@]}"; do
        printf '%s=%s ' "$s" "$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/${PID[$s]}/stat" 2>/dev/null || echo 0)"
    done
}
machine_snapshot() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat; }

# cpu_of_times FILE: CPU seconds (user + system) of the reaped children in the
# output of `times` (which must run in this shell, not in a $(...) subshell).
cpu_of_times() {
    awk 'NR == 2 { for (i = 1; i <= 2; i++) { split($i, t, /[ms]/); c += t[1] * 60 + t[2] } print c }' "$1"
}
# run_loadgen OUT ARGS...: loadgen's JSON line in OUT, its CPU seconds in
# OUT.cpu. It runs in the background so that a signal stops the bench (and,
# through the trap, it) at once.
LOADGEN_PID=
run_loadgen() {
    local out=$1 rc=0
    shift
    times >"$out.times0"
    "$LOADGEN" "$@" >"$out" 2>"$out.err" &
    LOADGEN_PID=$!
    wait "$LOADGEN_PID" || rc=$?
    LOADGEN_PID=
    times >"$out.times1"
    awk -v a="$(cpu_of_times "$out.times0")" -v b="$(cpu_of_times "$out.times1")" 'BEGIN { print b - a }' >"$out.cpu"
    if [ "$rc" -ne 0 ] || [ ! -s "$out" ]; then
        cat "$out.err" >&2
        return 1
    fi
}

# loadgen_figures FILE PREFIX WHAT: log loadgen's JSON line in FILE (WHAT
# names the run) and set PREFIX_RATE (placed/s), PREFIX_PLACED, PREFIX_P50,
# PREFIX_P99, PREFIX_MAX (latencies, ms) and PREFIX_REJECTS ("reason=n,..."
# or "none") from it.
loadgen_figures() {
    local file=$1 p=$2 what=$3 json
    json=$(cat "$file")
    log "$what: $json"
    IFS=$'\t' read -r "${p}_RATE" "${p}_PLACED" "${p}_P50" "${p}_P99" "${p}_MAX" "${p}_REJECTS" < <(
        jq -r '[.placed_per_s, .placed, .latency_p50_ms, .latency_p99_ms, .latency_max_ms,
                (.rejects | to_entries | map("\(.key)=\(.value)") | join(",") | if . == "" then "none" else . end)]
               | map(tostring) | @tsv' <<<"$json") || die "cannot read loadgen's figures in $file"
}

# Deliveries the auto mode still has to move: each order has 4 delivery
# events (received, confirmed, shipped, delivered) and the bench cancels none.
delivery_backlog() {   # STATUS_JSON -> events still to come
    jq '([.[] | select(.service == "order") | .last_seq] | add // 0) as $o |
        ([.[] | select(.service == "delivery") | .last_seq] | add // 0) as $d | 4 * $o - $d'
}
# wait_delivered SECONDS: until every order is delivered and nothing lags.
wait_delivered() {
    local deadline=$(( $(now_ms) + $1 * 1000 )) st
    while :; do
        st=$(status_json)
        if [ -n "$st" ] && [ "$(jq '[.[] | select(.alive == false)] | length' <<<"$st")" = 0 ] &&
            [ "$(delivery_backlog <<<"$st")" -le 0 ] && [ "$(behind <<<"$st")" = 0 ]; then
            return 0
        fi
        [ "$(now_ms)" -lt "$deadline" ] || return 1
        sleep 0.2
    done
}

# ---- 2. throughput ---------------------------------------------------------------
log "throughput: loadgen -c $CLIENTS -r 0 -d $BENCH_SECONDS -C $CUSTOMERS -F $FOODS"
cpu0=$(cpu_snapshot); m0=$(machine_snapshot); t0=$(now_ms)
run_loadgen "$BENCH_HOME/tp.json" -c "$CLIENTS" -r 0 -d "$BENCH_SECONDS" -C "$CUSTOMERS" -F "$FOODS" ||
    die "loadgen (throughput) failed"
t1=$(now_ms); m1=$(machine_snapshot); cpu1=$(cpu_snapshot)
loadgen_figures "$BENCH_HOME/tp.json" TP throughput
# CPU of the run, in % of one core: each worker, all of them, loadgen, the
# whole machine (other programs included), and the workers' CPU per order.
read -r TP_CPU TP_WORKERS_PCT TP_MS_PER_ORDER < <(awk -v a="$cpu0" -v b="$cpu1" -v hz="$HZ" \
    -v secs="$(( t1 - t0 ))" -v placed="$TP_PLACED" 'BEGIN {
        secs /= 1000; n = split(a, x, " "); split(b, y, " "); line = ""; total = 0
        for (i = 1; i <= n; i++) {
            split(x[i], p, "="); split(y[i], q, "=")
            t = (q[2] - p[2]) / hz; total += t
            line = line sprintf("%s:%.0f%%,", p[1], 100 * t / secs)
        }
        sub(/,$/, "", line)
        printf "%s %.0f %.2f\n", line, 100 * total / secs, (placed > 0) ? 1000 * total / placed : 0
    }')
TP_LOADGEN_PCT=$(awk -v c="$(cat "$BENCH_HOME/tp.json.cpu")" -v secs="$(( t1 - t0 ))" 'BEGIN { printf "%.0f", 100000 * c / secs }')
TP_MACHINE_PCT=$(awk -v a="$m0" -v b="$m1" -v n="$NCPU" 'BEGIN {
    split(a, x, " "); split(b, y, " "); d = y[2] - x[2]; printf "%.0f", (d > 0) ? 100 * n * (y[1] - x[1]) / d : 0 }')
TP_OTHERS_PCT=$(( TP_MACHINE_PCT - TP_WORKERS_PCT - TP_LOADGEN_PCT ))
[ "$TP_OTHERS_PCT" -ge 0 ] || TP_OTHERS_PCT=0
TP_CEILING=$(awk -v ms="$TP_MS_PER_ORDER" -v n="$NCPU" 'BEGIN { printf "%.0f", (ms > 0) ? n * 1000 / ms : 0 }')
log "throughput CPU: workers $TP_WORKERS_PCT% ($TP_CPU), loadgen $TP_LOADGEN_PCT%, machine $TP_MACHINE_PCT% of $((NCPU * 100))%; $TP_MS_PER_ORDER ms of worker CPU per order"

# The auto mode's backlog: deliveries still to move after the run.
st=$(status_json)
DL_BACKLOG=$(delivery_backlog <<<"$st")
DL_SEQ0=$(jq '[.[] | select(.service == "delivery") | .last_seq] | add // 0' <<<"$st")
d0=$(now_ms)
log "waiting for the auto mode to deliver every order ($DL_BACKLOG delivery events to come) and the subscriptions to settle"
if wait_delivered 300; then
    DL_SECONDS=$(awk -v a="$d0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
else
    DL_SECONDS=timeout
    log "warning: the deliveries did not all complete within 300 s after the throughput run"
fi
DL_SEQ1=$(status_json | jq '[.[] | select(.service == "delivery") | .last_seq] | add // 0')
DL_RATE=$(awk -v n="$(( DL_SEQ1 - DL_SEQ0 ))" -v a="$d0" -v b="$(now_ms)" 'BEGIN { printf "%.0f", (b > a) ? 1000 * n / (b - a) : 0 }')

# ---- 3. latency at a fixed offered rate ------------------------------------------------
log "latency: loadgen -c $CLIENTS -r $BENCH_RATE -d 10"
run_loadgen "$BENCH_HOME/lt.json" -c "$CLIENTS" -r "$BENCH_RATE" -d 10 -C "$CUSTOMERS" -F "$FOODS" ||
    die "loadgen (latency) failed"
loadgen_figures "$BENCH_HOME/lt.json" LT latency
wait_delivered 120 || log "warning: the backend did not settle within 120 s after the latency run"
# The orders of that run are the newest LT_PLACED rows of my orders (order
# ids grow, nothing else placed orders, and the view has caught up).
VIEWLAT=$(counter_slow --json myorders | jq -s --argjson n "$LT_PLACED" '
    sort_by(-.orderId) | .[:$n] | map(.viewedMs - .orderedMs) | sort as $d | ($d | length) as $len |
    def pct(p): if $len == 0 then 0 else $d[((($len - 1) * p) | floor)] end;
    {n: $len, p50: pct(0.5), p99: pct(0.99), max: (if $len == 0 then 0 else $d[-1] end)}') ||
    die "cannot read my orders"
VL_N=$(jq '.n' <<<"$VIEWLAT")
VL_P50=$(jq '.p50' <<<"$VIEWLAT")
VL_P99=$(jq '.p99' <<<"$VIEWLAT")
VL_MAX=$(jq '.max' <<<"$VIEWLAT")
log "Ordered-to-my-orders: $VIEWLAT"
[ "$VL_N" = "$LT_PLACED" ] || log "warning: my orders has $VL_N of the $LT_PLACED orders of the latency run"

# Saturated below the offered rate? Then the latencies above are mostly
# queueing; one more run, at half the measured throughput, shows (for
# information) the latency of a backend that keeps up.
LOW_RATE=
if awk -v r="$LT_RATE" -v o="$BENCH_RATE" 'BEGIN { exit !(r < 0.95 * o) }'; then
    LOW_RATE=$(awk -v r="$TP_RATE" 'BEGIN { x = int(r / 2 / 50) * 50; print (x < 50) ? 50 : x }')
    log "latency: only $LT_RATE/s of $BENCH_RATE/s offered were placed; informational run at $LOW_RATE/s"
    run_loadgen "$BENCH_HOME/low.json" -c "$CLIENTS" -r "$LOW_RATE" -d 10 -C "$CUSTOMERS" -F "$FOODS" ||
        die "loadgen (latency at $LOW_RATE/s) failed"
    loadgen_figures "$BENCH_HOME/low.json" LOW_RUN "latency at $LOW_RATE/s"
    wait_delivered 120 || log "warning: the backend did not settle within 120 s after the run at $LOW_RATE/s"
fi

# ---- 4. catch-up ---------------------------------------------------------------
# Events of the view's publishers; the view's position at stop is read from
# its database (exact), else from its last health.
PUBS='["catalog","order","payment","delivery"]'
pub_sum() { jq --argjson p "$PUBS" '[.[] | select(.service as $s | $p | index($s)) | .last_seq] | add // 0'; }
view_applied() { jq '[.[] | select(.service == "view") | .subscriptions[]?.applied] | add // 0'; }
wait_settled 60 || log "warning: not settled before the catch-up run"
st=$(status_json)
VIEW_APPLIED0=$(view_applied <<<"$st")
log "catch-up: stopping the view (applied $VIEW_APPLIED0 events)"
counter backend stop view >/dev/null || die "cannot stop the view"
if command -v sqlite3 >/dev/null; then
    VIEW_APPLIED0=$(sqlite3 -readonly -batch -noheader -cmd '.timeout 5000' \
        "$BENCH_HOME/data/view.db" 'SELECT COALESCE(SUM(seq), 0) FROM bus_applied') ||
        die "cannot read the view's positions"
fi
log "catch-up: loadgen -n $BENCH_CATCHUP_ORDERS while the view is down"
run_loadgen "$BENCH_HOME/cu.json" -c "$CLIENTS" -r 0 -d 600 -n "$BENCH_CATCHUP_ORDERS" -C "$CUSTOMERS" -F "$FOODS" ||
    die "loadgen (catch-up) failed"
CU=$(cat "$BENCH_HOME/cu.json")
log "catch-up: $CU"
st=$(status_json)
PUB_SUM=$(pub_sum <<<"$st")
CU_EVENTS=$(( PUB_SUM - VIEW_APPLIED0 ))
log "catch-up: the publishers are at $PUB_SUM, the view at $VIEW_APPLIED0: $CU_EVENTS events to apply; starting the view"
c0=$(now_ms)
"$COUNTER_BIN" backend start view >/dev/null &
start_pid=$!
# Polls the view's health every 5 ms from now on: when its applied positions
# reach what the publishers had, and when its lag is 0.
CW=$("$CATCHUP" -i 5 -T 300 view "$PUB_SUM") || die "the view did not catch up within 300 s: ${CW:-}"
wait "$start_pid" || die "the view does not start again"
PID[view]=$(status_json | jq -r '.[] | select(.service == "view") | .pid')
log "catch-up: $CW"
CU_DONE=$(jq '.target_ms' <<<"$CW")
CU_LAG0=$(jq '.lag0_ms' <<<"$CW")
CU_FIRST=$(jq '.first_answer_ms' <<<"$CW")
CU_SECONDS=$(awk -v a="$c0" -v b="$CU_DONE" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
CU_LAG0_SECONDS=$(awk -v a="$c0" -v b="$CU_LAG0" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
CU_FIRST_SECONDS=$(awk -v a="$c0" -v b="$CU_FIRST" 'BEGIN { printf "%.3f", (b - a) / 1000 }')
CU_RATE=$(awk -v n="$CU_EVENTS" -v s="$CU_SECONDS" 'BEGIN { printf "%.0f", (s > 0) ? n / s : 0 }')
log "catch-up: $CU_EVENTS events in $CU_SECONDS s ($CU_RATE events/s; first answer after $CU_FIRST_SECONDS s, lag 0 after $CU_LAG0_SECONDS s)"

# ---- 5. memory ---------------------------------------------------------------
declare -A RSS HWM
RSS_MAX=0
RSS_LINE=
for s in "${SERVICES[@]}"; do
    pid=${PID[$s]}
    RSS[$s]=$(awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    HWM[$s]=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$pid/status" 2>/dev/null || echo 0)
    RSS_MAX=$(awk -v a="$RSS_MAX" -v b="${RSS[$s]}" 'BEGIN { print ((b + 0 > a + 0) ? b : a) }')
    RSS_LINE+="$s=${RSS[$s]} "
done

# ---- 6. audit ---------------------------------------------------------------
log "audit: counter audit --wait 30"
a0=$(now_ms)
AUDIT_RC=0
AUDIT=$(counter_slow --json audit --wait 30) || AUDIT_RC=$?
AUDIT_SECONDS=$(awk -v a="$a0" -v b="$(now_ms)" 'BEGIN { printf "%.1f", (b - a) / 1000 }')
AUDIT_VERDICT=none
if [ -n "${AUDIT:-}" ]; then
    AUDIT_VERDICT=$(jq -r '.audit // "none"' <<<"$AUDIT" 2>/dev/null | tail -n 1) || AUDIT_VERDICT=none
fi
[ -n "$AUDIT_VERDICT" ] || AUDIT_VERDICT=none
log "audit ($AUDIT_SECONDS s, exit $AUDIT_RC): ${AUDIT:-no output}"

# ---- 7. the report ---------------------------------------------------------------
mark_rss=$(at_most "$RSS_MAX" "$T_RSS")
LOW_LINES=
if [ -n "$LOW_RATE" ]; then
    LOW_LINES="  note: saturated ($(fmt "$LT_RATE")/s placed of $BENCH_RATE/s offered): the placement latency above is mostly queueing"$'\n'
    LOW_LINES+="  at $LOW_RATE/s offered (informational): $(fmt "$LOW_RUN_RATE") placed/s, placement p50 $(fmt "$LOW_RUN_P50" 2) ms, p99 $(fmt "$LOW_RUN_P99" 2) ms"$'\n'
fi
cat <<REPORT

== the breakfast counter: benchmark ($(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); auto-delivery 200 ms)
throughput (loadgen -c $CLIENTS -r 0 -d $BENCH_SECONDS)
  placed orders/s        $(fmt "$TP_RATE")   target >= $T_PLACED   $(at_least "$TP_RATE" "$T_PLACED")
  placed                 $TP_PLACED
  latency p50/p99/max    $(fmt "$TP_P50" 2) / $(fmt "$TP_P99" 2) / $(fmt "$TP_MAX" 2) ms
  rejects                $TP_REJECTS
  CPU (% of one core)    workers $TP_WORKERS_PCT ($TP_CPU), loadgen $TP_LOADGEN_PCT, other programs $TP_OTHERS_PCT; machine $TP_MACHINE_PCT of $((NCPU * 100))
  worker CPU per order   $TP_MS_PER_ORDER ms  => at most ~$TP_CEILING orders/s on $NCPU cores with nothing else running
  auto-delivery backlog  $DL_BACKLOG events at the end, delivered in $DL_SECONDS s ($DL_RATE delivery events/s)
latency at $BENCH_RATE/s offered (loadgen -c $CLIENTS -r $BENCH_RATE -d 10): $(fmt "$LT_RATE") placed/s, rejects $LT_REJECTS
  placement p50          $(fmt "$LT_P50" 2) ms
  placement p99          $(fmt "$LT_P99" 2) ms   target <= $T_PLACE_P99 ms   $(at_most "$LT_P99" "$T_PLACE_P99")
  Ordered->my orders p50 $VL_P50 ms   (over $VL_N orders)
  Ordered->my orders p99 $VL_P99 ms   target <= $T_VIEW_P99 ms   $(at_most "$VL_P99" "$T_VIEW_P99")   (max $VL_MAX ms)
${LOW_LINES}catch-up (view down during $BENCH_CATCHUP_ORDERS orders)
  events applied         $CU_EVENTS in $CU_SECONDS s from the start (first health answer after $CU_FIRST_SECONDS s, lag 0 after $CU_LAG0_SECONDS s)
  events/s               $CU_RATE   target >= $T_CATCHUP   $(at_least "$CU_RATE" "$T_CATCHUP")
memory (VmRSS MB, peak VmHWM MB)   target <= $T_RSS MB each   $mark_rss
$(for s in "${SERVICES[@]}"; do printf '  %-10s %6s  (peak %s)\n' "$s" "${RSS[$s]}" "${HWM[$s]}"; done)
audit (counter audit --wait 30, $AUDIT_SECONDS s)
  verdict                $AUDIT_VERDICT   target OK   $([ "$AUDIT_VERDICT" = OK ] && echo ok || echo MISSED)
REPORT
SUMMARY="bench: placed_per_s=$(fmt "$TP_RATE") p50_ms=$(fmt "$TP_P50" 2) p99_ms=$(fmt "$TP_P99" 2)"
SUMMARY+=" max_ms=$(fmt "$TP_MAX" 2) rejects=$TP_REJECTS worker_cpu_ms_per_order=$TP_MS_PER_ORDER"
SUMMARY+=" | at_${BENCH_RATE}/s: placed_per_s=$(fmt "$LT_RATE") place_p50_ms=$(fmt "$LT_P50" 2)"
SUMMARY+=" place_p99_ms=$(fmt "$LT_P99" 2) view_p50_ms=$VL_P50 view_p99_ms=$VL_P99"
if [ -n "$LOW_RATE" ]; then
    SUMMARY+=" | at_${LOW_RATE}/s: place_p50_ms=$(fmt "$LOW_RUN_P50" 2) place_p99_ms=$(fmt "$LOW_RUN_P99" 2)"
fi
SUMMARY+=" | catchup_events_per_s=$CU_RATE ($CU_EVENTS in ${CU_SECONDS}s)"
SUMMARY+=" | rss_mb: ${RSS_LINE% } | audit=$AUDIT_VERDICT"
echo "$SUMMARY"

if [ "$AUDIT_VERDICT" != OK ]; then
    echo "bench.sh: the audit did not say OK (exit $AUDIT_RC): the run is broken" >&2
    exit 1
fi
exit 0
