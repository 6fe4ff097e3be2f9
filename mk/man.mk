# Man pages, written in scdoc (contrib/man/*.scd; Debian package scdoc).
#
#   make man            build build/man/liud.8, liuctl.1, liud.conf.5,
#                       liud-rules.7 (skipped, saying so, without scdoc)
#   make man-commands   regenerate the COMMANDS section of liuctl(1) from
#                       liuctl's command table (`liuctl manual scdoc`)
#   make man-rules      regenerate liud-rules(7) from the author's guide,
#                       docs/RULES.md (scripts/rules-man.pl; tests/96-rules-guide.t
#                       fails when the committed page is not what it makes)
#   make man-check      fail when that section is out of date, or when a
#                       page does not build (tests/15-liuctl.t checks both)
#
# The COMMANDS section lives between the "; BEGIN COMMANDS" and
# "; END COMMANDS" comment lines of contrib/man/liuctl.1.scd, committed, so
# that the page reads whole in the source and builds without liuctl.

SCDOC      ?= scdoc
MAN_SRCS   := $(wildcard contrib/man/*.scd)
MAN_PAGES  := $(MAN_SRCS:contrib/man/%.scd=build/man/%)
MAN_LIUCTL := contrib/man/liuctl.1.scd
HAVE_SCDOC := $(shell command -v $(SCDOC) 2>/dev/null)

# Replaces what lies between the markers of the page (second file) with the
# generated section (first file, - for standard input).
MAN_SPLICE := awk 'FILENAME == ARGV[1] { gen = gen $$0 "\n"; next } \
	/^; BEGIN COMMANDS$$/ { print; printf "%s", gen; skip = 1; next } \
	/^; END COMMANDS$$/ { skip = 0 } !skip'

.PHONY: man man-commands man-check man-rules

ifneq ($(HAVE_SCDOC),)
man: $(MAN_PAGES)
else
man:
	@echo "man: $(SCDOC) not found (apt-get install scdoc); the pages are not built" >&2
endif

build/man/%: contrib/man/%.scd
	$(E) SCDOC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(SCDOC) < $< > $@.tmp && mv $@.tmp $@

man-commands: $(BIN)/liuctl
	$(E) GEN $(MAN_LIUCTL)
	$(Q)$(BIN)/liuctl manual scdoc | $(MAN_SPLICE) - $(MAN_LIUCTL) > $(MAN_LIUCTL).tmp && \
	  mv $(MAN_LIUCTL).tmp $(MAN_LIUCTL)

man-rules:
	$(E) GEN contrib/man/liud-rules.7.scd
	$(Q)perl scripts/rules-man.pl docs/RULES.md > contrib/man/liud-rules.7.scd.tmp && \
	  mv contrib/man/liud-rules.7.scd.tmp contrib/man/liud-rules.7.scd

man-check: $(BIN)/liuctl
	$(Q)$(BIN)/liuctl manual scdoc | $(MAN_SPLICE) - $(MAN_LIUCTL) | cmp -s - $(MAN_LIUCTL) || { \
	  echo "$(MAN_LIUCTL): COMMANDS is out of date with liuctl's command table: run make man-commands" >&2; \
	  exit 1; }
ifneq ($(HAVE_SCDOC),)
	$(Q)for f in $(MAN_SRCS); do \
	  $(SCDOC) < $$f > /dev/null || { echo "$$f: scdoc fails" >&2; exit 1; }; done
else
	@echo "man-check: $(SCDOC) not found; the pages were not built" >&2
endif
