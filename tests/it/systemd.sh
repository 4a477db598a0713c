#!/usr/bin/env bash
# systemd: `make install` puts counter, counterd, the man pages and the units
# under PREFIX (and DESTDIR), with the install prefix filled in; the units
# are Type=notify with a watchdog, restart on failure and are hardened.
# Where systemd-analyze exists: `systemd-analyze verify` accepts them and
# `systemd-analyze security --offline=yes` rates counterd@.service at most
# 3.0 (printed). There is no systemd to run them in the test machine:
# tests/it/notify.sh checks what counterd says to it.
. "$(dirname "$0")/../lib.sh"

command -v make >/dev/null || die "make is missing"

# ---- make install PREFIX=... -------------------------------------------------
P=$TEST_HOME/usr
run make -s -C "$ROOT" BUILD="$BUILD" install PREFIX="$P"
assert_eq "$RUN_RC" 0 "make install PREFIX=$P" || show "stderr" "$RUN_ERR"
UNITS=$P/lib/systemd/system
for f in bin/counter bin/counterd share/man/man1/counter.1 share/man/man8/counterd.8 \
    lib/systemd/system/counterd@.service lib/systemd/system/counter.target; do
    [ -f "$P/$f" ] && ok "installed: $f" || fail "make install: $P/$f is missing"
done
svc=$UNITS/counterd@.service
assert_eq "$(sed -n 's/^ExecStart=//p' "$svc")" "$P/bin/counterd %i" "ExecStart has the install prefix"
assert_no_match "$(cat "$svc" "$UNITS/counter.target")" "@[A-Z]+@" "no placeholder is left in the units"
assert_eq "$(stat -c %a "$svc")" 644 "counterd@.service is mode 644"

# ---- and DESTDIR ---------------------------------------------------------------
D=$TEST_HOME/dest
run make -s -C "$ROOT" BUILD="$BUILD" install DESTDIR="$D" PREFIX=/opt/counter
assert_eq "$RUN_RC" 0 "make install DESTDIR=$D PREFIX=/opt/counter" || show "stderr" "$RUN_ERR"
assert_eq "$(sed -n 's/^ExecStart=//p' "$D/opt/counter/lib/systemd/system/counterd@.service")" \
    "/opt/counter/bin/counterd %i" "with DESTDIR: ExecStart names the prefix, not DESTDIR"
[ -x "$D/opt/counter/bin/counterd" ] && ok "with DESTDIR: counterd under DESTDIR" ||
    fail "with DESTDIR: $D/opt/counter/bin/counterd is missing"
run make -s -C "$ROOT" BUILD="$BUILD" uninstall DESTDIR="$D" PREFIX=/opt/counter
assert_eq "$(find "$D" -type f | wc -l)" 0 "make uninstall removes every file it installed"

# ---- what the unit says ------------------------------------------------------
key() { sed -n "s/^$1=//p" "$svc" | tail -1; }
assert_eq "$(key Type)" notify "Type=notify"
assert_eq "$(key WatchdogSec)" 10s "WatchdogSec=10s"
assert_eq "$(key Restart)" on-failure "Restart=on-failure"
[ -n "$(key RestartSec)" ] && ok "RestartSec is set" || fail "no RestartSec"
[ -n "$(key LimitNOFILE)" ] && ok "LimitNOFILE is set" || fail "no LimitNOFILE"
for k in NoNewPrivileges ProtectHome PrivateTmp PrivateDevices ProtectKernelTunables \
    ProtectKernelModules ProtectKernelLogs ProtectControlGroups RestrictNamespaces \
    LockPersonality MemoryDenyWriteExecute RestrictRealtime RestrictSUIDSGID; do
    assert_eq "$(key "$k")" yes "$k=yes"
done
assert_eq "$(key ProtectSystem)" strict "ProtectSystem=strict"
assert_eq "$(key ReadWritePaths)" "$(key Environment | sed -n 's/^COUNTER_HOME=//p')" \
    "ReadWritePaths is the shop's home (COUNTER_HOME)"
assert_eq "$(key RestrictAddressFamilies)" "AF_UNIX AF_INET AF_INET6" "RestrictAddressFamilies"
assert_eq "$(key SystemCallArchitectures)" native "SystemCallArchitectures=native"
assert_eq "$(key UMask)" 0077 "UMask=0077"
assert_match "$(cat "$svc")" "^CapabilityBoundingSet=$" "CapabilityBoundingSet= (none)"
assert_match "$(cat "$svc")" "^SystemCallFilter=@system-service$" "SystemCallFilter=@system-service"

# ---- systemd-analyze -----------------------------------------------------------
if ! command -v systemd-analyze >/dev/null; then
    note "SKIP systemd-analyze verify and security: systemd-analyze is not installed (apt-get install systemd)"
    finish
fi
# verify runs `man` on Documentation=: the pages just installed, where man exists.
man_opt=()
command -v man >/dev/null || man_opt=(--man=no)
run env MANPATH="$P/share/man" systemd-analyze "${man_opt[@]}" verify "$svc" "$UNITS/counter.target"
assert_eq "$RUN_RC" 0 "systemd-analyze verify counterd@.service counter.target" || show "output" "$RUN_OUT$RUN_ERR"
assert_eq "$RUN_OUT$RUN_ERR" "" "systemd-analyze verify: no warning"

if systemd-analyze security --help 2>&1 | grep -q -- '--offline'; then
    run systemd-analyze security --offline=yes "$svc"
    score=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' <<<"$RUN_OUT" | awk '{print $NF}')
    note "systemd-analyze security --offline=yes counterd@.service: ${score:-?} ($(grep -o '[A-Z]* [^ ]*$' <<<"$RUN_OUT" | tail -1))"
    if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 3.0) }'; then
        ok "exposure $score <= 3.0"
    else
        fail "exposure ${score:-unknown}, expected <= 3.0" "$(tail -20 <<<"$RUN_OUT$RUN_ERR")"
    fi
else
    note "SKIP systemd-analyze security: this systemd ($(systemd-analyze --version | head -1)) has no --offline"
fi
finish
