#!/bin/sh
# tests/fuzz/run.sh - build the libFuzzer targets and fuzz each on its corpus.
#
#   sh tests/fuzz/run.sh                 build, then fuzz each target 30 s
#   FUZZ_SECONDS=300 sh tests/fuzz/run.sh
#   FUZZ_SECONDS=0 sh tests/fuzz/run.sh  build, then only replay the corpus
#   FUZZ_TARGETS=sse sh tests/fuzz/run.sh
#
# Targets are the tests/fuzz/fuzz_<t>.c files (FUZZ_TARGETS to choose).
# Each is compiled with clang -fsanitize=fuzzer,address,undefined into
# build-fuzz/ (FUZZ_BUILD): the framing parsers from their own source and
# the few core files they need, any other target from every library source
# (less FUZZ_EXCLUDE), with the Makefile's provider switches.  New inputs found while fuzzing go to build-fuzz/corpus-<t>/,
# crashes to build-fuzz/crash-*; the committed seeds in tests/fuzz/corpus/<t>/
# are only read.  Every crash found belongs in that directory once fixed.
# Exits non-zero if a target does not build or a fuzzer found a crash.
set -eu

cd "$(dirname "$0")/../.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_CC=${FUZZ_CC:-clang}
FUZZ_EXCLUDE=${FUZZ_EXCLUDE:-}
if [ -z "${FUZZ_TARGETS:-}" ]; then
    FUZZ_TARGETS=$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c | sed 's/^fuzz_//'; done)
fi
DEPS="jansson libcurl libcrypto"

CFLAGS="-std=c11 -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined"
CFLAGS="$CFLAGS -fno-sanitize-recover=undefined -D_GNU_SOURCE -Iinclude -Ilib -Itests/fuzz"
CFLAGS="$CFLAGS $(pkg-config --cflags $DEPS)"
LIBS="$(pkg-config --libs $DEPS) -lpthread"
CORE="lib/core/alloc.c lib/core/buf.c lib/core/util.c"

# As the Makefile does: a provider whose source is absent is left out.
for p in openai azure anthropic gemini bedrock; do
    if [ ! -f "lib/providers/$p.c" ]; then
        CFLAGS="$CFLAGS -DLLM_DISABLE_PROVIDER_$(echo "$p" | tr a-z A-Z)"
    fi
done
ALL_SRC=
for f in lib/core/*.c lib/transport/*.c lib/providers/*.c lib/hooks/*.c; do
    [ -f "$f" ] || continue
    case " $FUZZ_EXCLUDE " in *" $f "*) continue ;; esac
    ALL_SRC="$ALL_SRC $f"
done

mkdir -p "$FUZZ_BUILD"
status=0
built=
for t in $FUZZ_TARGETS; do
    case $t in
        sse) src="lib/transport/sse.c $CORE" ;;
        eventstream) src="lib/transport/eventstream.c $CORE" ;;
        *) src=$ALL_SRC ;;
    esac
    if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
        echo "run.sh: no tests/fuzz/fuzz_$t.c" >&2
        status=1
        continue
    fi
    echo "== building fuzz_$t"
    # shellcheck disable=SC2086
    if $FUZZ_CC $CFLAGS -o "$FUZZ_BUILD/fuzz_$t" "tests/fuzz/fuzz_$t.c" $src $LIBS; then
        built="$built $t"
    else
        echo "run.sh: fuzz_$t does not build" >&2
        status=1
    fi
done

for t in $built; do
    seeds=tests/fuzz/corpus/$t
    mkdir -p "$seeds"
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
