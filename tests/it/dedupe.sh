#!/usr/bin/env bash
# dedupe: a write request sent twice with the same request id is done once and
# answered the same both times (also after a restart of the worker); the same
# id for another command or from another caller is a conflict.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"
M=$(cred manager:test)
ADD='{"name":"soup","price":500,"stock":7}'

reply_status() { printf '%s\n' "$1" | sed -n 3p; }
reply_body() { printf '%s\n' "$1" | sed -n 4p; }

assert_rc 0 "first catalog.add dup-1" rawsend catalog CTR2 catalog.add dup-1 $M "$ADD"
first=$RUN_OUT
assert_eq "$(reply_status "$first")" ok "first catalog.add dup-1: ok"
assert_json_eq "$(reply_body "$first" | jq -c '{id, name, price, stock}')" \
    '{"id":1,"name":"soup","price":500,"stock":7}' "first catalog.add dup-1 creates food 1"

assert_rc 0 "second catalog.add dup-1 (identical frames)" rawsend catalog CTR2 catalog.add dup-1 $M "$ADD"
assert_eq "$RUN_OUT" "$first" "the retry gets exactly the first reply"

# A DEALER sends the same request without the REQ envelope: still the same.
assert_rc 0 "third catalog.add dup-1 from a DEALER" rawsend -d catalog CTR2 catalog.add dup-1 $M "$ADD"
assert_eq "$RUN_OUT" "$first" "the retry from a DEALER gets the first reply too"

# The caller is who the token proves, not the token: after logging in again
# (a new session, a new token) the retry is still the same request.
M2=token:$("$COUNTER_BIN" login test --print-token --password-file "$TEST_PW")
assert_rc 0 "catalog.add dup-1 from a new session of the same manager" \
    rawsend catalog CTR2 catalog.add dup-1 "$M2" "$ADD"
assert_eq "$RUN_OUT" "$first" "the same person's retry from a new session gets the first reply"

assert_eq "$(foods_proj)" '[{"id":1,"name":"soup","price":500,"stock":7}]' "one food, not three"
assert_eq "$(db catalog "SELECT COUNT(*) FROM bus_outbox WHERE type = 'FoodRegistered'")" 1 \
    "one FoodRegistered event"
run counter events --from-beginning
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -s -c 'map(select(.publisher != "auth") | .eventType)')" \
    '["FoodRegistered"]' "counter events shows one FoodRegistered (besides the logins)"

# The same id for another command, or from another caller: conflict.
run rawsend catalog CTR2 catalog.delete dup-1 $M '{"id":1}'
assert_eq "$(reply_status "$RUN_OUT")" conflict "dup-1 reused for catalog.delete: conflict"
assert_match "$(reply_body "$RUN_OUT" | jq -r .message)" "dup-1 was already used" \
    "... the message names the request id"
run rawsend catalog CTR2 catalog.add dup-1 "$(cred manager:other)" "$ADD"
assert_eq "$(reply_status "$RUN_OUT")" conflict "dup-1 reused by another caller: conflict"
assert_eq "$(foods_proj)" '[{"id":1,"name":"soup","price":500,"stock":7}]' \
    "the conflicting requests changed nothing"

# Updates are deduplicated too: a repeated relative change would be visible.
UPD='{"id":1,"stock":6}'
run rawsend catalog CTR2 catalog.update upd-1 $M "$UPD"
upd=$RUN_OUT
assert_eq "$(reply_status "$upd")" ok "catalog.update upd-1: ok"
run rawsend catalog CTR2 catalog.update upd-1 $M "$UPD"
assert_eq "$RUN_OUT" "$upd" "catalog.update upd-1 again: the same reply"
assert_eq "$(db catalog "SELECT COUNT(*) FROM bus_outbox WHERE type = 'FoodUpdated'")" 1 \
    "one FoodUpdated event for two identical updates"

# Across services: customer.add with its own id.
CUST='{"name":"lee","phone":"010","address":"seoul","age":29}'
run rawsend customer CTR2 customer.add cust-1 $M "$CUST"
cust=$RUN_OUT
assert_eq "$(reply_status "$cust")" ok "customer.add cust-1: ok"
run rawsend customer CTR2 customer.add cust-1 $M "$CUST"
assert_eq "$RUN_OUT" "$cust" "customer.add cust-1 again: the same reply"
assert_eq "$(counter customers list | jq -s length)" 1 "one customer"

# The request log survives a restart: a retry that arrives after the worker
# came back is still answered from it.
run counter backend restart catalog
assert_eq "$RUN_RC" 0 "backend restart catalog"
run rawsend catalog CTR2 catalog.add dup-1 $M "$ADD"
assert_eq "$RUN_OUT" "$first" "after a restart, dup-1 again gets the first reply"
assert_eq "$(counter foods list | jq -s length)" 1 "after a restart, still one food"

# A fresh id is a new request.
run rawsend catalog CTR2 catalog.add dup-2 $M "$ADD"
assert_eq "$(reply_body "$RUN_OUT" | jq -r .id)" 2 "a new request id creates food 2"

# The same id, command and caller with a different body is another request
# wearing a used id: refused, not answered with the first reply.
run rawsend catalog CTR2 catalog.add dup-1 $M '{"name":"other","price":1,"stock":1}'
assert_eq "$(reply_status "$RUN_OUT")" conflict "dup-1 reused with another body is a conflict"
assert_eq "$(foods_proj | jq length)" 2 "no food created by the reused id"

wait_for 10 "the view has caught up" view_caught_up
finish
