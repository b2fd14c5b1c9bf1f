#!/bin/sh
# tests/bench/run.sh - libllm against a raw libcurl + jansson program doing
# the same work, side by side in one run, against the local test server.
# Prints CPU and peak-RSS ratios (libllm / baseline); `make bench` runs it.
set -eu
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-5}
SEQ=${SEQ:-2000}
EVENTS=${EVENTS:-50000}
STREAMS=${STREAMS:-1000}
b=$BUILD/bench
fifo=$(mktemp -u)
mkfifo "$fifo"
"$BUILD/tests/llmtestd" --root tests/providers --quiet > "$fifo" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -f "$fifo"' EXIT INT TERM
read -r word port < "$fifo"
[ "$word" = PORT ] || { echo "test server did not start" >&2; exit 1; }
base=http://127.0.0.1:$port/t/openai

field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

measure() { # name, field, args...
    name=$1; what=$2; shift 2
    for i in $(seq "$ROUNDS"); do "$@" | field "$what"; done | median
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }

row() { # label, metric, baseline value, libllm value, target
    printf '%-44s %10s %10s %8s   %s\n' "$1" "$3" "$4" "$(ratio "$4" "$3")" "$5"
}

printf '%-44s %10s %10s %8s   %s\n' "benchmark (median of $ROUNDS)" baseline libllm ratio target
a_base=$(measure base cpu_ms $b/baseline seq "$SEQ" "$base/text/bench-seq/v1/chat/completions")
a_llm=$(measure llm cpu_ms $b/llmbench seq "$SEQ" "$base/text/bench-seq/v1")
row "(a) $SEQ sequential calls: CPU ms" cpu "$a_base" "$a_llm" "<= 1.10"
s_base=$(measure base cpu_ms $b/baseline stream "$base/x/sse=$EVENTS/v1/chat/completions")
s_llm=$(measure llm cpu_ms $b/llmbench stream "$base/x/sse=$EVENTS/v1")
row "(b) one stream of $EVENTS events: CPU ms" cpu "$s_base" "$s_llm" "<= 1.10"
m_base=$(measure base rss_kb $b/baseline multi "$STREAMS" "$base/x/sse=20/v1/chat/completions")
m_llm=$(measure llm rss_kb $b/llmbench multi "$STREAMS" "$base/x/sse=20/v1")
row "(c) $STREAMS concurrent streams: peak RSS KiB" rss "$m_base" "$m_llm" "<= 1.25"
mt_base=$(measure base cpu_ms $b/baseline multi "$STREAMS" "$base/x/sse=20/v1/chat/completions")
mt_llm=$(measure llm cpu_ms $b/llmbench multi "$STREAMS" "$base/x/sse=20/v1")
row "(c) $STREAMS concurrent streams: CPU ms" cpu "$mt_base" "$mt_llm" "(reported)"
