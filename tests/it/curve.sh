#!/usr/bin/env bash
# curve: every link between processes is CURVE (DESIGN section 9). With every
# endpoint on tcp://127.0.0.1, the seed's walk (orders across four services,
# the view following every publisher, catch-up) works; a client without
# CURVE, or with a wrong server key, gets no answer while the worker keeps
# answering others; a service's pair is accepted. `counter backend start`
# makes the keys (0700 folder, 0600 secrets, 0644 public keys); `counter
# keys export` writes no secret unless a service is named; a worker without
# keys refuses to start.
. "$(dirname "$0")/../lib.sh"

services=$("$COUNTERD" --list | tr '\n' ' ')
nservices=$("$COUNTERD" --list | wc -l)

# Three free tcp ports per service in a row from a random base (none listening now).
nports=$((nservices * 3))
listening() { awk 'NR > 1 && $4 == "0A" { split($2, a, ":"); print strtonum("0x" a[2]) }' \
    /proc/net/tcp /proc/net/tcp6 2>/dev/null; }
pick_base() {
    local base p busy try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        base=$((20000 + (RANDOM % 300) * 40))   # below the ephemeral ports (32768-)
        busy=$(listening)
        for p in $(seq "$base" $((base + nports - 1))); do
            grep -qx "$p" <<<"$busy" && continue 2
        done
        echo "$base"
        return 0
    done
    return 1
}
base=$(pick_base) || die "no $nports free tcp ports"
port=$base
for s in $services; do
    for k in req pub sync; do
        echo "$s.$k = tcp://127.0.0.1:$port"
        port=$((port + 1))
    done
done >"$COUNTER_HOME/counter.conf"
note "endpoints on tcp://127.0.0.1:$base-$((base + nports - 1))"

# ---- a worker without keys does not start ----------------------------------------
run env COUNTER_HOME="$COUNTER_HOME" "$COUNTERD" catalog
assert_eq "$RUN_RC" 1 "counterd catalog without keys exits 1"
assert_match "$RUN_ERR" "error: no keys in $COUNTER_HOME/keys: run counter setup" \
    "it says there are no keys and to run counter setup"
assert_rc 3 "counter foods list without keys: unreachable" counter foods list
assert_match "$RUN_ERR" "no keys in $COUNTER_HOME/keys: run counter setup" "... and says why"

# ---- the keys backend start makes ---------------------------------------------------
backend_start || die "the backend does not start on tcp endpoints"
keys=$COUNTER_HOME/keys
assert_eq "$(stat -c %a "$keys")" 700 "keys/ is 0700"
modes=$(cd "$keys" && stat -c '%n %a' -- * | sort)
want=$(for n in $services counter token; do echo "$n.key 600"; echo "$n.pub 644"; done | sort)
assert_eq "$modes" "$want" "every service, counter and token: NAME.key 0600, NAME.pub 0644"
sum_before=$(cat "$keys"/* | sha256sum)
backend_stop
backend_start || die "the backend does not start again"
assert_eq "$(cat "$keys"/* | sha256sum)" "$sum_before" "a second start keeps every key"

# ---- the seed's walk over tcp ---------------------------------------------------------
assert_rc 0 "customers add lee" counter customers add name=lee phone=010 address=seoul age=29
assert_rc 0 "foods add pizza" counter foods add name=pizza stock=100 price=1000
assert_rc 0 "orders place (order calls customer, catalog, payment over tcp)" \
    counter --json orders place customer=1 food=1 qty=20
assert_eq "$(jqr "$RUN_OUT" .status)" placed "the order is placed"
wait_for 10 "the delivery team has the order (delivery follows order over tcp)" \
    sh -c "\"$COUNTER_BIN\" --json deliveries list | grep -q '\"orderId\":1'"
wait_for 10 "my orders shows it (view follows order over tcp)" \
    sh -c "\"$COUNTER_BIN\" --json myorders customer=1 | grep -q '\"orderId\":1'"
wait_for 10 "the catalog view has the stock left (view follows catalog)" \
    sh -c "\"$COUNTER_BIN\" --json catalog | grep -q '\"stock\":80'"
assert_rc 0 "events from the beginning (each publisher's sync socket)" counter events
assert_match "$RUN_OUT" '"eventType":"Ordered"' "... the Ordered event is there"
wait_for 15 "the audit is OK" sh -c "\"$COUNTER_BIN\" audit >/dev/null"

# ---- who gets an answer -------------------------------------------------------------------
health=(CTR2 health r-1 - '{}')
run rawsend -t 1500 catalog "${health[@]}"
assert_eq "$RUN_RC" 0 "rawsend (CURVE, an ephemeral pair) to catalog: answered"
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 3p)" ok "... with ok"
run rawsend -t 1500 --plain catalog "${health[@]}"
assert_eq "$RUN_RC" 3 "rawsend --plain (no CURVE) to catalog's tcp endpoint: no answer"
run rawsend -t 1500 --server order catalog "${health[@]}"
assert_eq "$RUN_RC" 3 "rawsend with the wrong server key (order's for catalog): no answer"
run rawsend -t 1500 --key order catalog "${health[@]}"
assert_eq "$RUN_RC" 0 "rawsend --key order (order's own pair): answered"
assert_rc 0 "catalog still answers others after the refused ones" counter foods list
assert_match "$RUN_OUT" pizza "... with the foods"

# ---- keys list and export -----------------------------------------------------------------------
# Every secret key in the home, one per line (Z85 or hex), to look for elsewhere.
secrets() { for f in "$keys"/*.key; do grep -v '^#' "$f" | tail -n 1; done; }
assert_rc 0 "counter keys list" counter keys list
assert_eq "$(printf '%s\n' "$RUN_OUT" | wc -l)" $((nservices + 2)) "it lists every service, counter and token"
leaked=$(secrets | grep -cxF -f - <(printf '%s\n' "$RUN_OUT" | awk '{print $3}'))
assert_eq "$leaked" 0 "keys list shows no secret key"
assert_rc 0 "counter keys export DIR" counter keys export "$SCRATCH/pub"
assert_eq "$(stat -c %a "$SCRATCH/pub")" 700 "the export folder is 0700"
assert_eq "$(ls "$SCRATCH/pub" | grep -c '\.key$')" 0 "no secret file exported without a SERVICE"
assert_eq "$(ls "$SCRATCH/pub" | grep -c '\.pub$')" $((nservices + 2)) "every public key exported"
assert_eq "$(secrets | grep -cxF -f - <(cat "$SCRATCH/pub"/*))" 0 "no secret key in the exported files"
assert_rc 0 "counter keys export DIR payment" counter keys export "$SCRATCH/pay" payment
assert_eq "$(ls "$SCRATCH/pay" | grep '\.key$' | tr '\n' ' ')" "payment.key " \
    "payment's pair exported, and only it"
assert_eq "$(stat -c %a "$SCRATCH/pay/payment.key")" 600 "... 0600"
assert_eq "$(cmp -s "$keys/payment.key" "$SCRATCH/pay/payment.key" && echo same)" same "... the same pair"
assert_error 1 "exists: nothing was written" "export into a folder that has the keys" \
    counter keys export "$SCRATCH/pay"
assert_error 2 "usage" "keys with no word" counter keys

# ---- a terminal with only the exported public keys -------------------------------------
term=$TEST_HOME/terminal
mkdir -p "$term"
cp "$COUNTER_HOME/counter.conf" "$term/"
cp -r "$SCRATCH/pub" "$term/keys" && chmod 700 "$term/keys"
# (It logs in like any terminal: a session is a token, not a key.)
COUNTER_HOME=$term "$COUNTER_BIN" login admin --password-file "$TEST_PW" >/dev/null ||
    fail "the terminal home cannot log in"
COUNTER_HOME=$term assert_rc 0 "a terminal home with the exported public keys lists foods" \
    counter foods list
assert_match "$RUN_OUT" pizza "... the shop's foods"

# ---- the operator's terminal, the workers elsewhere ------------------------------------
# With the operator's pair, setup reaches the auth service where counter.conf
# says it runs and starts nothing here (here: the shop has its manager, so it
# is a conflict; tests/it/hosts.sh makes the first one from such a terminal).
op=$TEST_HOME/operator
mkdir -p "$op" && cp "$COUNTER_HOME/counter.conf" "$op/"
assert_rc 0 "keys export of the operator's pair (counter)" counter keys export "$op/keys" counter
COUNTER_HOME=$op assert_error 1 "conflict" \
    "setup from a terminal whose auth runs elsewhere: auth answers (a manager exists)" \
    counter setup login=admin2 --password-file "$TEST_PW"
assert_eq "$(ls "$op/run" 2>/dev/null | grep -c '\.lock$')" 0 "... no worker was started in the terminal's home"
# keys make: the keys of a shop whose workers run elsewhere, nothing started.
fresh=$TEST_HOME/fresh
mkdir -p "$fresh" && cp "$COUNTER_HOME/counter.conf" "$fresh/"
COUNTER_HOME=$fresh assert_rc 0 "keys make in a new home" counter keys make
assert_eq "$(printf '%s\n' "$RUN_OUT" | wc -l)" $((nservices + 2)) "... it lists the public keys it made"
assert_eq "$(cd "$fresh/keys" && ls | grep -c '\.key$')" $((nservices + 2)) "... every pair is made"
assert_eq "$(ls "$fresh/run" 2>/dev/null | grep -c '\.lock$')" 0 "... and started nothing"
sum_fresh=$(cat "$fresh/keys"/* | sha256sum)
COUNTER_HOME=$fresh assert_rc 0 "keys make again" counter keys make
assert_eq "$(cat "$fresh/keys"/* | sha256sum)" "$sum_fresh" "... keeps every key"

finish
