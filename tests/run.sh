#!/bin/sh
# tests/run.sh - runs every test binary in $BUILD/tests and adds up results.
#
#   BUILD=build sh tests/run.sh            (from the top of the tree)
#   LLM_TEST_VALGRIND=1                    run each binary under valgrind memcheck
#
# Each binary prints "ok"/"not ok" lines and ends with "# totals P F".  A
# binary that prints no totals line, or whose exit status does not match
# its totals (a crash, a sanitizer or valgrind report, a timeout), counts
# as one more failure and is named.  The last line is always
# "N passed, M failed"; the exit status is non-zero when M > 0.

BUILD=${BUILD:-build}
LLM_TEST_SERVER=${LLM_TEST_SERVER:-$BUILD/tests/llmtestd}
LLM_TEST_ROOT=${LLM_TEST_ROOT:-tests/providers}
export BUILD LLM_TEST_SERVER LLM_TEST_ROOT

TIMEOUT=
if command -v timeout >/dev/null 2>&1; then
    TIMEOUT="timeout 300"
fi
VALGRIND=
if [ "${LLM_TEST_VALGRIND:-0}" = 1 ]; then
    VALGRIND="valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --quiet"
fi

out=${TMPDIR:-/tmp}/llm-run.$$
trap 'rm -f "$out"' EXIT
trap 'rm -f "$out"; exit 130' INT TERM

passed=0
failed=0
extra=""
ran=0

for t in "$BUILD"/tests/test_*; do
    [ -f "$t" ] && [ -x "$t" ] || continue
    name=${t##*/}
    # LLM_TEST_ONLY=a,b runs only the named binaries (check-tsan uses it).
    if [ -n "${LLM_TEST_ONLY:-}" ]; then
        case ",$LLM_TEST_ONLY," in *",$name,"*) ;; *) continue ;; esac
    fi
    ran=$((ran + 1))
    echo "# $name"
    # shellcheck disable=SC2086
    $TIMEOUT $VALGRIND "$t" >"$out" 2>&1
    rc=$?
    cat "$out"
    totals=$(awk '$1 == "#" && $2 == "totals" && NF == 4 { p = $3; f = $4; seen = 1 }
                  END { if (seen) print p, f }' "$out")
    if [ -z "$totals" ]; then
        why="printed no totals line (exit status $rc)"
        [ "$rc" = 124 ] && why="timed out"
        echo "not ok - $name: $why"
        failed=$((failed + 1))
        extra="$extra $name"
        continue
    fi
    p=${totals% *}
    f=${totals#* }
    passed=$((passed + p))
    failed=$((failed + f))
    # Exit 1 with failures is the harness's own verdict; anything else that
    # is not 0 (or 1 with no failures) is a crash, a tool report or a timeout.
    if [ "$rc" != 0 ] && ! { [ "$rc" = 1 ] && [ "$f" -gt 0 ]; }; then
        why="exited with status $rc"
        [ "$rc" = 124 ] && why="timed out"
        [ "$rc" = 99 ] && why="valgrind reported errors"
        echo "not ok - $name: $why"
        failed=$((failed + 1))
        extra="$extra $name"
    fi
done

if [ "$ran" = 0 ]; then
    echo "not ok - no test binaries in $BUILD/tests"
    failed=$((failed + 1))
fi
if [ -n "$extra" ]; then
    echo "# binaries that failed outright:$extra"
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
