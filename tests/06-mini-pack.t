#!/bin/sh
# The core's minimal test pack, through `liud test`.
exec "${LIUD_BIN:-bin}/liud" test tests/packs/mini
