#!/bin/sh
# The ISMAP-LIU pack's own tests, through `liud test` (TAP on stdout).
exec "${LIUD_BIN:-bin}/liud" test rules/ismap-liu
