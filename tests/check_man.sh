#!/bin/sh
# tests/check_man.sh - every man page is clean under `mandoc -T lint -W
# warning`, and every program in an EXAMPLES section compiles.
#
# A program is the text of one `.Bd -literal` ... `.Ed` display between
# `.Sh EXAMPLES` and the next `.Sh`, with the roff escapes a C listing needs
# undone (\e, \&, \-, \(aq, \(dq); displays without `main(` are fragments
# and are not compiled.  Compile only: nothing is linked or run.
set -u
cd "$(dirname "$0")/.." || exit 1
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0

if ! command -v mandoc >/dev/null 2>&1; then
    echo "check_man: mandoc not found" >&2
    echo "man check: 0 passed, 1 failed"
    exit 1
fi

for page in man/*.3 man/*.7; do
    [ -f "$page" ] || continue
    name=$(basename "$page")

    if mandoc -T lint -W warning "$page" > "$tmp/lint" 2>&1 && [ ! -s "$tmp/lint" ]; then
        pass=$((pass + 1))
    else
        fail=$((fail + 1))
        echo "FAIL lint $name:"
        sed 's/^/    /' "$tmp/lint"
    fi

    rm -f "$tmp"/ex.*.c
    awk -v base="$tmp/ex" '
        function unescape(s,    out, i, c, n) {
            out = ""
            for (i = 1; i <= length(s); i++) {
                c = substr(s, i, 1)
                if (c != "\\") { out = out c; continue }
                n = substr(s, i + 1, 1)
                if (n == "e") { out = out "\\"; i++ }
                else if (n == "&") { i++ }
                else if (n == "-") { out = out "-"; i++ }
                else if (substr(s, i + 1, 3) == "(aq") { out = out "\047"; i += 3 }
                else if (substr(s, i + 1, 3) == "(dq") { out = out "\""; i += 3 }
                else out = out c
            }
            return out
        }
        /^\.Sh[ \t]/ { inex = ($0 ~ /^\.Sh[ \t]+EXAMPLES[ \t]*$/); lit = 0; next }
        inex && /^\.Bd[ \t].*-literal/ { lit = 1; n++; file = base "." n ".c"; printf "" > file; next }
        inex && lit && /^\.Ed([ \t]|$)/ { lit = 0; close(file); next }
        inex && lit { print unescape($0) > file }
    ' "$page"

    for ex in "$tmp"/ex.*.c; do
        [ -f "$ex" ] || continue
        grep -q 'main(' "$ex" || continue
        k=$(basename "$ex" .c)
        k=${k#ex.}
        if $CC -std=c99 -Wall -Wextra -Werror -Iinclude -c "$ex" -o "$tmp/ex.o" > "$tmp/cc" 2>&1; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL compile $name, EXAMPLES program $k:"
            sed 's/^/    /' "$tmp/cc"
        fi
    done
done

echo "man check: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
