# make soak — the long hardening runs: 50 rounds of kill -9 during
# concurrent writes, the 100,000-record enforcement, hostile clients, and
# 50 integrity rounds (kill -9 during backup and during audit verify,
# data.mdb cut at random lengths).  Each count can be lowered for a short
# run: LIUD_CRASH_ROUNDS, LIUD_SCALE, LIUD_INTEGRITY_ROUNDS.
# make soak-integrity runs the integrity rounds alone.
# Figures go to docs/RELIABILITY.md by hand after a run.
.PHONY: soak soak-integrity
soak: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LIUD_CRASH_ROUNDS=$${LIUD_CRASH_ROUNDS:-50} LIUD_SCALE=$${LIUD_SCALE:-100000} \
	  LIUD_INTEGRITY_ROUNDS=$${LIUD_INTEGRITY_ROUNDS:-50} \
	  LIUD_BIN=$(CURDIR)/$(BIN) prove -v tests/36-crash-rounds.t tests/55-expiry-scale.t tests/65-hostile.t \
	  tests/74-integrity-soak.t

soak-integrity: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LIUD_INTEGRITY_ROUNDS=$${LIUD_INTEGRITY_ROUNDS:-50} \
	  LIUD_BIN=$(CURDIR)/$(BIN) prove -v tests/74-integrity-soak.t
