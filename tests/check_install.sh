#!/bin/sh
# tests/check_install.sh - `make install` into a staging DESTDIR gives a
# library that the README's program builds against with pkg-config and runs
# with (against the test server), and `make uninstall` removes it all.
set -eu
BUILD=${BUILD:-build}
stage=$(mktemp -d)
tmp=$(mktemp -d)
fifo=$tmp/port
trap 'kill ${spid:-0} 2>/dev/null; rm -rf "$stage" "$tmp"' EXIT
make -s BUILD="$BUILD" DESTDIR="$stage" PREFIX=/usr/local install >/dev/null
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_PATH="$stage/usr/local/lib/pkgconfig"
awk '/^```c$/ {on=1; next} /^```$/ {if (on) exit} on {print}' README.md > "$tmp/hello.c"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Werror "$tmp/hello.c" $(pkg-config --cflags --libs libllm) -o "$tmp/hello"
mkfifo "$fifo"
"$BUILD/tests/llmtestd" --root tests/providers --quiet > "$fifo" &
spid=$!
read -r word port < "$fifo"
out=$(OPENAI_API_KEY=sk-install OPENAI_BASE_URL="http://127.0.0.1:$port/t/openai/text/install/v1" \
      LD_LIBRARY_PATH="$stage/usr/local/lib" "$tmp/hello")
fail=0
[ "$out" = "Hello from libllm." ] || { echo "installed hello printed: $out"; fail=1; }
[ -L "$stage/usr/local/lib/libllm.so.1" ] || { echo "no soname link"; fail=1; }
[ -f "$stage/usr/local/share/man/man3/llm_stream_next.3" ] || { echo "no man link for llm_stream_next"; fail=1; }
make -s BUILD="$BUILD" DESTDIR="$stage" PREFIX=/usr/local uninstall >/dev/null
left=$(find "$stage" -type f -o -type l | head -5)
[ -z "$left" ] || { echo "uninstall left: $left"; fail=1; }
if [ $fail = 0 ]; then echo "install check: 1 passed, 0 failed"; else echo "install check: 0 passed, 1 failed"; fi
exit $fail
