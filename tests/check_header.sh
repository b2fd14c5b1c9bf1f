#!/bin/sh
# tests/check_header.sh - include/llm.h alone compiles as strict C99 and as
# C++, with every warning an error, under gcc and (when present) clang.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "llm.h"\nint main(void) { return llm_version_num() == LLM_VERSION_NUM ? 0 : 1; }\n' > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
fail=0
for cc in gcc clang; do
    command -v $cc >/dev/null 2>&1 || continue
    $cc -std=c99 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only "$tmp/h.c" || fail=1
done
for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || continue
    $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -Iinclude -fsyntax-only "$tmp/h.cpp" || fail=1
done
if [ $fail = 0 ]; then echo "header check: 1 passed, 0 failed"; else echo "header check: 0 passed, 1 failed"; fi
exit $fail
