#!/usr/bin/env bash
# batch: `counter batch -` reads commands from stdin; '#' comments and blank
# lines are skipped, quotes keep spaces; it stops at the first failure with
# that failure's exit status; --keep-going runs every line and exits nonzero;
# the output is one JSON object per line.
. "$(dirname "$0")/../lib.sh"

backend_start || die "the backend does not start"

json_lines() {   # TEXT DESC: every line is one JSON object
    if [ -n "$1" ] && printf '%s\n' "$1" | jq -e -s 'all(type == "object")' >/dev/null 2>&1 &&
        [ "$(printf '%s\n' "$1" | jq -c . | wc -l)" -eq "$(printf '%s\n' "$1" | wc -l)" ]; then
        ok "$2"
    else
        fail "$2"
        show "got" "$1"
    fi
}
names() { counter foods list | jq -r .name | paste -sd, -; }

# ---- stdin, comments, blank lines, quotes ----------------------------------------
cat >"$SCRATCH/good.batch" <<'EOF'
# a comment line

   # an indented comment
foods add "name=kimchi stew" stock=10 price=8000
foods add name='bibim bap' stock=5 price=9000   # a comment after a command
	foods add name=it\'s\ tea stock=1 price=100
counter foods add name="say \"hi\"" stock=2 price=200
foods add name='김치 찌개' stock=3 price=7000

foods list
EOF
run counter batch - <"$SCRATCH/good.batch"
assert_eq "$RUN_RC" 0 "batch - from stdin: exit 0"
assert_eq "$RUN_ERR" "" "batch -: nothing on stderr"
json_lines "$RUN_OUT" "batch - prints one JSON object per line"
assert_eq "$(printf '%s\n' "$RUN_OUT" | wc -l)" 10 "5 adds + a list of 5 = 10 lines (comments and blanks skipped)"
assert_eq "$(printf '%s\n' "$RUN_OUT" | sed -n 1p | jq -r .name)" "kimchi stew" \
    "name='kimchi stew' keeps its space"
assert_eq "$(names)" "kimchi stew,bibim bap,it's tea,say \"hi\",김치 찌개" \
    "quoted and escaped values arrive as written"

# --json is the default when stdout is not a terminal, and explicit works too.
run counter --json batch - <<<"foods show 1"
assert_eq "$(jqr "$RUN_OUT" '.name')" "kimchi stew" "--json batch prints JSON"

# ---- stops at the first failure, with its status ----------------------------------
cat >"$SCRATCH/stop1.batch" <<'EOF'
foods add name=first stock=1 price=1
foods show 99
foods add name=never stock=1 price=1
EOF
run counter batch - <"$SCRATCH/stop1.batch"
assert_eq "$RUN_RC" 1 "a backend error stops the batch with exit 1"
assert_match "$RUN_ERR" "not_found: food 99 does not exist" "... and says what failed"
assert_match "$RUN_ERR" ":2: failed \\(exit 1\\)" "... and on which line"
json_lines "$RUN_OUT" "... the lines before it printed their JSON"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r .name)" "first" "... only the line before the failure ran"
assert_no_match "$(names)" "never" "the line after the failure did not run"

cat >"$SCRATCH/stop2.batch" <<'EOF'
foods add name=second stock=1 price=1
foods add name=noprice stock=1
foods add name=never stock=1 price=1
EOF
run counter batch "$SCRATCH/stop2.batch"
assert_eq "$RUN_RC" 2 "a usage error stops the batch with exit 2"
assert_match "$RUN_ERR" "missing field: price" "... and says what is wrong"
assert_match "$RUN_ERR" "stop2.batch:2: failed \\(exit 2\\)" "... naming the file and line"
assert_no_match "$(names)" "never" "the line after the usage error did not run"

run counter batch - <<<"foods add 'name=unterminated stock=1 price=1"
assert_eq "$RUN_RC" 2 "an unterminated quote: exit 2"
assert_match "$RUN_ERR" "unterminated quote" "... says so"

run counter batch - <<<"batch -"
assert_eq "$RUN_RC" 2 "batch inside batch: exit 2"
assert_match "$RUN_ERR" "cannot nest" "... says batch cannot nest"

run counter batch - <<<"frobnicate now"
assert_eq "$RUN_RC" 2 "an unknown command in a batch: exit 2"
assert_match "$RUN_ERR" "unknown command 'frobnicate now'" "... says which"

# ---- --keep-going ---------------------------------------------------------------
cat >"$SCRATCH/keep.batch" <<'EOF'
foods add name=k1 stock=1 price=1
foods show 99
foods add name=k2 stock=1 price=1
foods add name=bad stock=-1 price=1
foods add name=k3 stock=1 price=1
EOF
run counter batch - --keep-going <"$SCRATCH/keep.batch"
if [ "$RUN_RC" -ne 0 ]; then ok "--keep-going with failures exits nonzero ($RUN_RC)"
else fail "--keep-going with failures exited 0"; fi
json_lines "$RUN_OUT" "--keep-going prints one JSON object per line"
assert_eq "$(printf '%s\n' "$RUN_OUT" | jq -r .name | paste -sd, -)" "k1,k2,k3" \
    "--keep-going ran every good line"
assert_match "$RUN_ERR" ":2: failed \\(exit 1\\)" "--keep-going reports line 2"
assert_match "$RUN_ERR" ":4: failed \\(exit 2\\)" "--keep-going reports line 4"
assert_no_match "$(names)" "bad" "the bad line wrote nothing"

run counter batch --keep-going - <<<"foods add name=k4 stock=1 price=1"
assert_eq "$RUN_RC" 0 "--keep-going before the file name, no failures: exit 0"

# An empty batch and a batch of comments do nothing, successfully.
run counter batch - </dev/null
assert_eq "$RUN_RC/$RUN_OUT" "0/" "an empty batch: exit 0, no output"

# Every change made above is in the catalog view too.
wait_for 10 "the view has caught up with the batches" view_caught_up

finish
