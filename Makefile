# libllm - build, test, install.
#
#   make                 lib/libllm.so.1.0.0 (+ symlinks) and lib/libllm.a
#   make check           unit and loopback tests (native)
#   make check-asan      the same tests under AddressSanitizer + UBSan
#   make check-valgrind  the same tests under valgrind memcheck
#   make demo            the examples against the bundled test server
#   make check-redis     examples/redis_cache: shared cache and rate limit on redis-server
#   make install         PREFIX, DESTDIR, LIBDIR, INCLUDEDIR, MANDIR honoured
#   make CC=clang        any C11 compiler with GNU-style flags

VERSION    := 1.0.0
SOMAJOR    := 1
PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR    ?=

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes
DEPS    := libcurl jansson libcrypto
DEP_CFLAGS := $(shell pkg-config --cflags $(DEPS) 2>/dev/null)
DEP_LIBS   := $(shell pkg-config --libs $(DEPS) 2>/dev/null)

# Sanitizer and tool variants build into their own directory.
BUILD   ?= build
SAN     ?=
OUT     := $(if $(filter build,$(BUILD)),lib,$(BUILD)/lib)

EXCLUDE ?=
# Providers left out of the build: `make DISABLE="gemini bedrock"`.  A
# provider whose source is absent is left out too.
PROVIDERS := openai azure anthropic gemini bedrock
DISABLE ?=
OFF_PROVIDERS := $(sort $(DISABLE) $(foreach p,$(PROVIDERS),$(if $(wildcard lib/providers/$(p).c),,$(p))))
PROVIDER_DEFS := $(foreach p,$(OFF_PROVIDERS),-DLLM_DISABLE_PROVIDER_$(shell echo $(p) | tr a-z A-Z))
EXCLUDE += $(foreach p,$(DISABLE),lib/providers/$(p).c)
LIB_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SAN) -fPIC -fvisibility=hidden \
              -Iinclude -Ilib $(DEP_CFLAGS) -D_GNU_SOURCE $(PROVIDER_DEFS)
LIB_SRC := $(filter-out $(EXCLUDE),$(sort $(wildcard lib/core/*.c lib/transport/*.c lib/providers/*.c lib/hooks/*.c)))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)

SONAME  := libllm.so.$(SOMAJOR)
SHLIB   := $(OUT)/libllm.so.$(VERSION)
STLIB   := $(OUT)/libllm.a

TEST_CFLAGS := -std=c11 $(WARN) $(CFLAGS) $(SAN) -Iinclude -Ilib -Itests -Itests/lib $(DEP_CFLAGS) \
               -D_GNU_SOURCE -DLLM_STATIC
TEST_LIBS   := $(STLIB) $(DEP_LIBS) -lpthread
UNIT_SRC    := $(sort $(wildcard tests/unit/test_*.c))
INTEG_SRC   := $(sort $(wildcard tests/integration/test_*.c))
TESTLIB_SRC := $(sort $(wildcard tests/lib/*.c))
SERVER_SRC  := $(sort $(wildcard tests/server/*.c))
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
INTEG_BIN   := $(INTEG_SRC:tests/integration/%.c=$(BUILD)/tests/%)
SERVER_BIN  := $(BUILD)/tests/llmtestd
EXAMPLE_SRC := $(filter-out examples/redis_cache.c,$(sort $(wildcard examples/*.c)))
EXAMPLE_BIN := $(EXAMPLE_SRC:examples/%.c=$(BUILD)/examples/%)
# examples/redis_cache needs hiredis, which libllm itself never links: it is
# built only where pkg-config knows hiredis.
HIREDIS     := $(shell pkg-config --exists hiredis 2>/dev/null && echo yes)
REDIS_EXAMPLE := $(if $(HIREDIS),$(BUILD)/examples/redis_cache)

.PHONY: all check check-asan check-valgrind check-tsan check-redis bench demo install uninstall \
        clean tests examples headercheck symbols

all: $(SHLIB) $(OUT)/$(SONAME) $(OUT)/libllm.so $(STLIB)

$(BUILD)/obj/%.o: %.c include/llm.h lib/internal.h $(wildcard lib/*/*.h)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(SHLIB): $(LIB_OBJ) lib/llm.map
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SAN) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/llm.map \
	    -Wl,--no-undefined -o $@ $(LIB_OBJ) $(DEP_LIBS) -lpthread

$(OUT)/$(SONAME): $(SHLIB)
	ln -sf libllm.so.$(VERSION) $@

$(OUT)/libllm.so: $(OUT)/$(SONAME)
	ln -sf $(SONAME) $@

$(STLIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(BUILD)/tests/%: tests/unit/%.c $(STLIB) tests/test.h $(TESTLIB_SRC)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TESTLIB_SRC) $(TEST_LIBS)

$(BUILD)/tests/%: tests/integration/%.c $(STLIB) tests/test.h $(TESTLIB_SRC)
	@mkdir -p $(@D)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(TESTLIB_SRC) $(TEST_LIBS)

$(SERVER_BIN): $(SERVER_SRC) $(wildcard tests/server/*.h)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) $(SAN) -D_GNU_SOURCE -o $@ $(SERVER_SRC) -lpthread

$(BUILD)/examples/%: examples/%.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) $(SAN) -Iinclude -DLLM_STATIC -o $@ $< $(TEST_LIBS)

$(BUILD)/examples/redis_cache: examples/redis_cache.c examples/common.h $(STLIB)
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) $(SAN) -Iinclude $(shell pkg-config --cflags hiredis) -DLLM_STATIC \
	    -o $@ $< $(TEST_LIBS) $(shell pkg-config --libs hiredis)

tests: $(UNIT_BIN) $(INTEG_BIN) $(SERVER_BIN)
examples: $(EXAMPLE_BIN) $(REDIS_EXAMPLE)
ifeq ($(HIREDIS),)
	@echo "note: examples/redis_cache skipped: pkg-config does not know hiredis (Debian: libhiredis-dev)"
endif

check: all tests examples
	@BUILD=$(BUILD) sh tests/run.sh

check-asan:
	$(MAKE) BUILD=build-asan SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" CFLAGS="-O1 -g" tests examples
	@BUILD=build-asan ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh tests/run.sh

check-tsan:
	$(MAKE) BUILD=build-tsan SAN="-fsanitize=thread" CFLAGS="-O1 -g" tests
	@BUILD=build-tsan TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" LLM_TEST_ONLY=test_threads sh tests/run.sh

check-valgrind:
	$(MAKE) BUILD=build-vg CFLAGS="-O1 -g" tests examples
	@BUILD=build-vg LLM_TEST_VALGRIND=1 LLM_TEST_TIME_SCALE=10 sh tests/run.sh

BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Iinclude $(DEP_CFLAGS) -D_GNU_SOURCE

$(BUILD)/bench/baseline: tests/bench/baseline.c
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -o $@ $< $(DEP_LIBS)

$(BUILD)/bench/llmbench: tests/bench/llmbench.c $(STLIB)
	@mkdir -p $(@D)
	$(CC) $(BENCH_CFLAGS) -DLLM_STATIC -o $@ $< $(TEST_LIBS)

bench: all $(SERVER_BIN) $(BUILD)/bench/baseline $(BUILD)/bench/llmbench
	@BUILD=$(BUILD) sh tests/bench/run.sh

demo: all examples $(SERVER_BIN)
	@BUILD=$(BUILD) sh examples/demo.sh

# Two processes sharing the Redis cache and rate limit of examples/redis_cache,
# against a redis-server the script starts (skipped without one, unless CI=true).
check-redis: all examples $(SERVER_BIN)
	@BUILD=$(BUILD) sh tests/redis/test_redis.sh

install: all
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7
	install -m 644 include/llm.h $(DESTDIR)$(INCLUDEDIR)/llm.h
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libllm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libllm.so
	install -m 644 $(STLIB) $(DESTDIR)$(LIBDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' pkgconfig/libllm.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/libllm.pc
	for f in man/*.3; do [ -f "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man3/; done; true
	for f in man/*.7; do [ -f "$$f" ] && install -m 644 "$$f" $(DESTDIR)$(MANDIR)/man7/; done; true
	sh man/links.sh $(DESTDIR)$(MANDIR)/man3 install

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/llm.h $(DESTDIR)$(LIBDIR)/libllm.so.$(VERSION) \
	      $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libllm.so $(DESTDIR)$(LIBDIR)/libllm.a \
	      $(DESTDIR)$(PKGCONFIGDIR)/libllm.pc
	for f in man/*.3; do rm -f $(DESTDIR)$(MANDIR)/man3/$$(basename $$f); done; true
	for f in man/*.7; do rm -f $(DESTDIR)$(MANDIR)/man7/$$(basename $$f); done; true
	sh man/links.sh $(DESTDIR)$(MANDIR)/man3 uninstall

clean:
	rm -rf build build-asan build-vg build-tsan build-fuzz lib/libllm.so* lib/libllm.a
