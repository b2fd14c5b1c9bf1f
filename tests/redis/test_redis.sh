#!/bin/sh
# tests/redis/test_redis.sh - examples/redis_cache as a fleet of processes
# on one real redis-server: a cache entry stored by one process answers
# another, a rate limit is shared (also by processes running at once), the
# Lua script survives SCRIPT FLUSH, and a Redis outage fails the cache open
# and admission closed.  Requests reaching the provider are counted by the
# libllm test server (GET /_/stats).
#
#   BUILD=build sh tests/redis/test_redis.sh      (from the top of the tree;
#                                                  `make check-redis` builds first)
#
# Starts its own redis-server on the first free port of 6390..6420 and the
# test server on an ephemeral port, and stops both.  Without redis-server,
# redis-cli, curl or the redis_cache binary (built only with hiredis) it
# skips, except when CI=true, where that is a failure (DESIGN.md 8).  The
# last line is "N passed, M failed"; the exit status is non-zero when M > 0.
# shellcheck disable=SC2317  # the helpers are called through check()
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
prog=$BUILD/examples/redis_cache
server=$BUILD/tests/llmtestd

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok - $1"; }
notok() { failed=$((failed + 1)); echo "not ok - $1"; }
check() {   # check NAME COMMAND...: passes when the command succeeds
    name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}
finish() {
    echo "$passed passed, $failed failed"
    exit $((failed > 0))
}
between() { [ "$1" -ge "$2" ] 2>/dev/null && [ "$1" -le "$3" ]; }   # between N LO HI

missing=""
command -v redis-server >/dev/null 2>&1 || missing="$missing redis-server"
command -v redis-cli >/dev/null 2>&1 || missing="$missing redis-cli"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
[ -x "$prog" ] || missing="$missing $prog (needs hiredis: libhiredis-dev)"
[ -x "$server" ] || missing="$missing $server"
if [ -n "$missing" ]; then
    if [ "${CI:-}" = true ]; then
        notok "missing:$missing"
    else
        echo "# skipped: missing:$missing"
    fi
    finish
fi

tmp=$(mktemp -d)
rpid=""
spid=""
cleanup() {
    [ -n "$rpid" ] && kill "$rpid" 2>/dev/null
    [ -n "$spid" ] && kill "$spid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

nap() { sleep 0.1 2>/dev/null || sleep 1; }
TIMEOUT=
command -v timeout >/dev/null 2>&1 && TIMEOUT="timeout 60"

# ---- redis-server on a free port ----------------------------------------
# redis-server cannot take port 0: try ports until one is ours, which the
# INFO reply's process id proves (another Redis may answer on a taken port).
rport=""
p=6390
while [ "$p" -le 6420 ] && [ -z "$rport" ]; do
    redis-server --port "$p" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
        --dir "$tmp" --logfile "$tmp/redis-$p.log" &
    rpid=$!
    i=0
    while [ "$i" -lt 50 ] && kill -0 "$rpid" 2>/dev/null; do
        if redis-cli -p "$p" INFO server 2>/dev/null | tr -d '\r' | grep -qx "process_id:$rpid"; then
            rport=$p
            break
        fi
        nap
        i=$((i + 1))
    done
    if [ -z "$rport" ]; then
        kill "$rpid" 2>/dev/null
        wait "$rpid" 2>/dev/null
        rpid=""
        p=$((p + 1))
    fi
done
if [ -z "$rport" ]; then
    notok "redis-server did not start on any port of 6390..6420"
    finish
fi
echo "# redis-server $rpid on 127.0.0.1:$rport"
rcli() { redis-cli -p "$rport" "$@" 2>/dev/null | tr -d '\r'; }

# ---- the libllm test server ---------------------------------------------
"$server" --root tests/providers --quiet > "$tmp/port" 2>&1 &
spid=$!
sport=""
i=0
while [ "$i" -lt 50 ] && [ -z "$sport" ]; do
    sport=$(sed -n 's/^PORT \([0-9][0-9]*\)$/\1/p' "$tmp/port")
    [ -n "$sport" ] || nap
    i=$((i + 1))
done
if [ -z "$sport" ]; then
    notok "the test server did not start"
    finish
fi

# Credentials the test server ignores; one key, so one cache scope for all.
export OPENAI_API_KEY=sk-redis-test
unset OPENAI_BASE_URL
run=$$
url() { echo "http://127.0.0.1:$sport/t/openai/text/$1/v1"; }
requests() {   # requests the test server answered under one nonce
    curl -s "http://127.0.0.1:$sport/_/stats?prefix=/t/openai/text/$1" |
        sed -n 's/.*"requests":\([0-9][0-9]*\).*/\1/p'
}
# redis_cache NAME [options...]: output in $tmp/NAME.out, status in $tmp/NAME.rc
redis_cache() {
    name=$1
    shift
    $TIMEOUT "$prog" --redis "127.0.0.1:$rport" "$@" > "$tmp/$name.out" 2> "$tmp/$name.err"
    echo $? > "$tmp/$name.rc"
}
status_is() { [ "$(cat "$tmp/$1.rc")" = "$2" ]; }
says() { grep -qx "$2" "$tmp/$1.out"; }
count() { grep -c "$2" "$tmp/$1.out"; }

# ---- a cache entry of process A answers process B --------------------------
n=c$run
redis_cache a --base-url "$(url $n)" --ttl 600000 "Say hi."
check "process A: a miss, answered by the provider" \
    says a "call 1: cache miss: Hello from libllm."
check "process A: exit status 0" status_is a 0
redis_cache b --base-url "$(url $n)" --ttl 600000 --repeat 2 "Say hi."
check "process B: both calls hit A's entry" \
    sh -c "grep -qx 'call 1: cache hit: Hello from libllm.' '$tmp/b.out' &&
           grep -qx 'call 2: cache hit: Hello from libllm.' '$tmp/b.out'"
check "process B: exit status 0" status_is b 0
check "the provider saw one request for three calls" [ "$(requests $n)" = 1 ]
keys=$(rcli --scan --pattern 'llm:cache:*')
nkeys=$(printf '%s\n' "$keys" | grep -c '^llm:cache:[0-9a-f]\{64\}$')
check "Redis holds one entry, llm:cache: and 64 hex digits ($nkeys)" [ "$nkeys" = 1 ]
pttl=$(rcli PTTL "$keys")
check "the entry expires within the TTL given (PTTL $pttl)" between "$pttl" 1 600000

# ---- a rate limit shared by two processes ----------------------------------
n=r$run
redis_cache ra --base-url "$(url $n)" --rate 2 --per 60000 --user alice --no-cache
check "rate 2/min, process A: call 1 admitted" \
    says ra "call 1: cache miss: Hello from libllm."
redis_cache rb --base-url "$(url $n)" --rate 2 --per 60000 --user alice --no-cache --repeat 2
check "rate 2/min, process B: the second call across both is admitted" \
    says rb "call 1: cache miss: Hello from libllm."
check "rate 2/min, process B: the third call across both is denied" \
    says rb "call 2: denied: LLM_ERR_RATE_LIMITED (-16)"
check "process B: exit status 3 (denied)" status_is rb 3
check "the provider saw two requests" [ "$(requests $n)" = 2 ]
redis_cache rc --base-url "$(url $n)" --rate 2 --per 60000 --user bob --no-cache
check "another user has a bucket of their own" status_is rc 0
ttl=$(rcli PTTL llm:rate:user:alice)
check "the bucket is a Redis key that expires within one interval (PTTL $ttl)" \
    between "$ttl" 1 60000

# ---- two processes at once: the script is atomic ---------------------------
n=p$run
redis_cache pa --base-url "$(url $n)" --rate 3 --per 60000 --user carol --no-cache --repeat 5 &
pa=$!
redis_cache pb --base-url "$(url $n)" --rate 3 --per 60000 --user carol --no-cache --repeat 5 &
pb=$!
wait "$pa"
wait "$pb"
got=$(( $(count pa ': cache miss:') + $(count pb ': cache miss:') ))
den=$(( $(count pa ': denied: LLM_ERR_RATE_LIMITED') + $(count pb ': denied: LLM_ERR_RATE_LIMITED') ))
check "10 concurrent calls, rate 3/min: 3 admitted ($got), 7 denied ($den)" \
    [ "$got.$den" = 3.7 ]
check "the provider saw three requests" [ "$(requests $n)" = 3 ]

# ---- SCRIPT FLUSH between two calls of one process: EVAL takes over --------
n=s$run
wait_for() {   # wait_for FILE PATTERN: up to 10 s
    j=0
    while [ "$j" -lt 100 ] && ! grep -q "$2" "$1" 2>/dev/null; do
        nap
        j=$((j + 1))
    done
}
{
    echo "Say hi."
    wait_for "$tmp/sf.out" "^call 1:"
    rcli SCRIPT FLUSH >/dev/null
    echo "Say hi."
} | redis_cache sf --base-url "$(url $n)" --rate 10 --per 60000 --no-cache -
check "after SCRIPT FLUSH the next call is still metered and admitted" \
    sh -c "grep -qx 'call 1: cache miss: Hello from libllm.' '$tmp/sf.out' &&
           grep -qx 'call 2: cache miss: Hello from libllm.' '$tmp/sf.out'"
# Both calls came out of the shared bucket (full: 10 * 60000 units, one
# call 60000, refilled at 10 a millisecond): below 540000 means two.
level=$(rcli EVAL "return tonumber(redis.call('HGET', KEYS[1], 'level'))" 1 llm:rate:global)
check "the bucket without a user took both calls (level $level)" between "$level" 0 539999

# ---- Redis down: the cache fails open, admission fails closed --------------
kill "$rpid" 2>/dev/null
wait "$rpid" 2>/dev/null
rpid=""
n=d$run
redis_cache da --base-url "$(url $n)" "Say hi."
check "Redis down, no rate limit: answered without the cache" \
    says da "call 1: cache miss: Hello from libllm."
check "Redis down: the cache errors are counted" \
    grep -q "; 2 Redis cache errors" "$tmp/da.err"
n=e$run
redis_cache db --base-url "$(url $n)" --rate 5 --per 1000 "Say hi."
check "Redis down, with a rate limit: the call fails closed" \
    says db "call 1: failed: LLM_ERR_CALLBACK"
check "process with a rate limit: exit status 1" status_is db 1
check "nothing unmetered reached the provider" [ "$(requests $n)" = 0 ]

for f in "$tmp"/*.err; do
    [ -s "$f" ] && sed "s|^|# ${f##*/}: |" "$f"
done
finish
