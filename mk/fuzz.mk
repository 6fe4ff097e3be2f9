# mk/fuzz.mk — libFuzzer targets.  Included by the top Makefile.
#
#   make fuzz          build, then fuzz each target for FUZZ_SECONDS (default 300)
#   make fuzz-replay   build, then run every file of the corpus and crashes
#                      folders through each target once (the regression check)
#   make fuzz-merge    boil each corpus down to the inputs that add coverage
#                      (the hand-written, named seeds always stay)
#   make fuzz-build    only build the targets
#
# The targets and the core objects they link are compiled with clang and
# -fsanitize=fuzzer,address,undefined into build/fuzz/ (the daemon's own
# objects in build/rel or build/san are never touched).  Needs clang and its
# fuzzer runtime: on Debian 12, the packages clang and libclang-rt-14-dev
# (the latter is only a Recommends of clang-14, so --no-install-recommends
# leaves it out).
#
# Sources: tests/fuzz/fuzz_*.c, with an optional dictionary of the words a
# target understands in tests/fuzz/<target>.dict.  Seeds and corpus:
# tests/fuzz/corpus/<target>/ (checked in; a campaign adds what it finds
# there, `make fuzz-merge` boils it down again).  Crashes:
# tests/fuzz/crashes/<target>/ (kept as regression inputs once fixed).
# tests/70-fuzz-replay.t runs `make fuzz-replay` in the TAP suite.
#
#   FUZZ_SECONDS=600 make fuzz          longer campaign
#   FUZZ_TARGETS=fuzz_pack make fuzz    one target only
#   FUZZ_FLAGS='-jobs=2 -workers=2'     extra libFuzzer flags for the campaign

FUZZ_CC      ?= clang
FUZZ_O       := build/fuzz
FUZZ_SECONDS ?= 300
FUZZ_MAX_LEN ?= 65536
FUZZ_FLAGS   ?=
FUZZ_SRCS    := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/%.c=%)
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_BINS    := $(FUZZ_NAMES:%=$(FUZZ_O)/%)
FUZZ_SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
                 -fno-omit-frame-pointer
FUZZ_CFLAGS  ?= -O1 -g
# The core and the harness are instrumented for coverage; only the link adds
# libFuzzer's main.
FUZZ_COMPILE  = $(FUZZ_CC) $(CPPFLAGS) $(DEPCFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SANFLAGS) \
                -fsanitize=fuzzer-no-link $(WARN)
FUZZ_CORE_OBJS := $(CORE_MODS:%=$(FUZZ_O)/core/%.o)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-merge fuzz-check
# Reached only through the pattern rule of the targets: keep them anyway.
.SECONDARY: $(FUZZ_CORE_OBJS) $(FUZZ_O)/core/prelude.c

# Fails early and clearly when clang cannot link a fuzzer.
fuzz-check:
	$(Q)mkdir -p $(FUZZ_O)
	$(Q)printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' > $(FUZZ_O)/probe.c
	$(Q)$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $(FUZZ_O)/probe $(FUZZ_O)/probe.c 2>$(FUZZ_O)/probe.log || \
	  { echo "fuzz: $(FUZZ_CC) cannot link with -fsanitize=fuzzer (install clang and libclang-rt-14-dev):" >&2; \
	    cat $(FUZZ_O)/probe.log >&2; exit 1; }

fuzz-build: fuzz-check $(FUZZ_BINS)

$(FUZZ_O)/core/%.o: core/%.c | $(FUZZ_O)/core
	$(E) FUZZCC $<
	$(Q)$(FUZZ_COMPILE) -MMD -MP -c -o $@ $<

# The prelude, generated exactly as the Makefile does for the daemon.
$(FUZZ_O)/core/prelude.c: core/prelude.lua | $(FUZZ_O)/core
	$(GEN_PRELUDE)
$(FUZZ_O)/core/prelude.o: $(FUZZ_O)/core/prelude.c
	$(E) FUZZCC $<
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SANFLAGS) -c -o $@ $<

# FUZZ_SRCDIR lets the harnesses find tests/packs/mini and rules/ismap-liu
# wherever they are run from.
$(FUZZ_O)/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(FUZZ_CORE_OBJS) | $(FUZZ_O)
	$(E) FUZZLD $@
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -iquote tests/fuzz $(DEPCFLAGS) $(FUZZ_CFLAGS) $(FUZZ_SANFLAGS) \
	  -fsanitize=fuzzer $(WARN) -DFUZZ_SRCDIR='"$(CURDIR)"' -MMD -MP -MF $@.d \
	  -o $@ $< $(FUZZ_CORE_OBJS) $(DEPLIBS)

$(FUZZ_O) $(FUZZ_O)/core:
	$(Q)mkdir -p $@

# One campaign per target, one after the other.  The corpus folder comes
# first so that what the campaign finds is written there; crashes (and
# timeouts, out-of-memory inputs) go to the crashes folder.  -close_fd_mask=2
# silences the daemon's log lines; sanitizer reports are still printed.
# -detect_leaks=0: the harnesses keep a store and Lua states across inputs,
# so nearly every input ends with more mallocs than frees and libFuzzer
# would run a full LeakSanitizer scan after each new one (5x slower here);
# leaks are still reported when the process exits (the worlds are freed
# then) and by fuzz-replay.
fuzz: fuzz-build
	$(Q)rc=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t || exit 1; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  dict=; [ -f tests/fuzz/$$t.dict ] && dict=-dict=tests/fuzz/$$t.dict; \
	  $(FUZZ_O)/$$t -max_len=$(FUZZ_MAX_LEN) -max_total_time=$(FUZZ_SECONDS) $$dict \
	    -timeout=25 -rss_limit_mb=4096 -print_final_stats=1 -close_fd_mask=2 -detect_leaks=0 \
	    -artifact_prefix=$(CURDIR)/tests/fuzz/crashes/$$t/ $(FUZZ_FLAGS) \
	    $(CURDIR)/tests/fuzz/corpus/$$t || \
	    { echo "fuzz: $$t stopped with an error (a crash is saved in tests/fuzz/crashes/$$t/)"; rc=1; }; \
	done; exit $$rc

# Every seed, corpus entry and kept crash through its target once.  Fails
# when any input crashes, trips a sanitizer or a harness check, or when
# anything leaked by the end (LeakSanitizer at exit; the per-input scans of
# -detect_leaks would make the replay five times slower, see `fuzz`).
fuzz-replay: fuzz-build
	$(Q)rc=0; for t in $(FUZZ_TARGETS); do \
	  files=$$(find tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t -type f ! -name '.*' ! -name 'README*' 2>/dev/null | sort); \
	  n=$$(printf '%s' "$$files" | grep -c . || true); \
	  if [ "$$n" -eq 0 ]; then echo "fuzz-replay: $$t: no inputs"; continue; fi; \
	  if printf '%s\n' "$$files" | xargs -d '\n' $(FUZZ_O)/$$t -runs=1 -timeout=25 \
	      -close_fd_mask=2 -detect_leaks=0 >$(FUZZ_O)/$$t.replay.log 2>&1; then \
	    echo "fuzz-replay: $$t: ok ($$n inputs)"; \
	  else \
	    echo "fuzz-replay: $$t: FAILED ($$n inputs); see $(FUZZ_O)/$$t.replay.log"; \
	    tail -n 40 $(FUZZ_O)/$$t.replay.log; rc=1; \
	  fi; \
	done; exit $$rc

# After a campaign: keeps the named seeds and, of the inputs a campaign
# added (named by their SHA-1), those that add coverage to the seeds.
fuzz-merge: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
	  d=tests/fuzz/corpus/$$t; m=$(FUZZ_O)/$$t.merge; rm -rf $$m; mkdir -p $$m $$d || exit 1; \
	  find $$d -maxdepth 1 -type f -regextype posix-extended ! -regex '.*/[0-9a-f]{40}' -exec cp {} $$m/ \; ; \
	  $(FUZZ_O)/$$t -merge=1 -timeout=25 -close_fd_mask=2 $$m $$d >$(FUZZ_O)/$$t.merge.log 2>&1 || \
	    { echo "fuzz-merge: $$t failed; see $(FUZZ_O)/$$t.merge.log"; exit 1; }; \
	  before=$$(ls $$d | wc -l); rm -f $$d/*; cp $$m/* $$d/ || exit 1; \
	  echo "fuzz-merge: $$t: $$before -> $$(ls $$d | wc -l) inputs"; \
	done

-include $(wildcard $(FUZZ_O)/core/*.d $(FUZZ_O)/*.d)
