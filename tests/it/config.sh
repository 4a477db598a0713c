#!/usr/bin/env bash
# config: counter.conf and COUNTER_<KEY> are checked against the table of
# settings. A bad file or variable stops `counter` (exit 2, the sentence names
# the file and line, or the variable) and the workers; COUNTER_<KEY> wins over
# the file; `counter config` lists the table, even while the file is bad.
. "$(dirname "$0")/../lib.sh"

CONF=$COUNTER_HOME/counter.conf

# ---- a bad counter.conf: usage error naming file and line -------------------
printf '# the shop\nclient.timeout_ms = 900\ncatalog.tread = 3\n' >"$CONF"
assert_error 2 "counter\.conf:3: unknown key 'catalog\.tread'" \
    "status with an unknown key in counter.conf: exit 2, names file and line" counter status
assert_match "$RUN_ERR" "^counter: $COUNTER_HOME/counter\.conf:3: " "the sentence starts with the file's path"

printf 'client.timeout_ms = soon\n' >"$CONF"
assert_error 2 "counter\.conf:1: 'client\.timeout_ms' must be an integer from 1 to 600000, not 'soon'" \
    "a malformed integer: exit 2, names the key and its bounds" counter foods list
printf 'catalog.threads = 33\n' >"$CONF"
assert_error 2 "counter\.conf:1: 'catalog\.threads' must be an integer from 0 to 32, not '33'" \
    "an out-of-bounds per-service key: exit 2" counter status
printf 'sqlite.synchronous = full\n' >"$CONF"
assert_error 2 "counter\.conf:1: 'sqlite\.synchronous' must be NORMAL or FULL, not 'full'" \
    "an enum value not in the list: exit 2" counter backend start

# The workers refuse it too (counterd run by hand, not through counter).
run "$COUNTERD" catalog
assert_eq "$RUN_RC" 1 "counterd with a bad counter.conf exits 1"
assert_match "$RUN_ERR" "counter\.conf:1: 'sqlite\.synchronous' must be NORMAL or FULL" \
    "counterd says why"
is_stopped catalog && ok "no catalog worker runs" || fail "a catalog worker runs on a bad counter.conf"

# `counter config` needs no valid file.
assert_rc 0 "counter config works while counter.conf is bad" counter --json config
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -c 'select(.key == "client.timeout_ms") | [.type, .default, .allowed]')" \
    '["int",700,"1..600000"]' "counter config: client.timeout_ms, its default and bounds"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r .key | grep -c '^SERVICE\.')" 5 \
    "counter config: the per-service keys, once each"

# ---- a malformed COUNTER_<KEY>: usage error naming the variable -------------
: >"$CONF"
assert_error 2 "COUNTER_CLIENT_TIMEOUT_MS: 'client\.timeout_ms' must be an integer from 1 to 600000, not '0'" \
    "a malformed COUNTER_<KEY>: exit 2, names the variable" env COUNTER_CLIENT_TIMEOUT_MS=0 "$COUNTER_BIN" status

# ---- COUNTER_<KEY> overrides the file ---------------------------------------
printf 'delivery.auto = yes\ndelivery.auto_ms = 1500\n' >"$CONF"
run env COUNTER_DELIVERY_AUTO_MS=250 "$COUNTER_BIN" backend start delivery
assert_eq "$RUN_RC" 0 "backend start delivery (file: auto, 1500 ms; env: 250 ms)" || show "stderr" "$RUN_ERR"
auto=$(counter --json status 2>/dev/null | jq -c 'select(.service == "delivery") | .auto')
assert_json_eq "$auto" '{"enabled": true, "delay_ms": 250}' \
    "the delivery worker runs auto mode from the file, with the delay from the environment"
backend_stop

finish
