# shellcheck shell=bash
# tests/lib.sh - helpers for the integration tests (tests/it/*.sh).
#
# Source it first thing:   . "$(dirname "$0")/../lib.sh"
#
# Every test runs in its own shop: tests/run.sh exports TEST_HOME (a fresh
# mktemp -d) and COUNTER_HOME=$TEST_HOME. Run on its own, a test makes its own
# home under /tmp and never touches the caller's $COUNTER_HOME. Whatever the
# test started is stopped when it exits, however it exits (trap below).
#
# Checks are soft: `fail` records a failure and the test goes on, so that one
# run shows every broken behaviour; `finish` ends the test with the verdict.
# Every failure prints what it got and what it expected. A test passes only if
# it made at least one check and ended through `finish`.
#
# Variables:  COUNTER_BIN COUNTERD RAWSEND_BIN BUILD COUNTER_HOME SCRATCH
#             TIME_SCALE (timeouts are multiplied by it: 3 under ASan)
#             SANITIZER_BUILD (1 when the programs link ASan or UBSan)
# Results of `run`: RUN_RC RUN_OUT RUN_ERR (and the files $SCRATCH/run.out/.err)

set -u
set -o pipefail

TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$TESTS_DIR")
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
COUNTER_BIN=${COUNTER_BIN:-$BUILD/counter}
COUNTERD=${COUNTERD:-$BUILD/counterd}          # read by `counter backend start`
RAWSEND_BIN=${RAWSEND_BIN:-$BUILD/tests/rawsend}
export BUILD COUNTER_BIN COUNTERD RAWSEND_BIN
export TZ=UTC LC_ALL=C.UTF-8
# Every test's shop allows fault injection (payment.admin, the fault keys);
# tests/it/faults.sh unsets it to see them refused.
export COUNTER_FAULTS_ENABLED=${COUNTER_FAULTS_ENABLED-1}
# Logins at the smallest argon2id cost libsodium allows (the tests log in
# often, under valgrind too); tests/it/auth_attack.sh measures the real one.
export COUNTER_AUTH_PWHASH_OPS=${COUNTER_AUTH_PWHASH_OPS-1}
export COUNTER_AUTH_PWHASH_MEM_KIB=${COUNTER_AUTH_PWHASH_MEM_KIB-8}
# Nobody's session leaks in from the caller's environment.
unset COUNTER_TOKEN

# A sanitizer build (make SAN=1) links libasan/libubsan. Only there can a
# program write a sanitizer report, so only there is "no sanitizer report" a
# check (see ok_no_report).
LIB_LINKED=$(ldd "$COUNTER_BIN" 2>/dev/null)
SANITIZER_BUILD=0
if grep -Eq 'lib(asan|ubsan)' <<<"$LIB_LINKED"; then
    SANITIZER_BUILD=1
fi
if [ -z "${TIME_SCALE:-}" ]; then
    TIME_SCALE=1
    if grep -q libasan <<<"$LIB_LINKED"; then
        TIME_SCALE=3
    fi
fi
export TIME_SCALE SANITIZER_BUILD
# The supervisor's liveness check (kill a worker that does not answer health
# for 3 s) at the pace of a slow build: 3 s x TIME_SCALE, 30 s under memcheck.
if [ "${VALGRIND:-0}" = 1 ]; then
    export COUNTER_SUPERVISOR_STUCK_MS=${COUNTER_SUPERVISOR_STUCK_MS-30000}
else
    export COUNTER_SUPERVISOR_STUCK_MS=${COUNTER_SUPERVISOR_STUCK_MS-$((3000 * TIME_SCALE))}
fi

for bin in "$COUNTER_BIN" "$COUNTERD" "$RAWSEND_BIN"; do
    if [ ! -x "$bin" ]; then
        echo "FAIL: $bin is missing: run make first" >&2
        exit 1
    fi
done
for tool in jq sqlite3 flock timeout; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "FAIL: the tests need '$tool' (apt-get install jq sqlite3 util-linux coreutils)" >&2
        exit 1
    fi
done

# Never the caller's shop: only a home that run.sh made, or our own.
# (LIB_TOOLS_ONLY=1: run.sh wants the functions only, no home and no trap.)
LIB_OWN_HOME=0
if [ -z "${LIB_TOOLS_ONLY:-}" ]; then
    if [ -z "${TEST_HOME:-}" ]; then
        TEST_HOME=$(mktemp -d /tmp/counter-test.XXXXXX)
        LIB_OWN_HOME=1
    fi
    COUNTER_HOME=$TEST_HOME
    export TEST_HOME COUNTER_HOME
    SCRATCH=$TEST_HOME/scratch
    mkdir -p "$SCRATCH"
    # Every account the tests make has this password (never on a command line).
    TEST_PW=$SCRATCH/password
    [ -s "$TEST_PW" ] || printf 'counter-test-pw-1\n' >"$TEST_PW"
    export TEST_PW
fi

CHECKS=0          # checks made: ok + fail (finish fails a test that made none)
FAILURES=0
LIB_FINISHED=0    # set by finish: a test that exits 0 without it failed
FAILED_CHECKS=()
RUN_RC=0
RUN_OUT=
RUN_ERR=

# ---- the programs -----------------------------------------------------------

# (Functions: to run one in the background, use "$COUNTER_BIN" itself, so
# that $! is the program and not a subshell that a kill would miss.)
#
# counter [--as ROLE:SUBJECT] ...: the real counter; with --as (a test's
# shorthand, not an option of counter) it runs with COUNTER_TOKEN of a real
# login as that person (token_for). Without it: the shop's admin session.
counter() {
    local as= args=()
    while [ $# -gt 0 ]; do
        case $1 in
            --as) as=$2; shift 2 ;;
            *) args+=("$1"); shift ;;
        esac
    done
    if [ -z "$as" ]; then
        "$COUNTER_BIN" "${args[@]}"
        return
    fi
    local tok
    tok=$(token_for "$as") || return 3
    COUNTER_TOKEN=$tok "$COUNTER_BIN" "${args[@]}"
}

# token_for ROLE:SUBJECT: a token of a real session of that person, logged
# in with the test password; the account (login SUBJECT for staff, cN for
# customer N, who must exist) is made by the admin the first time. Cached
# per test in $TEST_HOME/tokens.
token_for() {
    local role=${1%%:*} subject=${1#*:} login extra=() file
    file=$TEST_HOME/tokens/$role-$subject
    if [ ! -s "$file" ]; then
        mkdir -p "$TEST_HOME/tokens"
        case $role in
            customer) login=c$subject; extra=("customer=$subject") ;;
            manager|delivery) login=$subject ;;
            *) echo "token_for: no role '$role' (customer, manager, delivery)" >&2; return 2 ;;
        esac
        "$COUNTER_BIN" accounts add "login=$login" "role=$role" "${extra[@]}" \
            --password-file "$TEST_PW" >/dev/null 2>"$SCRATCH/token_for.err"
        if ! "$COUNTER_BIN" login "$login" --print-token --password-file "$TEST_PW" \
            >"$file" 2>>"$SCRATCH/token_for.err"; then
            rm -f "$file"
            echo "token_for $1: cannot log in as $login: $(cat "$SCRATCH/token_for.err")" >&2
            return 3
        fi
    fi
    cat "$file"
}

# cred WHO: a credential frame for rawsend: "-" (nobody), system:NAME as it
# stands (believed only with rawsend --key NAME), or "token:" and a real
# session's token for ROLE:SUBJECT (token_for).
cred() {
    case $1 in
        -|system:*) printf '%s\n' "$1" ;;
        *) local t; t=$(token_for "$1") || return 3; printf 'token:%s\n' "$t" ;;
    esac
}

# The shop's first manager, admin, made (or logged in again) once the auth
# service runs; its session is the default of every counter command.
shop_login() {
    [ -s "$COUNTER_HOME/session" ] && return 0
    is_running auth || return 0
    "$COUNTER_BIN" setup login=admin --password-file "$TEST_PW" >/dev/null 2>"$SCRATCH/setup.err" ||
        "$COUNTER_BIN" login admin --password-file "$TEST_PW" >/dev/null 2>>"$SCRATCH/setup.err" || {
        fail "cannot log in as the shop's admin" "$(cat "$SCRATCH/setup.err")"
        return 1
    }
}
rawsend() { "$RAWSEND_BIN" "$@"; }

# ---- reporting --------------------------------------------------------------

note() { printf '# %s\n' "$*"; }

ok() {
    CHECKS=$((CHECKS + 1))
    printf 'ok - %s\n' "$*"
}

fail() {
    CHECKS=$((CHECKS + 1))
    FAILURES=$((FAILURES + 1))
    FAILED_CHECKS+=("$1")
    printf 'FAIL: %s\n' "$1"
    shift
    local line
    for line in "$@"; do
        printf '      %s\n' "$line"
    done
}

# ok_no_report DESC [valgrind]: the "no sanitizer report" check, made after
# looking for reports and finding none. It counts as a passed check only in a
# sanitizer build (with "valgrind", also when the workers run under memcheck:
# VALGRIND=1); elsewhere nothing could have written a report, so it is a note.
ok_no_report() {
    if [ "$SANITIZER_BUILD" -eq 1 ] || { [ "${2:-}" = valgrind ] && [ "${VALGRIND:-0}" = 1 ]; }; then
        ok "$1"
    else
        note "$1 (not a check: not a sanitizer build)"
    fi
}

# Print a (possibly long) text indented, at most 15 lines.
show() {
    local label=$1 text=$2
    printf '      %s:\n' "$label"
    if [ -z "$text" ]; then
        printf '        (empty)\n'
    else
        printf '%s\n' "$text" | head -n 15 | cut -c1-300 | sed 's/^/        /'
        local n
        n=$(printf '%s\n' "$text" | wc -l)
        [ "$n" -le 15 ] || printf '        ... (%d lines)\n' "$n"
    fi
}

die() {
    fail "$@"
    finish
}

# ---- running commands and asserting -----------------------------------------

# run CMD...: run it, capturing stdout, stderr and the exit status.
run() {
    "$@" >"$SCRATCH/run.out" 2>"$SCRATCH/run.err"
    RUN_RC=$?
    RUN_OUT=$(cat "$SCRATCH/run.out")
    RUN_ERR=$(cat "$SCRATCH/run.err")
    return 0
}

assert_eq() {   # GOT EXPECTED DESC
    if [ "$1" == "$2" ]; then
        ok "$3"
    else
        fail "$3"
        show "got" "$1"
        show "expected" "$2"
        return 1
    fi
}

assert_match() {   # TEXT REGEX DESC   (extended regex, case-insensitive)
    if grep -Eqi -- "$2" <<<"$1"; then
        ok "$3"
    else
        fail "$3"
        show "got" "$1"
        show "expected a match for" "$2"
        return 1
    fi
}

assert_no_match() {   # TEXT REGEX DESC
    if grep -Eqi -- "$2" <<<"$1"; then
        fail "$3"
        show "got" "$1"
        show "expected no match for" "$2"
        return 1
    fi
    ok "$3"
}

# assert_rc EXPECTED DESC CMD...: run CMD and check its exit status.
assert_rc() {
    local want=$1 desc=$2
    shift 2
    run "$@"
    if [ "$RUN_RC" -eq "$want" ]; then
        ok "$desc"
    else
        fail "$desc: exit status $RUN_RC, expected $want" "command: $*"
        show "stdout" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
        return 1
    fi
}

# assert_error RC REGEX DESC CMD...: CMD exits RC and says (on stderr) what
# matches REGEX; it prints nothing on stdout.
assert_error() {
    local want=$1 re=$2 desc=$3
    shift 3
    run "$@"
    local bad=()
    [ "$RUN_RC" -eq "$want" ] || bad+=("exit status $RUN_RC, expected $want")
    grep -Eqi -- "$re" <<<"$RUN_ERR" || bad+=("stderr does not match /$re/")
    [ -z "$RUN_OUT" ] || bad+=("stdout should be empty")
    if [ ${#bad[@]} -eq 0 ]; then
        ok "$desc  [exit $RUN_RC: $(printf '%s' "$RUN_ERR" | head -n 1 | cut -c1-120)]"
    else
        fail "$desc" "command: $*" "${bad[@]}"
        show "stdout" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
        return 1
    fi
}

# JSON equality after normalising key order and spacing.
assert_json_eq() {   # GOT EXPECTED DESC
    local g e
    g=$(printf '%s' "$1" | jq -S -c . 2>/dev/null) || g="(not JSON) $1"
    e=$(printf '%s' "$2" | jq -S -c . 2>/dev/null) || e="(not JSON) $2"
    assert_eq "$g" "$e" "$3"
}

# json_field JSON FILTER: jq -r FILTER on one JSON text.
jqr() { printf '%s\n' "$1" | jq -r "$2"; }

# ---- time ---------------------------------------------------------------------

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for SECONDS DESC CMD...: poll CMD until it succeeds. The timeout is
# scaled by TIME_SCALE. On timeout, fails showing CMD's last output.
wait_for() {
    local secs=$1 desc=$2
    shift 2
    local start deadline delay=0.02
    start=$(now_ms)
    deadline=$(( start + secs * 1000 * TIME_SCALE ))
    while :; do
        if "$@" >"$SCRATCH/wait.out" 2>&1; then
            ok "$desc ($(( $(now_ms) - start )) ms)"
            return 0
        fi
        if [ "$(now_ms)" -ge "$deadline" ]; then
            fail "$desc: not true within $(( secs * TIME_SCALE )) s" "condition: $*"
            show "last output of the condition" "$(cat "$SCRATCH/wait.out")"
            return 1
        fi
        sleep "$delay"
        case $delay in 0.02) delay=0.05 ;; 0.05) delay=0.1 ;; esac
    done
}

# ---- the backend ----------------------------------------------------------------

lock_file() { echo "$COUNTER_HOME/run/$1.lock"; }

# Is SERVICE's worker alive (does it hold its lock)?
is_running() {
    local f
    f=$(lock_file "$1")
    [ -e "$f" ] || return 1
    ! flock -n -s "$f" true 2>/dev/null
}
is_stopped() { ! is_running "$1"; }

# The pid of SERVICE's worker, or nothing when it does not run.
lock_pid() {
    is_running "$1" || return 1
    local pid
    pid=$(tr -dc '0-9' <"$(lock_file "$1")")
    [ -n "$pid" ] && echo "$pid"
}

backend_start() {   # [SERVICE]
    # Nothing is answered without a session, and sessions come from the auth
    # service: a test that starts services one by one gets auth first.
    if [ $# -gt 0 ] && [ "$1" != auth ] && ! is_running auth; then
        backend_start auth || return 1
    fi
    run counter backend start "$@"
    if [ "$RUN_RC" -ne 0 ]; then
        fail "counter backend start $*: exit status $RUN_RC, expected 0"
        show "stdout" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
        show_logs
        return 1
    fi
    ok "backend start ${1:-(all)}"
    shop_login
}

backend_stop() {   # [SERVICE]
    run counter backend stop "$@"
    [ "$RUN_RC" -eq 0 ] || fail "counter backend stop $*: exit status $RUN_RC" "$RUN_ERR"
}

# kill9 SERVICE: kill -9 the worker and wait until its lock is free.
kill9() {
    local pid
    pid=$(lock_pid "$1") || { fail "kill9 $1: it does not run"; return 1; }
    kill -9 "$pid"
    wait_for 5 "$1 (pid $pid) is dead after kill -9" is_stopped "$1"
}

show_logs() {
    local f
    for f in "$COUNTER_HOME"/log/*.log; do
        [ -e "$f" ] || continue
        printf '      --- tail of %s\n' "$f"
        tail -n 10 "$f" | cut -c1-300 | sed 's/^/        /'
    done
}

# reap_home DIR: stop every worker of every shop under DIR (DIR itself and
# any home a test made inside it); kill -9 what does not stop. Only pids whose
# lock is held and whose program is counterd are killed, so a stale pid in a
# lock file never hits an unrelated process.
reap_home() {
    local top=$1 rundir f pid held
    [ -d "$top" ] || return 0
    while IFS= read -r rundir; do
        held=0
        for f in "$rundir"/*.lock; do
            [ -e "$f" ] || continue
            flock -n -s "$f" true 2>/dev/null || held=1
        done
        [ "$held" -eq 1 ] || continue
        COUNTER_HOME=$(dirname "$rundir") timeout 30 "$COUNTER_BIN" backend stop >/dev/null 2>&1
        for f in "$rundir"/*.lock; do
            [ -e "$f" ] || continue
            flock -n -s "$f" true 2>/dev/null && continue
            pid=$(tr -dc '0-9' <"$f")
            [ -n "$pid" ] || continue
            case $(cat "/proc/$pid/comm" 2>/dev/null) in
            counterd*) kill -9 "$pid" 2>/dev/null ;;
            esac
        done
    done < <(find "$top" -type d -name run 2>/dev/null)
}

# ---- reading the databases (read-only) ------------------------------------------

# db SERVICE SQL: query $COUNTER_HOME/data/SERVICE.db, '|' between columns.
db() {
    sqlite3 -readonly -batch -noheader -cmd '.timeout 5000' \
        "$COUNTER_HOME/data/$1.db" "$2"
}

# Every table of every service's database, rows in rowid order, except the
# request log, the subscription positions and SQLite's own tables.
db_dump() {
    local f svc t
    for f in "$COUNTER_HOME"/data/*.db; do
        svc=$(basename "$f" .db)
        for t in $(db "$svc" "SELECT name FROM sqlite_master WHERE type = 'table'
                   AND name NOT IN ('req_log', 'bus_applied') AND name NOT LIKE 'sqlite_%'
                   ORDER BY name"); do
            echo "== $svc.$t"
            sqlite3 -readonly -batch -header -cmd '.timeout 5000' "$f" \
                "SELECT * FROM \"$t\" ORDER BY rowid"
        done
    done
}

# ---- the catalog and its view ---------------------------------------------------

# The catalog (foods list) and the view (catalog), as one sorted JSON array of
# {id, name, price, stock}.
foods_proj() { counter --json foods list | jq -s -c 'map({id, name, price, stock}) | sort_by(.id)'; }
view_proj() { counter --json catalog | jq -s -c 'map({id, name, price, stock}) | sort_by(.id)'; }

catalog_last_seq() { db catalog 'SELECT COALESCE(MAX(seq), 0) FROM bus_outbox'; }
# "seq applied" of the view's subscription to the catalog.
view_position() { db view "SELECT seq || ' ' || applied FROM bus_applied WHERE publisher = 'catalog'"; }

# The view shows exactly the catalog, and it applied every catalog event
# exactly once (position == events applied == the catalog's last seq).
view_caught_up() {
    local last pos f v
    last=$(catalog_last_seq) || return 1
    pos=$(view_position) || return 1
    echo "catalog last seq: $last; view position (seq applied): $pos"
    [ "$pos" = "$last $last" ] || return 1
    f=$(foods_proj) || return 1
    v=$(view_proj) || return 1
    if [ "$f" != "$v" ]; then
        echo "foods list: $f"
        echo "catalog view: $v"
        return 1
    fi
}

# ---- the end -------------------------------------------------------------------

# finish: stop the backend gracefully (so sanitizer reports are written), look
# for sanitizer reports in the workers' logs, print the verdict and exit. A test
# that made no check fails: it proved nothing.
finish() {
    local rep
    LIB_FINISHED=1
    reap_home "$TEST_HOME"
    if [ "$CHECKS" -eq 0 ]; then
        fail "the test made no check (no ok, fail or assert_* ran): it proves nothing"
    fi
    rep=$(find "$TEST_HOME" -path '*/log/*.log' -exec \
        grep -l -E 'ERROR: (Address|Leak)Sanitizer|Sanitizer has encountered|runtime error:|== ERROR SUMMARY: [1-9]|definitely lost: [1-9]' {} + 2>/dev/null)
    if [ -n "$rep" ]; then
        fail "sanitizer reports in the workers' logs: $rep"
        # shellcheck disable=SC2086  # one or more file names
        grep -h -A 12 -E 'ERROR: (Address|Leak)Sanitizer|Sanitizer has encountered|runtime error:|== (Invalid|Conditional|Use of|Syscall param|ERROR SUMMARY: [1-9])|definitely lost: [1-9]' $rep | head -n 40 | sed 's/^/        /'
    else
        ok_no_report "no sanitizer report in the workers' logs" valgrind
    fi
    echo
    if [ "$FAILURES" -eq 0 ]; then
        echo "all $CHECKS checks passed"
        exit 0
    fi
    echo "$FAILURES of $CHECKS checks failed:"
    local c
    for c in "${FAILED_CHECKS[@]}"; do
        echo "  FAIL: $c"
    done
    exit 1
}

lib_cleanup() {
    local rc=$? j
    trap - EXIT INT TERM
    if [ "$rc" -eq 0 ] && [ "$LIB_FINISHED" -eq 0 ]; then
        echo "FAIL: the test ended without calling finish (no verdict; $CHECKS checks made)"
        rc=1
    fi
    for j in $(jobs -p); do
        kill "$j" 2>/dev/null
    done
    reap_home "$TEST_HOME"
    if [ "$LIB_OWN_HOME" -eq 1 ]; then
        if [ "$rc" -eq 0 ]; then
            rm -rf "$TEST_HOME"
        else
            echo "# kept $TEST_HOME for inspection"
        fi
    fi
    exit "$rc"
}

if [ -z "${LIB_TOOLS_ONLY:-}" ]; then
    trap lib_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
fi
