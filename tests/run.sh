#!/usr/bin/env bash
# tests/run.sh - run every test: the unit binaries $BUILD/tests/test_* and the
# integration tests tests/it/*.sh, each in its own fresh COUNTER_HOME and with
# a timeout. Prints "PASS name (Ns)" or "FAIL name (Ns)" with the tail of the
# failing test's output, and ends with one line: "N passed, N failed".
#
#   BUILD=build tests/run.sh [PATTERN]     (make check / make SAN=1 check)
#
# Files named *_lib.sh in tests/it are helpers that tests source, not tests.
# PATTERN (an extended regex) picks the tests whose name matches, e.g.
# "it/crash" or "unit/". TEST_TIMEOUT (seconds, default 300) bounds one test;
# KEEP_HOME=1 keeps every failed test's COUNTER_HOME for inspection.
# Nothing a test started outlives it: its backend is stopped (and killed if it
# must be) after the test, whatever happened.
set -u

cd "$(dirname "$0")/.." || exit 2
ROOT=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
PATTERN=${1:-}
TEST_TIMEOUT=${TEST_TIMEOUT:-300}

export BUILD
export COUNTER_BIN=$BUILD/counter
export COUNTERD=$BUILD/counterd
# VALGRIND=1: every worker runs under memcheck (make check-valgrind).
if [ "${VALGRIND:-0}" = 1 ]; then
    export COUNTERD_REAL=$COUNTERD COUNTERD=$ROOT/tests/tools/valgrind-counterd
    export TIME_SCALE=${TIME_SCALE:-10}
    export COUNTER_BACKEND_START_TIMEOUT_MS=${COUNTER_BACKEND_START_TIMEOUT_MS:-60000}
fi
export RAWSEND_BIN=$BUILD/tests/rawsend
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export TZ=UTC
unset COUNTER_CALLER

# reap_home and friends, without lib.sh's per-test trap and home.
LIB_TOOLS_ONLY=1 . "$ROOT/tests/lib.sh"
unset TEST_HOME COUNTER_HOME

tests=()
for t in "$BUILD"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] && tests+=("unit/$(basename "$t")")
done
for t in tests/it/*.sh; do
    case $t in *_lib.sh) continue ;; esac     # helpers that tests source
    [ -f "$t" ] && tests+=("it/$(basename "$t" .sh)")
done

current_home=
current_pid=
current_name=
on_signal() {
    [ -n "$current_pid" ] && kill -TERM "$current_pid" 2>/dev/null && wait "$current_pid"
    if [ -n "$current_home" ]; then
        reap_home "$current_home"
        rm -rf "$current_home" "$current_home.log"
    fi
    [ -n "$current_name" ] && echo "FAIL $current_name (interrupted)"
    echo "$passed passed, $((failed + 1)) failed"
    exit 130
}
passed=0
failed=0
trap on_signal INT TERM
failed_names=()
suite_start=$(date +%s)
for name in "${tests[@]}"; do
    if [ -n "$PATTERN" ] && ! printf '%s\n' "$name" | grep -Eq -- "$PATTERN"; then
        continue
    fi
    case $name in
    unit/*) cmd=("$BUILD/tests/${name#unit/}") ;;
    it/*) cmd=(bash "tests/$name.sh") ;;
    esac
    home=$(mktemp -d /tmp/counter-test.XXXXXX)
    current_home=$home
    current_name=$name
    log=$home.log
    start=$(date +%s%N)
    TEST_HOME=$home COUNTER_HOME=$home TEST_NAME=$name \
        timeout -k 10 "$TEST_TIMEOUT" "${cmd[@]}" >"$log" 2>&1 </dev/null &
    current_pid=$!
    wait "$current_pid"
    rc=$?
    current_pid=
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    secs=$(( ms / 1000 )).$(( ms % 1000 / 100 ))
    reap_home "$home"
    if [ "$rc" -eq 0 ]; then
        echo "PASS $name (${secs}s)"
        passed=$((passed + 1))
    else
        why=""
        [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why=" timed out after ${TEST_TIMEOUT}s"
        echo "FAIL $name (${secs}s)${why:- exit $rc}"
        tail -n 60 "$log" | sed 's/^/    | /'
        for f in "$home"/log/*.log; do
            [ -e "$f" ] || continue
            echo "    | --- last lines of ${f#"$home"/}"
            tail -n 8 "$f" | cut -c1-300 | sed 's/^/    | /'
        done
        failed=$((failed + 1))
        failed_names+=("$name")
    fi
    if [ "$rc" -ne 0 ] && [ -n "${KEEP_HOME:-}" ]; then
        echo "    (kept $home and $log)"
    else
        rm -rf "$home" "$log"
    fi
    current_home=
    current_name=
done

none=0
if [ $((passed + failed)) -eq 0 ]; then
    echo "no test matches '${PATTERN}'"
    none=1
fi
[ "$failed" -eq 0 ] || echo "failed: ${failed_names[*]}"
echo "suite took $(( $(date +%s) - suite_start ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$none" -eq 0 ]
