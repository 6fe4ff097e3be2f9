# mk/bench.mk — liud measured side by side with Redis (docs/PERFORMANCE.md).
#
#   make bench          the full run (8-10 minutes): prints a table and, last,
#                       `bench: eval_ratio=… eval_p99_ratio=… write_ratio=… sweep_s=… startup_ms=… rss_idle_mib=…`
#   make bench-smoke    every phase at tiny sizes (under a minute)
#   make bench-profile  the full run plus perf profiles of liud's eval and write paths
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

# Two builds side by side on a cold eval (record inline) and a durable amend,
# a few minutes (scripts/bench/hot.pl), e.g.
#   make bench-hot HOT_FLAGS="--bin base=../old/bin/liud:../old/rules/ismap-liu --bin new=bin/liud"
HOT_FLAGS ?=
.PHONY: bench-hot
bench-hot: deps
	$(Q)$(MAKE) --no-print-directory all $(BENCH_LOADGEN)
	$(Q)perl scripts/bench/hot.pl --loadgen $(BENCH_LOADGEN) $(HOT_FLAGS)
