#!/bin/sh
# tests/check_symbols.sh LIBDIR - the exported symbols equal the documented
# API: nm -D lists exactly the names of lib/llm.map, every LLM_API function
# of include/llm.h is in the map, every global of libllm.a starts with llm_,
# and every exported function has a man page.
set -eu
dir=${1:-lib}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed -n 's/^ *\(llm_[a-z0-9_]*\);$/\1/p' lib/llm.map | sort > "$tmp/map"
grep -o 'LLM_API[^;]*' include/llm.h | grep -o '\bllm_[a-z0-9_]*\s*(' | sed 's/\s*($//' | sort -u > "$tmp/header"
nm -D --defined-only "$dir/libllm.so" | awk '$2 ~ /[TDBR]/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
nm -g --defined-only "$dir/libllm.a" 2>/dev/null | awk 'NF == 3 {print $3}' | sort -u > "$tmp/static"
fail=0
if ! diff -u "$tmp/header" "$tmp/map" > "$tmp/d1"; then echo "llm.h and lib/llm.map differ:"; cat "$tmp/d1"; fail=1; fi
if ! diff -u "$tmp/map" "$tmp/exported" > "$tmp/d2"; then echo "lib/llm.map and the exported symbols differ:"; cat "$tmp/d2"; fail=1; fi
bad=$(grep -v '^llm_' "$tmp/static" | grep -v '^llm__' || true)
if [ -n "$bad" ]; then echo "libllm.a has globals outside the llm_ prefix:"; echo "$bad"; fail=1; fi
for f in $(cat "$tmp/map"); do
    grep -qs "^\.Nm $f\$" man/*.3 || { echo "no man page names $f"; fail=1; }
done
if [ $fail = 0 ]; then echo "symbol check: 1 passed, 0 failed"; else echo "symbol check: 0 passed, 1 failed"; fi
exit $fail
