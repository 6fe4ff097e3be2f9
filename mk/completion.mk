# Shell completion for liuctl, generated from its command table.
#
#   make completion         regenerate contrib/completion/liuctl.bash
#   make completion-check   fail when the committed script is not what
#                           liuctl generates (tests/15-liuctl.t checks it too)
#
# The script is committed so that packaging and installing it need no build;
# the check keeps it from drifting from the table.

COMPLETION_BASH := contrib/completion/liuctl.bash

.PHONY: completion completion-check

completion: $(BIN)/liuctl
	$(E) GEN $(COMPLETION_BASH)
	$(Q)mkdir -p $(dir $(COMPLETION_BASH))
	$(Q)$(BIN)/liuctl completion bash > $(COMPLETION_BASH).tmp && \
	  mv $(COMPLETION_BASH).tmp $(COMPLETION_BASH)

completion-check: $(BIN)/liuctl
	$(Q)$(BIN)/liuctl completion bash | cmp -s - $(COMPLETION_BASH) || { \
	  echo "$(COMPLETION_BASH) is out of date with liuctl's command table: run make completion" >&2; \
	  exit 1; }
