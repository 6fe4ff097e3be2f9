# mk/bench.mk — liud measured side by side with Redis (docs/PERFORMANCE.md).
#
#   make bench          the full run (10-12 minutes): prints a table and, last,
#                       `bench: eval_ratio=… eval_p99_ratio=… cold_ratio=… cold1_ratio=… same_write_ratio=…
#                        same_write1_ratio=… same_write_confirmed_ratio=… write_ratio=… sweep_s=… startup_ms=… rss_idle_mib=…`;
#                       exits 0 when it ran, whatever the figures (1 when liud and the
#                       Redis same-work scripts do not judge alike)
#   make bench-smoke    every phase at tiny sizes (under a minute)
#   make bench-profile  the full run plus perf profiles of liud's eval and write paths
#   make bench-mechanisms  each speed mechanism off alone against all on (below)
#   make bench-abuse    a well-behaved client (status + eval every 10 ms) while each
#                       abuse of docs/RELIABILITY.md runs in turn (about a minute):
#                       p50/p99/max per abuse against p99 <= 50 ms, max <= 250 ms, then
#                       `bench-abuse: worst_p99_ms=… worst_max_ms=… met=yes|no`;
#                       exits 0 whatever the figures (it reports, it does not gate)
#
# BENCH_FLAGS passes options to scripts/bench/bench.pl, e.g.
#   make bench BENCH_FLAGS="--rounds 5 --secs 5 --startup 200000"
# Working files, logs, profiles and raw results: $(BENCH_DIR) (default
# /var/tmp/liud-bench: on disk, outside the checkout, so that `make clean`
# cannot pull it away mid-run).  bench-abuse: BENCH_ABUSE_FLAGS (e.g. --quick:
# sizes ÷10, under a minute; --only 3a,5; --verbose) and $(BENCH_ABUSE_DIR)
# (default /var/tmp/liud-bench-abuse; the daemon's log stays there).

BENCH_LOADGEN := build/bench/loadgen
BENCH_FLAGS   ?=
BENCH_DIR     ?= /var/tmp/liud-bench
BENCH_ABUSE_FLAGS ?=
BENCH_ABUSE_DIR   ?= /var/tmp/liud-bench-abuse

$(BENCH_LOADGEN): scripts/bench/loadgen.c
	$(Q)mkdir -p $(@D)
	$(E) CC $<
	$(Q)$(CC) -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -o $@ $< -lpthread -lm

.PHONY: bench bench-smoke bench-profile bench-deps bench-abuse
bench-deps: deps
	$(Q)sh scripts/bench/deps.sh $(BENCH_DEPS_FLAGS)

bench: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)perl scripts/bench/bench.pl --bin $(BIN) --loadgen $(BENCH_LOADGEN) --dir $(BENCH_DIR) $(BENCH_FLAGS)

bench-smoke: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)perl scripts/bench/bench.pl --smoke --bin $(BIN) --loadgen $(BENCH_LOADGEN) --dir $(BENCH_DIR) $(BENCH_FLAGS)

bench-profile: BENCH_DEPS_FLAGS = --profile
bench-profile: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)perl scripts/bench/bench.pl --profile --bin $(BIN) --loadgen $(BENCH_LOADGEN) --dir $(BENCH_DIR) $(BENCH_FLAGS)

# Needs no Redis; run as root for the abuses by users with no role (setpriv).
bench-abuse: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)perl scripts/bench/abuse.pl --bin $(BIN) --dir $(BENCH_ABUSE_DIR) $(BENCH_ABUSE_FLAGS)

# make bench-mechanisms: each speed mechanism off alone against all of them on
# (scripts/bench/mechanisms.pl; 2 passes, about 25 minutes): storage.memo_mib = 0,
# storage.cache_mib = 0, storage.stage_hours = 0, storage.dict_records = 0, and
# a second build of the daemon, LIUD_DEFS=-DLIU_PLAIN_RECORDS in
# $(BENCH_PLAIN_O), whose rules read stored records by the plain jansson path.
# One line per mechanism, last.  BENCH_MECH_FLAGS: e.g. --only memo,dict, or
# bench.pl's options after --.
BENCH_PLAIN_O    := build/bench-plain
BENCH_MECH_FLAGS ?=
BENCH_MECH_DIR   ?= /var/tmp/liud-bench-mechanisms
.PHONY: bench-mechanisms bench-plain-build
bench-plain-build:
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_PLAIN_O) BIN=$(BENCH_PLAIN_O)/bin \
		LIUD_DEFS=-DLIU_PLAIN_RECORDS $(BENCH_PLAIN_O)/bin/liud
bench-mechanisms: bench-deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)$(MAKE) --no-print-directory bench-plain-build
	$(Q)perl scripts/bench/mechanisms.pl --bin $(BIN) --plain-bin $(BENCH_PLAIN_O)/bin --loadgen $(BENCH_LOADGEN) \
		--dir $(BENCH_MECH_DIR) $(BENCH_MECH_FLAGS)

# Two builds side by side in one run (scripts/bench/hot.pl, about 5 minutes):
# eval by id (50x1, 50x16), start-up with N records, idle RSS, a cold eval
# (record inline) and a durable amend; medians, [min-max] and new/base, e.g.
#   make bench-hot HOT_FLAGS="--tree base=../old --tree new=."
HOT_FLAGS ?=
.PHONY: bench-hot
bench-hot: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)perl scripts/bench/hot.pl --loadgen $(BENCH_LOADGEN) $(HOT_FLAGS)
