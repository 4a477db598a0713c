#!/usr/bin/env bash
# services: the list of services is defined once (proto/config.c,
# config_services) and everything else takes it from there: `counterd --list`
# prints it in start order, `counter status` reports exactly those services in
# that order, the systemd target that make writes wants exactly those workers,
# counterd's usage names them, and `counter backend start` starts them all.
. "$(dirname "$0")/../lib.sh"

run "$COUNTERD" --list
assert_eq "$RUN_RC" 0 "counterd --list exits 0"
assert_eq "$RUN_ERR" "" "counterd --list writes nothing on stderr"
list=$RUN_OUT
note "services: $(printf '%s\n' "$list" | paste -sd' ' -)"
if [ "$(printf '%s\n' "$list" | grep -c .)" -ge 1 ] &&
    ! grep -qvE '^[a-z]+$' <<<"$list"; then
    ok "counterd --list prints service names, one per line"
else
    fail "counterd --list prints service names, one per line"
    show "got" "$list"
fi
assert_eq "$(printf '%s\n' "$list" | sort | uniq -d)" "" "no service is listed twice"

# counter (tui/) and counterd (backend/) agree, in the same order.
assert_eq "$(counter --json status | jq -r .service)" "$list" \
    "counter status reports the services of counterd --list, in order"

# The systemd target wants exactly the listed workers, in order.
target=$BUILD/systemd/counter.target
if [ -f "$target" ]; then
    assert_eq "$(sed -n 's/^Wants=//p' "$target" | tr ' ' '\n' | grep .)" \
        "$(printf '%s\n' "$list" | sed 's/.*/counterd@&.service/')" \
        "$target wants counterd@SERVICE for each listed service, in order"
    assert_no_match "$(cat "$target")" '@WANTS@' "no placeholder left in $target"
else
    fail "make did not write $target"
fi

# A name not in the list is refused, with the list in the usage message.
assert_error 2 "usage: counterd" "counterd refuses an unknown service" "$COUNTERD" no-such-service
assert_eq "$(printf '%s\n' "$RUN_ERR" | sed -n 's/^SERVICE is one of: //p' | tr -d ' ' | tr , '\n')" \
    "$list" "counterd's usage names the listed services, in order"
assert_error 2 "usage: counterd" "counterd without arguments prints its usage" "$COUNTERD"

# counter backend start starts one worker per listed service, no more.
backend_start || die "the backend does not start"
locks=$(for s in $list; do is_running "$s" && echo "$s"; done)
assert_eq "$locks" "$list" "every listed service runs"
assert_eq "$(cd "$COUNTER_HOME/run" && ls ./*.lock | sed 's|^\./||; s|\.lock$||' | sort)" \
    "$(printf '%s\n' $list supervisor | sort)" "the lock files are those of the listed services and the supervisor's"

finish
