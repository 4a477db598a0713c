#!/bin/sh
# gen-target.sh - write counter.target from its template: the line @WANTS@
# becomes one Wants=counterd@SERVICE.service line per service, in the order
# of `counterd --list` (the one list of services, proto/config.c).
#
#   scripts/systemd/gen-target.sh COUNTERD TEMPLATE > counter.target
#
# Used by the Makefile (build/systemd/counter.target). Exits 1 when counterd
# cannot list its services or the template has no @WANTS@ line.
set -eu

if [ $# -ne 2 ]; then
    echo "usage: gen-target.sh COUNTERD TEMPLATE" >&2
    exit 2
fi
counterd=$1 template=$2

services=$("$counterd" --list) || { echo "gen-target.sh: $counterd --list failed" >&2; exit 1; }
[ -n "$services" ] || { echo "gen-target.sh: $counterd --list printed no service" >&2; exit 1; }
grep -qx '@WANTS@' "$template" || { echo "gen-target.sh: no @WANTS@ line in $template" >&2; exit 1; }

while IFS= read -r line; do
    if [ "$line" = "@WANTS@" ]; then
        printf '%s\n' "$services" | while IFS= read -r svc; do
            printf 'Wants=counterd@%s.service\n' "$svc"
        done
    else
        printf '%s\n' "$line"
    fi
done <"$template"
