# make test-scale — the enforcement of 100,000 records at one deadline,
# the full-size run of tests/55-expiry-scale.t (make test runs it with 3,000).
.PHONY: test-scale
test-scale: test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)LIUD_SCALE=$${LIUD_SCALE:-100000} LIUD_BIN=$(CURDIR)/$(BIN) prove -v tests/55-expiry-scale.t
