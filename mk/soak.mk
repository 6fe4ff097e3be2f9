# make soak — the long hardening runs: 50 rounds of kill -9 during
# concurrent writes, the 100,000-record enforcement, and hostile clients.
# Figures go to docs/RELIABILITY.md by hand after a run.
.PHONY: soak
soak: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LIUD_CRASH_ROUNDS=$${LIUD_CRASH_ROUNDS:-50} LIUD_SCALE=$${LIUD_SCALE:-100000} \
	  LIUD_BIN=$(CURDIR)/$(BIN) prove -v tests/36-crash-rounds.t tests/55-expiry-scale.t tests/65-hostile.t
