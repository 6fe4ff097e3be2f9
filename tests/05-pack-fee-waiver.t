#!/bin/sh
# The fee-waiver pack's own tests, through `liud test` (TAP on stdout).
exec "${LIUD_BIN:-bin}/liud" test rules/fee-waiver
