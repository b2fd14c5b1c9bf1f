#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer targets and fuzz each on its corpus.
#
#   sh tests/fuzz/run.sh                 build, then fuzz each target 30 s
#   FUZZ_SECONDS=300 sh tests/fuzz/run.sh
#   FUZZ_SECONDS=0 sh tests/fuzz/run.sh  build, then only replay the corpus
#   FUZZ_TARGETS=sse sh tests/fuzz/run.sh
#
# Each target is compiled with clang -fsanitize=fuzzer,address,undefined
# from its parser and the few core files it needs, into build-fuzz/
# (FUZZ_BUILD).  New inputs found while fuzzing go to build-fuzz/corpus-<t>/,
# crashes to build-fuzz/crash-*; the committed seeds in tests/fuzz/corpus/<t>/
# are only read.  Every crash found belongs in that directory once fixed.
# Exits non-zero on a build failure or a crash.
set -eu

cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_TARGETS=${FUZZ_TARGETS:-"sse eventstream"}
DEPS="jansson libcurl libcrypto"

CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined"
CFLAGS="$CFLAGS -fno-sanitize-recover=undefined -D_GNU_SOURCE -Iinclude -Ilib -Itests/fuzz"
CFLAGS="$CFLAGS $(pkg-config --cflags $DEPS)"
LIBS="$(pkg-config --libs $DEPS) -lpthread"
CORE="lib/core/alloc.c lib/core/buf.c lib/core/util.c"

mkdir -p "$FUZZ_BUILD"
for t in $FUZZ_TARGETS; do
    case $t in
        sse) src=lib/transport/sse.c ;;
        eventstream) src=lib/transport/eventstream.c ;;
        *) echo "run.sh: unknown target $t" >&2; exit 2 ;;
    esac
    echo "== building fuzz_$t"
    # shellcheck disable=SC2086
    $FUZZ_CC $CFLAGS -o "$FUZZ_BUILD/fuzz_$t" "tests/fuzz/fuzz_$t.c" $src $CORE $LIBS
done

status=0
for t in $FUZZ_TARGETS; do
    seeds=tests/fuzz/corpus/$t
    if [ "$FUZZ_SECONDS" -eq 0 ]; then
        echo "== replaying $seeds on fuzz_$t"
        "$FUZZ_BUILD/fuzz_$t" -runs=0 "$seeds" || status=1
        continue
    fi
    work=$FUZZ_BUILD/corpus-$t
    mkdir -p "$work"
    echo "== fuzzing fuzz_$t for $FUZZ_SECONDS s"
    "$FUZZ_BUILD/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -max_len=8192 \
        -artifact_prefix="$FUZZ_BUILD/crash-$t-" -print_final_stats=1 \
        "$work" "$seeds" || status=1
done
exit $status
