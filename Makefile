# mxcache — a caching recursive DNS resolver for mail servers.
#
#   make          build build/mxcached (and the tools); only builds: a missing
#                 build dependency is named, with the command that installs it
#   make deps     install every Debian package the build, tests and demo need
#   make test     everything CI runs: unit tests (cmocka), integration tests
#                 (pytest, NSD), mxbench's tests, the same against an ASan+UBSan
#                 build, the integration suite under valgrind, a fuzz smoke run
#   make check    the quick part: unit, integration and mxbench tests
#   make asan     unit + integration tests against an ASan+UBSan build
#   make valgrind the integration suite with the daemon under valgrind
#   make fuzz     libFuzzer harnesses (clang), FUZZ_SECONDS each; fuzz-smoke: 20 s;
#                 fuzz-regress: replay the corpus and the regression inputs once
#   make demo     an offline demonstration on a loopback DNS hierarchy
#   make run      the daemon in the foreground, recursing from the real root

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
CC       ?= cc
PYTHON   ?= /usr/bin/python3
RUN_ARGS ?= -l 127.0.0.1@53 -l ::1@53

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wpointer-arith -Wformat=2 -Wvla
CFLAGS   ?= -O2 -g
# Project flags live apart from CFLAGS, so `make CFLAGS=...` keeps them.
MXFLAGS  := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -MMD -MP
PKGS     := libunbound jansson libpsl libcrypto
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Debian's libev exports libevent-compatible symbols (event_set, ...) that
# would capture libunbound's calls into libevent: link it statically and
# keep its symbols out of the dynamic table: with a plain -lev, libunbound's
# calls land in libev and the first lookup crashes (test_binary.py checks).
LIBEV_A    = $(shell $(CC) -print-file-name=libev.a)
DAEMON_LIBS = $(PKG_LIBS) -lhiredis $(LIBEV_A) -lm -Wl,--exclude-libs,libev.a

DAEMON_SRC := $(filter-out src/ctl.c,$(wildcard src/*.c))
DAEMON_OBJ := $(DAEMON_SRC:src/%.c=$(BUILD)/obj/%.o)
LIB_OBJ    := $(filter-out $(BUILD)/obj/main.o,$(DAEMON_OBJ))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# Drivers the Python tests run (spfwalk: the pyspf cross-check).
TEST_TOOLS := $(BUILD)/tests/spfwalk

.PHONY: all deps build-deps host-test test check unit integration bench-test asan valgrind demo run install clean \
	format lint \
	fuzz fuzz-smoke fuzz-regress

all: $(BUILD)/mxcached $(BUILD)/mxcache-ctl $(BUILD)/mxbench $(BUILD)/delayproxy

deps:
	@scripts/deps.sh

# Checked before anything is compiled (order-only: never a reason to rebuild).
build-deps:
	@scripts/deps.sh --check

# The tests and the demo run in a network namespace of their own: whatever
# the host runs on port 53 is neither touched nor in the way.
NETNS := tests/netns.sh

$(BUILD)/obj/%.o: src/%.c | build-deps
	@mkdir -p $(dir $@)
	$(CC) $(MXFLAGS) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/mxcached: $(DAEMON_OBJ)
	$(CC) $(MXFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS)

$(BUILD)/mxcache-ctl: $(BUILD)/obj/ctl.o $(BUILD)/obj/prom.o $(BUILD)/obj/stats_keys.o
	$(CC) $(MXFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# delayproxy: latency in front of test authoritative servers (tests, bench).
$(BUILD)/delayproxy: tests/testnet/delayproxy.c
	$(CC) $(MXFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $<

# wire_worst: what one hostile answer costs wire (tests/perf/wire_worst.c).
$(BUILD)/wire_worst: tests/perf/wire_worst.c $(BUILD)/obj/wire.o $(BUILD)/obj/wire_write.o
	$(CC) $(MXFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^

# mxbench: the benchmark client; shares only wire and the SPF walker with the daemon.
BENCH_OBJ := $(patsubst bench/%.c,$(BUILD)/obj/bench/%.o,$(wildcard bench/*.c))
BENCH_LIB  = $(filter-out $(BUILD)/obj/bench/mxbench.o,$(BENCH_OBJ)) $(BUILD)/obj/wire.o \
	     $(BUILD)/obj/wire_write.o $(BUILD)/obj/spf.o $(BUILD)/obj/spf_walk.o

$(BUILD)/obj/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(MXFLAGS) $(CFLAGS) -Ibench -c $< -o $@

$(BUILD)/mxbench: $(BUILD)/obj/bench/mxbench.o $(BENCH_LIB)
	$(CC) $(MXFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lm

$(BUILD)/tests/test_mxbench: tests/unit/test_mxbench.c $(BENCH_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(MXFLAGS) $(CFLAGS) -Ibench $(LDFLAGS) -o $@ $^ -lm -lcmocka

# test_ctl runs the client it tests, built beside the tests' directory.
$(BUILD)/tests/test_ctl: | $(BUILD)/mxcache-ctl

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(MXFLAGS) $(CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $^ $(DAEMON_LIBS) -lcmocka

test: deps
	$(MAKE) check asan fuzz-smoke valgrind

check: all unit integration bench-test host-test

unit: $(UNIT_BIN) $(TEST_TOOLS)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

integration: all $(TEST_TOOLS)
	$(NETNS) $(PYTHON) -m pytest -q tests/integration

# mxbench's own logic, against a scripted DNS server (no root needed).
bench-test: $(BUILD)/mxbench
	$(NETNS) $(PYTHON) -m pytest -q tests/bench

# The host's own servers on port 53 are neither touched nor in the way.
host-test: all
	$(PYTHON) -m pytest -q tests/host

asan:
	$(MAKE) BUILD=build/asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" all unit
	ASAN_OPTIONS=detect_leaks=1 MXCACHED=build/asan/mxcached $(NETNS) $(PYTHON) -m pytest -q \
		-m "not load" tests/integration

# Definite leaks and memory errors fail the daemon's exit status, which the
# suite checks at every teardown. Load tests measure wall-clock behaviour,
# which valgrind's slowdown (and ASan's, above) makes meaningless; the plain
# build runs them in `make check`.
VALGRIND := valgrind -q --error-exitcode=99 --leak-check=full \
	--errors-for-leak-kinds=definite --show-leak-kinds=definite
valgrind: all $(TEST_TOOLS)
	MXCACHED_WRAPPER="$(VALGRIND)" MXTEST_READY_TIMEOUT=60 \
		$(NETNS) $(PYTHON) -m pytest -q -m "not load" tests/integration

# libFuzzer harnesses (tests/fuzz/): clang, its own objects in build/fuzz/.
FUZZ_CC      ?= clang
FUZZ_BUILD   := build/fuzz
FUZZ_SECONDS ?= 60
FUZZ_NAMES   := query response control persist http spf l2value
FUZZ_FLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all
FUZZ_OBJ     := $(LIB_OBJ:$(BUILD)/obj/%=$(FUZZ_BUILD)/obj/%)
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)
FUZZ_LIBS     = $(PKG_LIBS) -lhiredis $(shell $(FUZZ_CC) -print-file-name=libev.a) -lm \
		-Wl,--exclude-libs,libev.a

# Every module, archived: a harness links only what it uses. clang warns
# where gcc does not; that must not stop fuzzing (gcc's build is -Werror).
$(FUZZ_BUILD)/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(MXFLAGS) -Wno-error $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(PKG_CFLAGS) \
		-c $< -o $@

$(FUZZ_BUILD)/libmxcache.a: $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_BUILD)/libmxcache.a
	$(FUZZ_CC) $(MXFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer $(PKG_CFLAGS) -o $@ $< \
		$(FUZZ_BUILD)/libmxcache.a $(FUZZ_LIBS)

fuzz: $(FUZZ_BIN)
	tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=20

fuzz-regress: $(FUZZ_BIN)
	tests/fuzz/run.sh replay $(FUZZ_BUILD) $(FUZZ_NAMES)

demo: deps
	$(MAKE) all
	$(NETNS) scripts/demo.sh

run: all
	$(BUILD)/mxcached -f $(RUN_ARGS)

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/mxcached $(DESTDIR)$(PREFIX)/sbin/mxcached
	install -m 0755 $(BUILD)/mxcache-ctl $(DESTDIR)$(PREFIX)/bin/mxcache-ctl
	install -d $(DESTDIR)$(PREFIX)/share/mxcache $(DESTDIR)$(PREFIX)/share/doc/mxcache
	install -m 0644 scripts/mxcached.service scripts/mxcached.conf $(DESTDIR)$(PREFIX)/share/mxcache/
	install -m 0644 README.md $(DESTDIR)$(PREFIX)/share/doc/mxcache/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 0644 scripts/mxcached.8 scripts/mxcache-ctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 scripts/mxcached.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/

clean:
	rm -rf build

format:
	clang-format -i src/*.c include/*.h bench/*.c bench/*.h tests/testnet/*.c tests/unit/*.c

lint:
	clang-tidy --quiet src/*.c bench/*.c -- -std=c11 -D_GNU_SOURCE -Iinclude -Ibench $(PKG_CFLAGS)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability \
		--std=c11 -Iinclude --include=/usr/include/jansson.h src bench
	mandoc -Tlint -W warning scripts/*.8 scripts/*.5

-include $(DAEMON_OBJ:.o=.d) $(BUILD)/obj/ctl.d $(BENCH_OBJ:.o=.d)
-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:=.d)
