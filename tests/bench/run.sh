#!/bin/sh
# tests/bench/run.sh - libllm against a raw libcurl + jansson program doing
# the same work (tests/bench/baseline.c), side by side in one run, against
# the local test server.  `make bench` runs it; tests/bench/README.md says
# how to read it.
#
#   ROUNDS=15 SEQ=2000 EVENTS=50000 STREAMS=1000 sh tests/bench/run.sh
#   CALLGRIND=1 ...      also compare instruction counts (a) and (b) under
#                        valgrind --tool=callgrind (slow, repeatable)
#   PIN=0 ...            do not pin the server to CPU 0 and the clients to
#                        CPU 1 (pinning needs taskset and two CPUs)
#
# Each round runs the baseline and libllm back to back (alternating which
# goes first), so both see the same machine state; a figure is the median
# over the rounds, and a ratio is the median of the per-round ratios.  CPU
# is getrusage user+sys of the client process over the calls only; the
# test server's own CPU is read from /proc to show it is not the limit.
set -eu
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-15}
SEQ=${SEQ:-2000}
EVENTS=${EVENTS:-50000}
STREAMS=${STREAMS:-1000}
MULTI_EVENTS=${MULTI_EVENTS:-20}
b=$BUILD/bench
srv_pin=""
cli_pin=""
if [ "${PIN:-1}" = 1 ] && command -v taskset >/dev/null 2>&1 && [ "$(nproc 2>/dev/null || echo 1)" -ge 2 ]; then
    srv_pin="taskset -c 0"
    cli_pin="taskset -c 1"
fi
tmp=$(mktemp -d)
fifo=$tmp/fifo
mkfifo "$fifo"
$srv_pin "$BUILD/tests/llmtestd" --root tests/providers --quiet > "$fifo" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM
read -r word port < "$fifo"
[ "$word" = PORT ] || { echo "test server did not start" >&2; exit 1; }
base=http://127.0.0.1:$port/t/openai

# Ticks of CPU the server has used so far (utime + stime).
server_ticks() { awk '{ print $14 + $15 }' "/proc/$spid/stat"; }
hz=$(getconf CLK_TCK)

field() { sed -n "s/.*[^a-z_]$1=\([0-9]*\).*/\1/p; s/^$1=\([0-9]*\).*/\1/p" | head -n 1; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print 0 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.3f", a / b }'; }

# run NAME ARGS...: one run; its output line goes to $tmp/NAME.<round>,
# with the server's CPU during the run appended as srv_us=.
run() {
    name=$1; shift
    t0=$(server_ticks)
    # shellcheck disable=SC2086
    if ! out=$($cli_pin "$@"); then
        echo "FAILED: $*" >&2
        exit 1
    fi
    t1=$(server_ticks)
    echo "$out srv_us=$(( (t1 - t0) * 1000000 / hz ))" > "$tmp/$name.$round"
}

# pair TAG BASE_ARGS -- LLM_ARGS: both sides of one benchmark, in an order
# that alternates from round to round.
pair() {
    tag=$1; shift
    bargs=""; while [ "$1" != "--" ]; do bargs="$bargs $1"; shift; done; shift
    if [ $((round % 2)) = 1 ]; then
        # shellcheck disable=SC2086
        run "$tag.base" "$b/baseline" $bargs
        run "$tag.llm" "$b/llmbench" "$@"
    else
        run "$tag.llm" "$b/llmbench" "$@"
        # shellcheck disable=SC2086
        run "$tag.base" "$b/baseline" $bargs
    fi
}

round=1
while [ "$round" -le "$ROUNDS" ]; do
    pair a seq "$SEQ" "$base/text/bench-seq/v1/chat/completions" -- seq "$SEQ" "$base/text/bench-seq/v1"
    pair b stream "$base/x/sse=$EVENTS/v1/chat/completions" -- stream "$base/x/sse=$EVENTS/v1"
    pair c multi "$STREAMS" "$base/x/sse=$MULTI_EVENTS/v1/chat/completions" -- \
        multi "$STREAMS" "$base/x/sse=$MULTI_EVENTS/v1"
    round=$((round + 1))
done

# med TAG.SIDE FIELD: median of a field over the rounds.
med() { for f in "$tmp/$1".*; do field "$2" < "$f"; done | median; }
# mn TAG.SIDE FIELD: the least value over the rounds (the least disturbed run).
mn() { for f in "$tmp/$1".*; do field "$2" < "$f"; done | sort -n | head -n 1; }
# rmin TAG FIELD: ratio of the two least values.
rmin() { ratio "$(mn "$1.llm" "$2")" "$(mn "$1.base" "$2")"; }
# rmed TAG FIELD: median of the per-round ratios llm / base.
rmed() {
    r=1
    while [ "$r" -le "$ROUNDS" ]; do
        ratio "$(field "$2" < "$tmp/$1.llm.$r")" "$(field "$2" < "$tmp/$1.base.$r")"
        echo
        r=$((r + 1))
    done | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] " (" a[1] "-" a[NR] ")" }'
}

nproc_=$(nproc 2>/dev/null || echo "?")
cpu_=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
echo "machine: $nproc_ CPUs, ${cpu_:-unknown CPU}; load average $(cut -d' ' -f1-3 /proc/loadavg)"
pinned="not pinned"
[ -n "$cli_pin" ] && pinned="clients pinned to CPU 1, the server to CPU 0"
echo "rounds: $ROUNDS (baseline and libllm alternate first), figures are medians; $pinned"
echo
printf '%-44s %9s %9s %21s %9s  %s\n' "benchmark (medians)" baseline libllm "ratio (range)" "min/min" target
row() { printf '%-44s %9s %9s %21s %9s  %s\n' "$1" "$2" "$3" "$4" "$5" "$6"; }

a_b=$(med a.base cpu_us); a_l=$(med a.llm cpu_us)
row "(a) $SEQ sequential calls: CPU us/call" "$((a_b / SEQ))" "$((a_l / SEQ))" "$(rmed a cpu_us)" "$(rmin a cpu_us)" "<= 1.10"
s_b=$(med b.base cpu_us); s_l=$(med b.llm cpu_us)
row "(b) one stream, $EVENTS events: CPU ms" "$((s_b / 1000))" "$((s_l / 1000))" "$(rmed b cpu_us)" "$(rmin b cpu_us)" "<= 1.10"
bytes=$(med b.base bytes)
mbs() { awk -v n="$bytes" -v us="$1" 'BEGIN { if (us == 0) print "n/a"; else printf "%.1f", n / us }'; }
row "(b)   MB/s per CPU second" "$(mbs "$s_b")" "$(mbs "$s_l")" "" "" "($bytes bytes)"
w_b=$(med b.base wall_us); w_l=$(med b.llm wall_us)
row "(b)   MB/s wall" "$(mbs "$w_b")" "$(mbs "$w_l")" "" "" ""
m_b=$(med c.base rss_kb); m_l=$(med c.llm rss_kb)
row "(c) $STREAMS streams: peak RSS KiB" "$m_b" "$m_l" "$(rmed c rss_kb)" "$(rmin c rss_kb)" "<= 1.25"
c_b=$(med c.base wall_us); c_l=$(med c.llm wall_us)
row "(c)   wall ms" "$((c_b / 1000))" "$((c_l / 1000))" "$(rmed c wall_us)" "$(rmin c wall_us)" "(reported)"
c_b=$(med c.base cpu_us); c_l=$(med c.llm cpu_us)
row "(c)   CPU ms" "$((c_b / 1000))" "$((c_l / 1000))" "$(rmed c cpu_us)" "$(rmin c cpu_us)" "(reported)"
echo
echo "test server CPU during the runs (median ms): (a) $(( $(med a.base srv_us) / 1000 )) / $(( $(med a.llm srv_us) / 1000 )),"\
     "(b) $(( $(med b.base srv_us) / 1000 )) / $(( $(med b.llm srv_us) / 1000 )),"\
     "(c) $(( $(med c.base srv_us) / 1000 )) / $(( $(med c.llm srv_us) / 1000 )) (baseline / libllm)"

# Memory in stream length: ten times the events may add only the text.
big=$((EVENTS * 10))
round=0
run flat.small "$b/llmbench" stream "$base/x/sse=$EVENTS/v1"
run flat.big "$b/llmbench" stream "$base/x/sse=$big/v1"
r_small=$(field rss_kb < "$tmp/flat.small.0"); r_big=$(field rss_kb < "$tmp/flat.big.0")
echo "libllm peak RSS, one stream: $EVENTS events $r_small KiB, $big events $r_big KiB" \
     "(text grows by $(( (big - EVENTS) * 4 / 1024 )) KiB)"

if [ "${CALLGRIND:-0}" = 1 ]; then
    ir() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null |
           sed -n 's/.*refs: *//p' | tr -d ,; }
    n=$((SEQ / 4)); e=$((EVENTS / 5))
    ia_b=$(ir "$b/baseline" seq "$n" "$base/text/bench-seq/v1/chat/completions")
    ia_l=$(ir "$b/llmbench" seq "$n" "$base/text/bench-seq/v1")
    i0_b=$(ir "$b/baseline" seq 1 "$base/text/bench-seq/v1/chat/completions")
    i0_l=$(ir "$b/llmbench" seq 1 "$base/text/bench-seq/v1")
    ib_b=$(ir "$b/baseline" stream "$base/x/sse=$e/v1/chat/completions")
    ib_l=$(ir "$b/llmbench" stream "$base/x/sse=$e/v1")
    j0_b=$(ir "$b/baseline" stream "$base/x/sse=1/v1/chat/completions")
    j0_l=$(ir "$b/llmbench" stream "$base/x/sse=1/v1")
    echo
    echo "callgrind instructions, start-up (a run of one call / one event) subtracted:"
    row "(a) per call ($n calls)" "$(( (ia_b - i0_b) / (n - 1) ))" "$(( (ia_l - i0_l) / (n - 1) ))" \
        "$(ratio $((ia_l - i0_l)) $((ia_b - i0_b)))" "" "<= 1.10"
    row "(b) per event ($e events)" "$(( (ib_b - j0_b) / (e - 1) ))" "$(( (ib_l - j0_l) / (e - 1) ))" \
        "$(ratio $((ib_l - j0_l)) $((ib_b - j0_b)))" "" "<= 1.10"
fi
