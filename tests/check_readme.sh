#!/bin/sh
# tests/check_readme.sh - the C example of README.md compiles as shown.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
awk '/^```c$/ {on=1; next} /^```$/ {if (on) exit} on {print}' README.md > "$tmp/readme.c"
lines=$(wc -l < "$tmp/readme.c")
if cc -std=c99 -Wall -Wextra -Werror -Iinclude -c "$tmp/readme.c" -o "$tmp/readme.o"; then
    echo "README example ($lines lines): 1 passed, 0 failed"
else
    echo "README example: 0 passed, 1 failed"
    exit 1
fi
