# liud — top-level build.  Plain GNU make; see README.md.
#
#   make            build bin/liud and bin/liuctl
#   make run        install missing packages, build, run the daemon in the foreground
#   make test       install missing packages, build, run the whole TAP suite with prove
#   make test SAN=1 the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make test VALGRIND=1  the integration tests with every daemon under memcheck
#   make demo       the special measure end to end with a test clock
#   make clean
#
# V=1 prints full command lines.

# Parallel by default, a job per processor, unless -j was given: the
# dependencies are complete (-MMD, the order-only folders), and the
# recursive makes of run, test and demo share the jobserver: only the
# top-level make adds a -j (a sub-make does not see the -j in MAKEFLAGS
# while it reads this file, and one added there makes make warn that it
# resets the jobserver).
ifeq ($(MAKELEVEL),0)
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 2)
endif
endif
# `make clean all`: the goals one after the other, never a build racing the rm.
ifneq ($(filter clean,$(MAKECMDGOALS)),)
.NOTPARALLEL:
endif

PKGS     := lua5.4 libuv lmdb jansson yajl libcrypto libzstd libsystemd
CC       ?= cc
PKG_CONFIG ?= pkg-config

WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wwrite-strings -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CPPFLAGS += -D_GNU_SOURCE -iquote core  # -iquote: core/sched.h must not shadow <sched.h>
# Measurement builds only (mk/bench.mk, bench-mechanisms): e.g. -DLIU_PLAIN_RECORDS.
CPPFLAGS += $(LIUD_DEFS)
DEPCFLAGS = $(shell $(PKG_CONFIG) --cflags $(PKGS) $(CLIENT_PKGS) 2>/dev/null)
# libcsv (CSV: core/sheet.c) and libunistring (display widths: the client;
# record.list's search folded for case and width: core/find.c) ship no .pc
# file in Debian: linked by name.
DEPLIBS   = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lcsv -lunistring -lm -lpthread
# The client alone: .xlsx written with libxlsxwriter, read with libzip and
# expat (export, view and import).
CLIENT_PKGS := xlsxwriter libzip expat
CLIENT_LIBS = $(shell $(PKG_CONFIG) --libs $(CLIENT_PKGS) 2>/dev/null) -lunistring
# The daemon allocates through jemalloc (as Redis does): per-thread caches
# and size classes instead of glibc's bins, which a 1,000-record enforcement
# batch or a 5 KB record's tree of small JSON and Lua values fragments and
# consolidates (docs/PERFORMANCE.md).  Not under the sanitizers, which must
# own malloc themselves.
MALLOC_LIBS = $(if $(filter 1,$(SAN)),,$(shell $(PKG_CONFIG) --libs jemalloc 2>/dev/null))

ifeq ($(SAN),1)
O        := build/san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else ifeq ($(PROFILE),1)
O        := build/prof
SANFLAGS := -fno-omit-frame-pointer   # PROFILE=1: call graphs for perf
else
O        := build/rel
SANFLAGS :=
endif
BIN      := $(if $(filter 1,$(SAN) $(PROFILE)),$(O)/bin,bin)

ifneq ($(V),1)
Q = @
E = @printf '  %-6s %s\n'
else
Q =
E = @:
endif

# Modules shared by the daemon (and the unit tests).  The client links only wire.o.
CORE_MODS := log clock errors wire sheet hash ident compress store rules rules_mem rules_conv rules_text rules_conf prelude conf auth audit verify metrics notify commit ledger evalcache find packs expiry stage sched slice reqrec rpc rpc_records rpc_job rpc_admin lifecycle rpc_rules server watchdog
CORE_OBJS := $(CORE_MODS:%=$(O)/%.o)
LIUD_OBJS := $(O)/liud.o $(CORE_OBJS)
# The client: every file of core/client/ (its own folder, cli.h), and of the
# daemon's modules only wire (the protocol) and sheet (CSV).
LIUCTL_OBJS := $(patsubst core/client/%.c,$(O)/client/%.o,$(wildcard core/client/*.c)) $(O)/wire.o $(O)/sheet.o

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%.t)

.PHONY: all deps test-deps run test demo clean unit
all: $(BIN)/liud $(BIN)/liuctl

deps:
	$(Q)sh scripts/deps.sh
test-deps:
	$(Q)sh scripts/deps.sh --test

$(BIN)/liud: $(LIUD_OBJS) | $(BIN)
	$(E) LINK $@
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(DEPLIBS) $(MALLOC_LIBS)

$(BIN)/liuctl: $(LIUCTL_OBJS) | $(BIN)
	$(E) LINK $@
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(DEPLIBS) $(CLIENT_LIBS)

$(O)/%.o: core/%.c | $(O)
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -MMD -MP -c -o $@ $<

$(O)/client/%.o: core/client/%.c | $(O)/client
	$(E) CC $<
	$(Q)$(CC) $(CPPFLAGS) -iquote core/client $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -MMD -MP -c -o $@ $<

# The rule DSL (core/prelude.lua) is compiled into the daemon as bytes, so a
# daemon never runs with a prelude that does not match its C host.
# GEN_PRELUDE: the recipe, shared with mk/fuzz.mk ($< the .lua, $@ the .c).
define GEN_PRELUDE
	$(E) GEN $@
	$(Q){ echo '/* generated from core/prelude.lua; do not edit */'; \
	  echo '#include <stddef.h>'; \
	  echo 'const char rules_prelude[] = {'; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '0x00};'; \
	  echo 'const size_t rules_prelude_len = sizeof rules_prelude - 1;'; } > $@.tmp && mv $@.tmp $@
endef
$(O)/prelude.c: core/prelude.lua | $(O)
	$(GEN_PRELUDE)
$(O)/prelude.o: $(O)/prelude.c
	$(E) CC $<
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -c -o $@ $<

$(O)/tests/%.t: tests/unit/%.c tests/unit/tap.h $(CORE_OBJS) | $(O)/tests
	$(E) LINK $@
	$(Q)$(CC) $(CPPFLAGS) -iquote tests/unit $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -o $@ $< $(CORE_OBJS) $(DEPLIBS)

TOOL_BINS := $(O)/tests/tamper $(O)/tests/clockshift.so

$(O)/tests/tamper: tests/tools/tamper.c | $(O)/tests
	$(E) LINK $@
	$(Q)$(CC) $(CPPFLAGS) $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -o $@ $< $(DEPLIBS)

# Preloaded into a daemon, never sanitized: it only shifts the clock.
$(O)/tests/clockshift.so: tests/tools/clockshift.c | $(O)/tests
	$(E) LINK $@
	$(Q)$(CC) $(CFLAGS) $(WARN) -fPIC -shared -o $@ $< -ldl

unit: $(UNIT_BINS) $(TOOL_BINS)

$(O) $(O)/client $(O)/tests $(BIN):
	$(Q)mkdir -p $@

# The daemon of the checkout, on the real clock (etc/liud.conf: run/liud.sock,
# var/db).  The tour of README.md runs a daemon of its own on a test clock.
run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)mkdir -p run var
	@echo "make run: liud on the real clock (socket run/liud.sock, database var/db); Ctrl-C stops it."
	@echo "make run: the tour of README.md runs its own daemon, database and test clock: stop this one first."
	$(BIN)/liud -c etc/liud.conf

# The suite: C unit tests (executables), the rule pack's own tests through
# `liud test`, and integration tests that start real daemons (tests/*.t).
# Test files run a job per processor: each starts its daemons on their own
# socket and database in a folder of its own, and no test times the
# machine (speed is for the benchmarks).  PROVE_FLAGS=-j1 runs them in turn.
PROVE_FLAGS ?= -j$(shell nproc 2>/dev/null || echo 2)
test: test-deps
	$(Q)$(MAKE) --no-print-directory all unit
	$(Q)LIUD_BIN=$(CURDIR)/$(BIN) LIUD_TOOLS=$(CURDIR)/$(O)/tests LIUD_SAN=$(SAN) \
	  LIUD_VALGRIND=$(VALGRIND) \
	  prove $(if $(filter 1,$(V)),-v) $(PROVE_FLAGS) $(O)/tests/ tests/

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)sh scripts/demo.sh

clean:
	rm -rf build bin run var

# Targets of their own concern (fuzz, bench, install, ...) live in mk/*.mk.
-include $(sort $(wildcard mk/*.mk))

-include $(wildcard $(O)/*.d $(O)/client/*.d)
