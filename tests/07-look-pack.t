#!/bin/sh
# The comparison pack of the text-read tests, through `liud test`: its
# scenario checks that a pack's scenario tests give actions their record
# the daemon's way (rules_text.h, TEXT_LAZY; prelude.lua, check_scenario).
exec "${LIUD_BIN:-bin}/liud" test tests/packs/look
