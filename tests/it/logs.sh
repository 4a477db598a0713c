#!/usr/bin/env bash
# logs: a worker's log holds one line per event worth knowing - its start,
# a refused request with its request id, command, caller and reason (rate
# limited: a flood of bad requests cannot fill the disk), a failed login -
# and never a password or a token. Past log.max_bytes SERVICE.log is rotated,
# keeping log.keep old files. `counter backend logs [SERVICE] [--lines N]
# [--follow]` shows them, and --follow goes on across a rotation.
. "$(dirname "$0")/../lib.sh"

LOG=$COUNTER_HOME/log
backend_start || die "the backend does not start"
M=$(cred manager:test) || die "cannot log in as manager:test"
FOOD='{"name":"soup","price":1,"stock":1}'

# ---- start, and refused requests with id, command, caller and reason -----------
assert_match "$(cat "$LOG/catalog.log")" \
    "catalog\[[0-9]+\] info: start: version [0-9.]+, req ipc://.*catalog\.req, pub .*, sync .*" \
    "catalog's log has its start line (version, endpoints)"
run rawsend catalog CTR2 catalog.add rid-anon-1 - "$FOOD"
assert_match "$RUN_OUT" "unauthorized" "an anonymous catalog.add is refused (unauthorized)"
run rawsend catalog CTR2 catalog.reserve rid-forbidden-2 "$M" '{}'
assert_match "$RUN_OUT" "forbidden" "a manager's catalog.reserve is refused (forbidden)"
run rawsend catalog CTR2 catalog.add rid-bad-3 "$M" '{"name":"soup","price":1,"stock":1,"color":"red"}'
assert_match "$RUN_OUT" "bad_request" "a catalog.add with an unknown field is refused (bad_request)"
run rawsend catalog CTR2 catalog.add rid-token-4 "token:NOT-A-REAL-TOKEN-7f3a" "$FOOD"
assert_match "$RUN_OUT" "unauthorized" "a forged token is refused"
# A malformed body with the password in it: the parser's complaint quotes it.
run rawsend auth CTR2 auth.login rid-json-5 - "{\"login\":\"test\",\"password\":\"$(cat "$TEST_PW")"
assert_match "$RUN_OUT" "bad_request" "a login whose body is not JSON is refused"
run rawsend auth CTR2 auth.login rid-pw-6 - '{"login":"test","password":"wrong-pw-9e1c"}'
assert_match "$RUN_OUT" "unauthorized" "a login with a wrong password is refused"
sleep 0.3
cat_log=$(cat "$LOG/catalog.log")
assert_match "$cat_log" "info: refused rid-anon-1 catalog\.add by -: unauthorized: catalog\.add needs you to log in" \
    "the log names the anonymous request's id, command, caller and reason"
assert_match "$cat_log" "info: refused rid-forbidden-2 catalog\.reserve by manager:test: forbidden: " \
    "the log names the forbidden request's caller as role:subject"
assert_match "$cat_log" "info: refused rid-bad-3 catalog\.add by manager:test: bad_request: unknown field 'color'" \
    "the log gives the bad request's reason"
assert_match "$cat_log" "info: refused rid-token-4 catalog\.add by -: unauthorized" \
    "the log has the forged token's request, by nobody"
auth_log=$(cat "$LOG/auth.log")
assert_match "$auth_log" "refused rid-json-5 auth\.login by -: bad_request: the body is not valid JSON$" \
    "the malformed login is logged without the parser's quote"
assert_match "$auth_log" "info: login test failed \(1 in a row\)" "the failed login is logged with its account"
assert_match "$auth_log" "refused rid-pw-6 auth\.login by -: unauthorized: wrong login or password" \
    "... and the refused login request with its reason"
assert_no_match "$cat_log$auth_log" " debug: " "no debug lines at the default level (info)"

# ---- no secret in any log -----------------------------------------------------------
secrets=("$(cat "$TEST_PW")" wrong-pw-9e1c NOT-A-REAL-TOKEN-7f3a)
for f in "$TEST_HOME"/tokens/* "$COUNTER_HOME/session"; do
    [ -s "$f" ] && secrets+=("$(grep -o '[A-Za-z0-9_.-]\{40,\}' "$f" | head -n 1)")
done
leaks=0
for s in "${secrets[@]}"; do
    [ -n "$s" ] || continue
    if grep -a -r -l -F -- "$s" "$LOG" >/dev/null; then
        leaks=$((leaks + 1))
        fail "a secret is in the logs: ${s:0:12}..." "$(grep -a -r -l -F -- "$s" "$LOG")"
    fi
done
[ "$leaks" -eq 0 ] && ok "no password or token (${#secrets[@]} checked) appears in any log"

# ---- a flood of bad requests is rate limited -------------------------------------------
before=$(wc -l <"$LOG/catalog.log")
t0=$(now_ms)
run rawsend -n 500 catalog CTR2 catalog.add rid-flood - "$FOOD"
secs=$(( ($(now_ms) - t0 + 999) / 1000 ))
assert_match "$RUN_OUT" "unauthorized" "500 anonymous requests sent in ${secs} s, each refused"
sleep 1.3   # the "and K more" line comes once its second is over
logged=$(grep -c "refused rid-flood " "$LOG/catalog.log")
held=$(grep -o "and [0-9]* more like these" "$LOG/catalog.log" | awk '{s += $2} END {print s + 0}')
grown=$(( $(wc -l <"$LOG/catalog.log") - before ))
bound=$(( (secs + 2) * 21 ))
note "flood: $logged lines logged, $held held back, the log grew by $grown lines (bound $bound)"
[ "$logged" -lt 500 ] && [ "$grown" -le "$bound" ] &&
    ok "the flood wrote at most 20 refused lines a second ($grown <= $bound)" ||
    fail "the flood was not rate limited: $logged refused lines, grew by $grown (bound $bound)"
assert_eq "$((logged + held))" 500 "every refused request is either logged or counted in an 'and K more' line"

# ---- counter backend logs ---------------------------------------------------------------
for burst in 1 2; do   # more than 50 lines in catalog's log
    rawsend -n 30 catalog CTR2 catalog.add "rid-more-$burst" - "$FOOD" >/dev/null
    sleep 1.1
done
run counter backend logs catalog --lines 5
assert_eq "$RUN_RC" 0 "backend logs catalog --lines 5 exits 0"
assert_eq "$(wc -l <<<"$RUN_OUT")" 5 "... and prints 5 lines"
assert_eq "$(tail -n 1 <<<"$RUN_OUT")" "$(tail -n 1 "$LOG/catalog.log")" "... the last one the log's last"
run counter backend logs --lines 30
assert_eq "$(wc -l <<<"$RUN_OUT")" 30 "backend logs --lines 30 (every service) prints 30 lines"
cut -c1-24 <<<"$RUN_OUT" | sort -c 2>/dev/null && ok "... merged in time order" ||
    fail "backend logs without SERVICE is not in time order" "$(head -n 5 <<<"$RUN_OUT")"
run counter backend logs catalog
assert_eq "$(wc -l <<<"$RUN_OUT")" 50 "backend logs catalog prints 50 lines by default"
assert_error 2 "unknown service 'nosuch'" "backend logs nosuch" counter backend logs nosuch
assert_error 2 "--lines needs a number" "backend logs --lines x" counter backend logs --lines x

"$COUNTER_BIN" backend logs catalog --follow --lines 0 >"$SCRATCH/follow1.out" 2>&1 &
follower=$!
sleep 0.5
rawsend catalog CTR2 catalog.add rid-follow-7 - "$FOOD" >/dev/null
wait_for 5 "backend logs --follow prints a line written after it started" \
    grep -q "refused rid-follow-7 " "$SCRATCH/follow1.out"
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null

# ---- rotation at log.max_bytes, keeping log.keep files; --follow across it ----------------
backend_stop catalog
assert_match "$(tail -n 3 "$LOG/catalog.log")" "info: stopped \(exit status 0\)" "catalog's log says it stopped"
export COUNTER_LOG_MAX_BYTES=2000 COUNTER_LOG_KEEP=2 COUNTER_LOG_LEVEL=debug
backend_start catalog || die "catalog does not start with log.max_bytes=2000"
"$COUNTER_BIN" backend logs catalog --follow --lines 0 >"$SCRATCH/follow2.out" 2>&1 &
follower=$!
sleep 0.5
for burst in 1 2 3 4; do
    rawsend -n 40 catalog CTR2 catalog.add "rid-rot-$burst" - "$FOOD" >/dev/null
    sleep 1.1
done
counter foods list >/dev/null
rawsend catalog CTR2 catalog.add rid-after-rotation - "$FOOD" >/dev/null
wait_for 5 "--follow goes on across rotations" grep -q "refused rid-after-rotation " "$SCRATCH/follow2.out"
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null
unset COUNTER_LOG_MAX_BYTES COUNTER_LOG_KEEP COUNTER_LOG_LEVEL
files=$(cd "$LOG" && ls catalog.log*)
assert_eq "$(tr '\n' ' ' <<<"$files")" "catalog.log catalog.log.1 catalog.log.2 " \
    "rotated at 2000 bytes: catalog.log and log.keep=2 old files, no more"
big=0
for f in "$LOG"/catalog.log*; do
    [ "$(stat -c %s "$f")" -le 3200 ] || { big=1; fail "$f is $(stat -c %s "$f") bytes (max 2000 + a line)"; }
done
[ "$big" -eq 0 ] && ok "each catalog log file is about log.max_bytes at most"
in_files=$(cat "$LOG"/catalog.log* | grep -c "refused rid-rot-")
in_follow=$(grep -c "refused rid-rot-" "$SCRATCH/follow2.out")
[ "$in_follow" -ge "$in_files" ] && [ "$in_follow" -ge 80 ] &&
    ok "--follow printed every refused line ($in_follow; $in_files still in the files)" ||
    fail "--follow missed lines across rotations: $in_follow printed, $in_files in the files"
assert_match "$(cat "$LOG"/catalog.log*)" " debug: [^ ]+ catalog\.list by manager:admin: ok" \
    "log.level=debug logs each answered request"

finish
