# tests/it/tui_lib.sh - drive the real `counter` TUI in tmux. Source it after
# lib.sh:
#
#   . "$(dirname "$0")/../lib.sh"
#   . "$(dirname "$0")/tui_lib.sh"
#
# Each TUI runs in its own tmux session of a private tmux server (a socket
# under $SCRATCH), pinned to 80x24, LANG/LC_ALL=C.UTF-8 and TZ=UTC. Screens
# are read with capture-pane and conditions are waited for with lib.sh's
# wait_for (a timeout, never a fixed sleep). The tmux server, and with it
# every TUI, is gone when the test exits, however it exits.
#
# Each TUI's exit status lands in $SCRATCH/NAME.rc when it ends (the pane
# stays, so its last screen can still be read) and its stderr in
# $SCRATCH/NAME.err. Under ASan its reports go to $SCRATCH/asan.NAME.*.

if ! command -v tmux >/dev/null 2>&1; then
    echo "FAIL: the TUI tests need tmux (apt-get install tmux)" >&2
    exit 1
fi

TMUX_SOCK=$SCRATCH/tmux.sock
tm() { tmux -S "$TMUX_SOCK" -f /dev/null "$@"; }

tui_exit_trap() {
    local rc=$?
    tm kill-server >/dev/null 2>&1
    (exit "$rc")
    lib_cleanup
}
trap tui_exit_trap EXIT

# tui_start NAME [VAR=VALUE...] -- [counter arguments...]
# Start `counter ARGS` in a new 80x24 session NAME, with the variables given.
tui_start() {
    local name=$1
    shift
    local envs=() args=()
    while [ $# -gt 0 ] && [ "$1" != "--" ]; do
        envs+=("$1")
        shift
    done
    [ "${1:-}" = "--" ] && shift
    # --as ROLE:SUBJECT (the tests' shorthand): that person's real session.
    while [ $# -gt 0 ]; do
        if [ "$1" = "--as" ]; then
            envs+=("COUNTER_TOKEN=$(token_for "$2")")
            shift 2
        else
            args+=("$1")
            shift
        fi
    done
    rm -f "$SCRATCH/$name.rc" "$SCRATCH/$name.err"
    {
        echo "#!/bin/sh"
        printf 'export COUNTER_HOME=%q LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC TERM=screen\n' "$COUNTER_HOME"
        printf 'export ASAN_OPTIONS=%q UBSAN_OPTIONS=%q\n' \
            "log_path=$SCRATCH/asan.$name:${ASAN_OPTIONS:-}" "print_stacktrace=1:log_path=$SCRATCH/asan.$name"
        echo "unset NO_COLOR COUNTER_TOKEN"
        local e
        for e in "${envs[@]}"; do
            printf 'export %q\n' "$e"
        done
        printf '%q' "$COUNTER_BIN"
        local a
        for a in "${args[@]}"; do
            printf ' %q' "$a"
        done
        printf ' 2>%q\n' "$SCRATCH/$name.err"
        printf 'echo $? >%q\n' "$SCRATCH/$name.rc"
        echo "exec sleep 600"
    } >"$SCRATCH/$name.sh"
    if tm has-session -t "=$name" 2>/dev/null; then
        tm kill-session -t "=$name"
    fi
    tm new-session -d -s "$name" -x 80 -y 24 "sh $SCRATCH/$name.sh" ||
        fail "tmux cannot start session $name"
}

# The screen of NAME as plain text (24 lines at 80x24).
tui_cap() { tm capture-pane -p -t "=$1:"; }
# ... with attributes and colors as escape sequences.
tui_cap_e() { tm capture-pane -e -p -t "=$1:"; }

# tui_keys NAME KEY...: tmux key names (Enter, Escape, Tab, BTab, Up, C-l, ...).
tui_keys() {
    local name=$1
    shift
    tm send-keys -t "=$name:" "$@"
}
# tui_type NAME TEXT: TEXT typed literally.
tui_type() { tm send-keys -t "=$1:" -l "$2"; }

# screen_has NAME REGEX: the screen matches REGEX (extended); prints it.
screen_has() {
    local s
    s=$(tui_cap "$1") || return 1
    printf '%s\n' "$s"
    grep -Eq -- "$2" <<<"$s"
}
screen_lacks() {
    local s
    s=$(tui_cap "$1") || return 1
    printf '%s\n' "$s"
    ! grep -Eq -- "$2" <<<"$s"
}

# tui_wait SECONDS DESC NAME REGEX: wait until NAME's screen matches.
tui_wait() { wait_for "$1" "$2" screen_has "$3" "$4"; }

# tui_within MS T0 DESC NAME REGEX: NAME's screen matches REGEX within MS
# milliseconds (times TIME_SCALE) of T0 (now_ms), waiting at most 10 s.
tui_within() {
    local ms=$1 t0=$2 desc=$3 name=$4 re=$5
    local limit=$(( ms * TIME_SCALE ))
    if wait_for 10 "$desc (waiting)" screen_has "$name" "$re"; then
        local took=$(( $(now_ms) - t0 ))
        if [ "$took" -le "$limit" ]; then
            ok "$desc: $took ms (at most $limit ms)"
        else
            fail "$desc: took $took ms, expected at most $limit ms"
        fi
    fi
}

# Is the TUI NAME still running?
tui_running() { [ ! -e "$SCRATCH/$1.rc" ]; }

# tui_quit NAME: press q; the TUI must end with status 0 and no sanitizer report.
tui_quit() {
    local name=$1
    tui_keys "$name" q
    if wait_for 10 "$name: q ends the TUI" test -e "$SCRATCH/$name.rc"; then
        assert_eq "$(cat "$SCRATCH/$name.rc")" 0 "$name: the TUI exits with status 0"
    fi
    tui_no_reports "$name"
}

# No sanitizer report and nothing on stderr from NAME.
tui_no_reports() {
    local name=$1 f found=0
    for f in "$SCRATCH"/asan."$name".*; do
        [ -e "$f" ] || continue
        found=1
        fail "$name: sanitizer report $f"
        show "report" "$(head -n 30 "$f")"
    done
    [ "$found" -eq 1 ] || ok_no_report "$name: no sanitizer report"
    if [ -s "$SCRATCH/$name.err" ]; then
        fail "$name: the TUI wrote on stderr"
        show "stderr" "$(cat "$SCRATCH/$name.err")"
    fi
}

# Display width (terminal columns) of a text: wc -L counts wide characters
# as two columns in a UTF-8 locale.
text_width() { printf '%s\n' "$1" | wc -L; }
