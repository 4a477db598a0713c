#!/usr/bin/env bash
# badinput: malformed command lines and malformed wire requests each get a
# clear error naming the problem, with the right exit status; nothing is
# written, and no worker crashes.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

# A shop with something in it: lee (active), kim (withdrawn), pizza, meat.
printf '%s\n' \
    "customers add name=lee phone=010 address=seoul age=29" \
    "customers add name=kim phone=011 address=busan age=35" \
    "customers withdraw 2" \
    "foods add name=pizza stock=100 price=1000" \
    "foods add name=meat stock=100 price=2000" >"$SCRATCH/setup.batch"
assert_rc 0 "set up the shop" counter batch "$SCRATCH/setup.batch" || die "cannot set up"
wait_for 10 "the view has caught up" view_caught_up

snapshot() {   # DIR: everything a bad request must not change
    mkdir -p "$1"
    db_dump >"$1/db.txt"
    counter foods list >"$1/foods.json" 2>&1
    counter customers list >"$1/customers.json" 2>&1
    counter catalog >"$1/catalog.json" 2>&1
    counter events --from-beginning >"$1/events.json" 2>&1
    for s in customer catalog view; do
        echo "$s $(lock_pid $s)"
    done >"$1/pids.txt"
}
# The sessions the checks use are made (accounts, logins) before it.
cred manager:test >/dev/null && cred customer:1 >/dev/null || fail "cannot log in the test's callers"
wait_for 10 "every worker has applied the logins' events" sh -c \
    '"$COUNTER_BIN" --json status | jq -s -e "map(.lag // 0) | add == 0" >/dev/null'
snapshot "$SCRATCH/before"
[ -s "$SCRATCH/before/db.txt" ] || fail "the database dump is empty"

# ---- the command line ---------------------------------------------------------
long=$(printf 'a%.0s' $(seq 1 201))
e() { assert_error "$@"; }

e 2 "missing field: name" "customers add without a name" counter customers add phone=010
e 2 "missing field: stock" "foods add without a stock" counter foods add name=soup price=1
e 2 "age must be an integer, got 'abc'" "age=abc" counter customers add name=x age=abc
e 2 "age must not be negative" "age=-1" counter customers add name=x age=-1
e 2 "price must be an integer, got '12.5'" "price=12.5" counter foods add name=x stock=1 price=12.5
e 2 "stock must not be negative" "stock=-1" counter foods add name=x stock=-1 price=1
e 2 "price must not be negative" "update price=-5" counter foods update 1 price=-5
e 2 "out of range" "price=10^12+1" counter foods add name=x stock=1 price=1000000000001
e 2 "stock must be an integer" "stock past 64 bits" counter foods update 1 stock=99999999999999999999
e 2 "unknown field 'color'" "unknown field" counter foods add name=x stock=1 price=1 color=red
e 2 "price is given twice" "a field given twice" counter foods add name=x stock=1 price=1 price=2
e 2 "expected key=value, got 'soup'" "a word that is not key=value" counter foods add soup
e 2 "unknown command 'frobnicate'" "unknown command" counter frobnicate
e 2 "unknown command 'foods frob'" "unknown subcommand" counter foods frob
e 2 "nothing to change" "customers update without fields" counter customers update 1
e 2 "nothing to change" "foods update without fields" counter foods update 1
e 2 "id must be 1 or more" "id 0" counter foods show 0
e 2 "id must be 1 or more" "negative id" counter foods update -3 price=1
e 2 "id must be an integer, got 'abc'" "non-numeric id" counter customers show abc
e 2 "needs an id" "foods show without an id" counter foods show
e 2 "needs an id" "foods update with fields but no id" counter foods update price=1
e 1 "not_found: food 99 does not exist" "show of a missing food" counter foods show 99
e 1 "not_found: customer 99 does not exist" "show of a missing customer" counter customers show 99
e 1 "not_found: food 99" "update of a missing food" counter foods update 99 price=1
e 1 "not_found: food 99" "delete of a missing food" counter foods delete 99
e 1 "conflict: customer 2 has withdrawn" "update of a withdrawn customer" \
    counter customers update 2 phone=019
e 1 "conflict: customer 2 has already withdrawn" "withdraw twice" counter customers withdraw 2
e 2 "name is longer than 200 bytes" "name of 201 bytes" counter foods add "name=$long" stock=1 price=1
e 2 "name contains a control character" "name with a control character" \
    counter foods add "name=$(printf 'pi\001zza')" stock=1 price=1
e 2 "name contains a control character" "name with a newline" \
    counter customers update 1 "name=$(printf 'l\nee')"
e 2 "name must not be empty" "blank name" counter foods update 1 "name=   "
e 1 "forbidden: customer may not call catalog.add" "a customer adds a food" \
    counter --as customer:1 foods add name=x stock=1 price=1
e 1 "forbidden: customers may only act on their own account" "a customer reads another's record" \
    counter --as customer:1 customers show 2
e 2 "--as is gone" "--as (claimed identities are gone)" "$COUNTER_BIN" --as manager:x foods list
e 2 "usage: counter events" "events --bogus" counter events --bogus
e 2 "unknown service 'nosuch'" "backend start of an unknown service" counter backend start nosuch
e 2 "usage: counter batch" "batch without a file" counter batch
e 2 "nonexistent.batch: No such file" "batch of a missing file" counter batch "$SCRATCH/nonexistent.batch"
e 2 "usage" "status with an argument" counter status now

# ---- raw frames -----------------------------------------------------------------
# raw_error STATUS REGEX DESC [-d] SERVICE FRAME...: the service answers a
# well-formed error reply: CTR2, an id, STATUS, {"error":STATUS,"message":...}.
raw_error() {
    local status=$1 re=$2 desc=$3
    shift 3
    run rawsend "$@"
    local sig rid st body bad=()
    sig=$(printf '%s\n' "$RUN_OUT" | sed -n 1p)
    rid=$(printf '%s\n' "$RUN_OUT" | sed -n 2p)
    st=$(printf '%s\n' "$RUN_OUT" | sed -n 3p)
    body=$(printf '%s\n' "$RUN_OUT" | sed -n 4p)
    [ "$RUN_RC" -eq 0 ] || bad+=("rawsend exit status $RUN_RC (no reply?)")
    [ "$sig" = CTR2 ] || bad+=("frame 0 is '$sig', expected CTR2")
    [ -n "$rid" ] || bad+=("no request id frame")
    [ "$st" = "$status" ] || bad+=("status '$st', expected '$status'")
    [ "$(jqr "$body" '.error' 2>/dev/null)" = "$status" ] || bad+=("body.error is not $status")
    jqr "$body" '.message' 2>/dev/null | grep -Eqi -- "$re" || bad+=("message does not match /$re/")
    if [ ${#bad[@]} -eq 0 ]; then
        ok "raw: $desc  [$st: $(jqr "$body" .message | cut -c1-100)]"
    else
        fail "raw: $desc" "rawsend $*" "${bad[@]}"
        show "reply" "$RUN_OUT"
        show "stderr" "$RUN_ERR"
    fi
}
M=$(cred manager:test)
big=$(printf 'b%.0s' $(seq 1 201))

raw_error bad_request "5 frames, got 1" "garbage single frame" catalog 'garbage!'
raw_error bad_request "5 frames, got 1" "garbage single frame from a DEALER" -d catalog 'hex:00ff10'
raw_error bad_request "frame 0 must be CTR2" "the old protocol's signature (CTR1)" \
    catalog CTR1 catalog.list r-sig $M '{}'
raw_error bad_request "5 frames, got 4" "4 frames" catalog CTR2 catalog.list r-4 $M
raw_error bad_request "5 frames, got 6" "6 frames" catalog CTR2 catalog.list r-6 $M '{}' extra
raw_error bad_request "not valid JSON" "non-JSON body" \
    catalog CTR2 catalog.add r-nj $M 'name=pizza'
raw_error bad_request "must be a JSON object" "JSON array body" \
    catalog CTR2 catalog.add r-arr $M '[{"name":"x","price":1,"stock":1}]'
raw_error bad_request "not valid JSON" "JSON with a duplicate key" \
    catalog CTR2 catalog.add r-dup $M '{"name":"x","name":"y","price":1,"stock":1}'
raw_error bad_request "unknown command 'catalog.nope'" "unknown command" \
    catalog CTR2 catalog.nope r-unk $M '{}'
raw_error bad_request "unknown command 'customer.add' for catalog" "another service's command" \
    catalog CTR2 customer.add r-other $M '{"name":"x"}'
raw_error bad_request "command frame is empty" "empty command frame" \
    catalog CTR2 empty: r-empty $M '{}'
raw_error bad_request "request id" "empty request id" catalog CTR2 catalog.list empty: $M '{}'
raw_error bad_request "credential frame must be" "a credential that is none of -, token:, system:" \
    catalog CTR2 catalog.list r-c1 nobody '{}'
raw_error bad_request "claimed role:subject is not accepted" "a claimed caller (CTR/1's role:subject)" \
    catalog CTR2 catalog.add r-c2 manager:root '{"name":"x","price":1,"stock":1}'
raw_error forbidden "customer may not call catalog.add" "customer calling catalog.add" \
    catalog CTR2 catalog.add r-forb "$(cred customer:1)" '{"name":"x","price":1,"stock":1}'
raw_error forbidden "own account" "customer changing another customer" \
    customer CTR2 customer.update r-own "$(cred customer:1)" '{"id":2,"phone":"1"}'
raw_error bad_request "message too large" "body over 64 KiB" \
    catalog CTR2 catalog.add r-big $M json-big:70000
raw_error bad_request "longer than 200 bytes" "a body of exactly 64 KiB is read (and its name refused)" \
    catalog CTR2 catalog.add r-64k $M json-big:65536
raw_error bad_request "message too large" "a body of 64 KiB + 1" \
    catalog CTR2 catalog.add r-64k1 $M json-big:65537
raw_error bad_request "message too large" "a body of 1,000,000 bytes (under the socket limit)" \
    catalog CTR2 catalog.add r-1m $M json-big:1000000
raw_error bad_request "request id must be 1-64" "a request id of 65 characters" \
    catalog CTR2 catalog.list "$(printf 'r%.0s' $(seq 1 65))" $M '{}'
raw_error bad_request "request id must be 1-64" "a request id with a space" \
    catalog CTR2 catalog.list "r 1" $M '{}'
raw_error bad_request "credential frame must be" "a credential of 513 characters" \
    catalog CTR2 catalog.list r-longc "token:$(printf 'm%.0s' $(seq 1 507))" '{}'
raw_error bad_request "missing field: name" "catalog.add without a name" \
    catalog CTR2 catalog.add r-miss $M '{"price":1,"stock":1}'
raw_error bad_request "stock must be an integer" "stock as a string" \
    catalog CTR2 catalog.add r-str $M '{"name":"x","price":1,"stock":"5"}'
raw_error bad_request "price must be an integer" "price as a real" \
    catalog CTR2 catalog.add r-real $M '{"name":"x","price":1.5,"stock":1}'
raw_error bad_request "price must not be negative" "negative price" \
    catalog CTR2 catalog.add r-neg $M '{"name":"x","price":-1,"stock":1}'
raw_error bad_request "name must be a string" "name as an object" \
    catalog CTR2 catalog.add r-obj $M '{"name":{"a":1},"price":1,"stock":1}'
raw_error bad_request "unknown field 'color'" "unknown field" \
    catalog CTR2 catalog.add r-field $M '{"name":"x","price":1,"stock":1,"color":"red"}'
raw_error bad_request "nothing to change" "catalog.update without fields" \
    catalog CTR2 catalog.update r-nof $M '{"id":1}'
raw_error bad_request "id must be 1 or more" "id 0" catalog CTR2 catalog.show r-id0 $M '{"id":0}'
raw_error bad_request "out of range" "id past 10^12" \
    catalog CTR2 catalog.delete r-idbig $M '{"id":10000000000000}'
raw_error bad_request "control character" "name with a control character" \
    catalog CTR2 catalog.add r-ctl $M '{"name":"pi\u0007zza","price":1,"stock":1}'
raw_error bad_request "NUL byte|u0000 is not allowed" "name with a NUL byte" \
    catalog CTR2 catalog.add r-nul $M '{"name":"pi\u0000zza","price":1,"stock":1}'
raw_error bad_request "longer than 200 bytes" "name too long" \
    catalog CTR2 catalog.add r-long $M "{\"name\":\"$big\",\"price\":1,\"stock\":1}"
raw_error not_found "food 99 does not exist" "update of a missing food" \
    catalog CTR2 catalog.update r-nf $M '{"id":99,"price":1}'
raw_error conflict "has withdrawn" "update of a withdrawn customer" \
    customer CTR2 customer.update r-wd $M '{"id":2,"phone":"019"}'
raw_error bad_request "unknown field" "health with a field" view CTR2 health r-h $M '{"x":1}'

# UTF-8 in what the error names: the reply must still be sent (valid JSON),
# and the worker must live. A field or message cut mid-character must not make
# the error reply unencodable. After a crash the worker is restarted, so that
# the rest of the test still means something (the crash is a failure).
alive_or_restart() {   # SERVICE PID DESC
    if [ "$(lock_pid "$1")" = "$2" ]; then
        ok "$3: $1 (pid $2) still runs"
    else
        fail "$3: the $1 worker (pid $2) died"
        show "tail of log/$1.log" "$(tail -n 3 "$COUNTER_HOME/log/$1.log" 2>/dev/null)"
        run counter backend start "$1"
    fi
}
k2=$(printf '김%.0s' $(seq 1 2))
k20=$(printf '김%.0s' $(seq 1 20))
a230=$(printf 'a%.0s' $(seq 1 230))
k10=$(printf '김%.0s' $(seq 1 10))
pid=$(lock_pid catalog)
raw_error bad_request "unknown field '$k2'" "a short Korean unknown field" \
    catalog CTR2 catalog.add r-k2 $M "{\"name\":\"x\",\"price\":1,\"stock\":1,\"$k2\":1}"
alive_or_restart catalog "$pid" "a short Korean unknown field"
pid=$(lock_pid catalog)
raw_error bad_request "unknown field" "an unknown field of 20 Korean syllables (60 bytes)" \
    catalog CTR2 catalog.add r-k20 $M "{\"$k20\":1}"
alive_or_restart catalog "$pid" "an unknown field of 20 Korean syllables"
pid=$(lock_pid catalog)
raw_error bad_request "unknown field" "an unknown field of 230 ASCII bytes and 10 Korean syllables" \
    catalog CTR2 catalog.add r-k230 $M "{\"$a230$k10\":1}"
alive_or_restart catalog "$pid" "an unknown field of 230 ASCII bytes and 10 Korean syllables"
pid=$(lock_pid catalog)
raw_error bad_request "not valid JSON" "an invalid escape before a 2-byte character" \
    catalog CTR2 catalog.add r-esc $M "$(printf '{"name":"\\\xc3\xa9"}')"
alive_or_restart catalog "$pid" "an invalid escape before a 2-byte character"

# A 2 MB message is over ZMQ_MAXMSGSIZE: the socket drops it (no reply), and
# the service goes on answering.
catalog_pid=$(lock_pid catalog)
assert_rc 3 "raw: a 2 MB message gets no reply" \
    rawsend -t 1000 catalog CTR2 catalog.add r-2mb $M json-big:2000000
assert_match "$RUN_ERR" "no reply" "... rawsend says there was no reply"
assert_rc 0 "catalog still answers after the 2 MB message" counter foods list
assert_eq "$(lock_pid catalog)" "$catalog_pid" "the catalog worker is the same process"
run rawsend catalog CTR2 health r-after $M '{}'
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" ok "raw: health answers ok after the 2 MB message"

# ---- the catch-up socket: the same pipeline, events.since only ----------------
SYNC=ipc://$COUNTER_HOME/run/catalog.sync
raw_error bad_request "events.since only" "catch-up socket: a write command" \
    "$SYNC" CTR2 catalog.add r-sync-add $M '{"name":"x","price":1,"stock":1}'
raw_error bad_request "events.since only" "catch-up socket: health" "$SYNC" CTR2 health r-sync-h $M '{}'
raw_error bad_request "5 frames, got 1" "catch-up socket: garbage" "$SYNC" 'garbage!'
raw_error bad_request "after" "catch-up socket: events.since with a negative after" \
    "$SYNC" CTR2 events.since r-sync-neg $M '{"after":-1}'
raw_error bad_request "unknown command 'customer.add' for catalog" "catch-up socket: another service's command" \
    "$SYNC" CTR2 customer.add r-sync-other $M '{"name":"x"}'
run rawsend "$SYNC" CTR2 events.since r-sync-ok $M '{"after":0,"limit":2}'
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" ok "catch-up socket: events.since answers ok"
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 4p | jq -c '[.publisher, (.events | length), (.events[0].seq)]')" \
    '["catalog",2,1]' "catch-up socket: the first two catalog events"

# ---- nothing changed --------------------------------------------------------------
assert_rc 0 "counter status: every worker alive" counter status
snapshot "$SCRATCH/after"
for f in db.txt foods.json customers.json catalog.json events.json pids.txt; do
    if cmp -s "$SCRATCH/before/$f" "$SCRATCH/after/$f"; then
        ok "unchanged: $f"
    else
        fail "changed by bad input: $f"
        diff "$SCRATCH/before/$f" "$SCRATCH/after/$f" | head -n 20 | sed 's/^/        /'
    fi
done
assert_eq "$(db catalog 'SELECT COUNT(*) FROM req_log')" 2 "the catalog logged only the two good writes"

finish
