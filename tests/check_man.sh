#!/bin/sh
# tests/check_man.sh - every man page is clean under `mandoc -T lint -W
# warning`, every prototype in a SYNOPSIS matches include/llm.h, and every
# program in an EXAMPLES section compiles.
#
# A SYNOPSIS is compared by type and name, whitespace aside: `.Ft` with
# `.Fn` or `.Fo`/`.Fa`/`.Fc` against the LLM_API prototypes and the
# function-pointer typedefs, written `.Fo (*llm_name_fn)`, of the header.
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

# The SYNOPSIS comparison: llm.h first, then one page.
cat > "$tmp/synopsis.awk" <<'AWK'
# Types and names with whitespace made canonical: "char*  p" -> "char *p".
function norm(s) {
    gsub(/[ \t\n]+/, " ", s)
    gsub(/ *\* */, "*", s)
    gsub(/\*+/, " &", s)
    sub(/^ /, "", s)
    sub(/ $/, "", s)
    gsub(/\( /, "(", s)
    return s
}
# One signature as text: return type, then each parameter.
function sig(ret, args, nargs,    out, i) {
    out = norm(ret) " |"
    for (i = 1; i <= nargs; i++)
        out = out " " norm(args[i]) " |"
    return out
}
function parse_header(    t, st, s, p, q, ret, name, args, k, n, i, parts, a, na) {
    t = hdr
    while ((p = index(t, "/*")) > 0) {
        q = index(substr(t, p + 2), "*/")
        t = substr(t, 1, p - 1) " " substr(t, p + q + 3)
    }
    gsub(/\n/, " ", t)
    n = split(t, st, ";")
    for (k = 1; k <= n; k++) {
        s = st[k]
        if (s ~ /LLM_API /) {
            sub(/.*LLM_API /, "", s)
            if (!match(s, /llm_[a-z0-9_]+[ \t]*\(/))
                continue
            ret = substr(s, 1, RSTART - 1)
            name = substr(s, RSTART, RLENGTH)
            sub(/[ \t]*\($/, "", name)
            args = substr(s, RSTART + RLENGTH)
        } else if (s ~ /typedef [^;]*\(\*llm_[a-z0-9_]+\)/) {
            sub(/.*typedef /, "typedef ", s)
            match(s, /\(\*llm_[a-z0-9_]+\)/)
            ret = substr(s, 1, RSTART - 1)
            name = substr(s, RSTART, RLENGTH)
            args = substr(s, RSTART + RLENGTH)
            sub(/^[ \t]*\(/, "", args)
        } else {
            continue
        }
        sub(/\)[ \t]*$/, "", args)
        na = 0
        if (args !~ /^[ \t]*void[ \t]*$/) {
            na = split(args, parts, ",")
            for (i = 1; i <= na; i++)
                a[i] = parts[i]
        }
        proto[name] = sig(ret, a, na)
    }
}
function check(name, s) {
    checked = 1
    if (!(name in proto))
        bad = bad "    " name ": not in llm.h\n"
    else if (proto[name] != s)
        bad = bad "    " name ": page has  " s "\n    " \
              sprintf("%*s", length(name), "") "  llm.h has " proto[name] "\n"
}
FNR == 1 { file++ }
file == 1 {
    # Preprocessor lines hold no prototype, but LLM_API in its #defines.
    if ($0 !~ /^[ \t]*#/)
        hdr = hdr $0 "\n"
    next
}
FNR == 1 { parse_header() }
/^\.Sh[ \t]/ { sec = $0; sub(/^\.Sh[ \t]+/, "", sec); next }
sec != "SYNOPSIS" { next }
/^\.Ft / { ft = substr($0, 5); next }
/^\.Fn / {
    rest = substr($0, 5)
    name = rest
    sub(/[ \t].*/, "", name)
    rest = substr(rest, length(name) + 1)
    nargs = 0
    while (match(rest, /"[^"]*"/)) {
        args[++nargs] = substr(rest, RSTART + 1, RLENGTH - 2)
        rest = substr(rest, RSTART + RLENGTH)
    }
    check(name, sig(ft, args, nargs))
    next
}
/^\.Fo / { name = substr($0, 5); nargs = 0; next }
/^\.Fa / { v = substr($0, 5); gsub(/"/, "", v); args[++nargs] = v; next }
/^\.Fc/ { check(name, sig(ft, args, nargs)); next }
END {
    if (checked)
        printf "%s", (bad == "" ? "OK\n" : "BAD\n" bad)
}
AWK

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

    awk -f "$tmp/synopsis.awk" include/llm.h "$page" > "$tmp/syn"
    if [ -s "$tmp/syn" ]; then
        if [ "$(head -n 1 "$tmp/syn")" = OK ]; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1))
            echo "FAIL synopsis $name (differs from include/llm.h):"
            tail -n +2 "$tmp/syn"
        fi
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
