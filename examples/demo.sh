#!/bin/sh
# examples/demo.sh - run the examples against every provider through the
# bundled test server, or against a real provider whose key is set in the
# environment (OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, ...).
set -u
BUILD=${BUILD:-build}
bin=$BUILD/examples
server=$BUILD/tests/llmtestd

real() {
    # Print the providers that have a real key in the environment.
    [ -n "${OPENAI_API_KEY:-}" ] && echo openai
    [ -n "${ANTHROPIC_API_KEY:-}" ] && echo anthropic
    [ -n "${GEMINI_API_KEY:-}${GOOGLE_API_KEY:-}" ] && echo gemini
    [ -n "${AZURE_OPENAI_API_KEY:-}" ] && [ -n "${AZURE_OPENAI_ENDPOINT:-}" ] && echo azure
    [ -n "${AWS_ACCESS_KEY_ID:-}${AWS_BEARER_TOKEN_BEDROCK:-}" ] && echo bedrock
    true
}

live=$(real)
if [ -n "$live" ]; then
    for p in $live; do
        echo "== $p (live API) =="
        "$bin/chat" --provider "$p" "Say hi in five words." || exit 1
        "$bin/stream" --provider "$p" "Count from one to five." || exit 1
        "$bin/tools" --provider "$p" || exit 1
    done
    exit 0
fi

# No key: the test server replays each provider's recorded wire format.
fifo=$(mktemp -u)
mkfifo "$fifo"
"$server" --root tests/providers --quiet > "$fifo" &
spid=$!
trap 'kill $spid 2>/dev/null; rm -f "$fifo"' EXIT INT TERM
read -r word port < "$fifo"
[ "$word" = PORT ] || { echo "test server did not start" >&2; exit 1; }
base=http://127.0.0.1:$port/t

# Credentials the test server ignores; real ones never leave this machine.
export OPENAI_API_KEY=sk-demo AZURE_OPENAI_API_KEY=demo ANTHROPIC_API_KEY=demo GEMINI_API_KEY=demo
export AWS_ACCESS_KEY_ID=AKIDEXAMPLE AWS_SECRET_ACCESS_KEY=demo AWS_REGION=us-east-1
unset OPENAI_BASE_URL AZURE_OPENAI_ENDPOINT ANTHROPIC_BASE_URL AWS_BEARER_TOKEN_BEDROCK

suffix() {
    case $1 in
    openai) echo /v1 ;;
    gemini) echo /v1beta ;;
    *) echo "" ;;
    esac
}

status=0
for p in openai azure anthropic gemini bedrock; do
    s=$(suffix $p)
    echo "== $p (test server at 127.0.0.1:$port) =="
    "$bin/chat" --provider $p --base-url "$base/$p/text/demo$s" || status=1
    "$bin/stream" --provider $p --base-url "$base/$p/text/demo-split=7$s" || status=1
    "$bin/tools" --provider $p --base-url "$base/$p/tool_loop/demo$s" || status=1
done
# Every hook at once; the first attempt gets a 503, so a retry shows.
echo "== hooks (test server at 127.0.0.1:$port) =="
LLM_API_KEY_1=sk-demo-1 LLM_API_KEY_2=sk-demo-2 "$bin/hooks" \
    --base-url "$base/openai/text/fail=1x503,demo-hooks/v1" \
    --fallback-url "$base/openai/text/demo-fallback/v1" || status=1
exit $status
