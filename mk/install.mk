# make install / make uninstall — a complete daemon under $(DESTDIR)$(PREFIX):
# binaries, the bundled rule packs and the live copy policy staff edit, the
# configuration, man pages, the systemd unit, sysusers and tmpfiles files,
# bash completion, the documents (docs/*.md).
PREFIX     ?= /usr/local
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
BINDIR     := $(PREFIX)/bin
SBINDIR    := $(PREFIX)/sbin
DATADIR    := $(PREFIX)/share/liud
MANDIR     := $(PREFIX)/share/man
DOCDIR     := $(PREFIX)/share/doc/liud
UNITDIR    ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
COMPLDIR   := $(PREFIX)/share/bash-completion/completions
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
# The live rule packs: writable by policy staff (group liu-policy, given by
# tmpfiles.d), read by `rules reload`; the bundled copy under DATADIR stays
# as shipped.
RULESDIR   := $(SYSCONFDIR)/liud/rules
# The installed daemon's socket: in its configuration, and built into the
# installed liuctl as its default (a checkout's liuctl defaults to the
# checkout's run/liud.sock).
RUNSOCKET  ?= /run/liud/liud.sock
LIBEXECDIR := $(PREFIX)/lib/liud
INSTALL    ?= install

# The installed paths, as last built: rewritten (and the objects that spell
# them compiled again) when an install names other ones (PREFIX=/usr after
# PREFIX=/usr/local).
INST_PATHS := $(RUNSOCKET) $(RULESDIR) $(SYSCONFDIR)
$(O)/inst/paths: inst-paths-check | $(O)/inst
	@:
.PHONY: inst-paths-check
inst-paths-check: | $(O)/inst
	$(Q)echo '$(INST_PATHS)' | cmp -s - $(O)/inst/paths || echo '$(INST_PATHS)' > $(O)/inst/paths

# The installed liuctl: the client's objects, but for the two files that
# spell its defaults, compiled again with the installed paths.
INST_CLI      := liuctl cli_cmds cli_doc
INST_CLI_OBJS := $(INST_CLI:%=$(O)/inst/%.o)
$(O)/inst/%.o: core/client/%.c $(O)/inst/paths | $(O)/inst
	$(E) CC $@
	$(Q)$(CC) $(CPPFLAGS) -iquote core/client -DLIUCTL_SOCKET='"$(RUNSOCKET)"' \
	  -DLIUCTL_RULES_DIR='"$(RULESDIR)"' $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -MMD -MP -c -o $@ $<
$(O)/inst/liuctl: $(INST_CLI_OBJS) $(filter-out $(INST_CLI:%=$(O)/client/%.o),$(LIUCTL_OBJS))
	$(E) LINK $@
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(DEPLIBS) $(CLIENT_LIBS)
$(O)/inst:
	$(Q)mkdir -p $@

# The installed liud: the same, for the two files that spell its defaults
# (its --help, and what `liud test` reads when given no folder).
INST_LIUD      := liud conf
INST_LIUD_OBJS := $(INST_LIUD:%=$(O)/inst/d-%.o)
INST_LIUD_DEFS := -DLIUD_SOCKET='"$(RUNSOCKET)"' -DLIUD_DB='"/var/lib/liud/db"' \
  -DLIUD_RULES='"$(RULESDIR)/ismap-liu"' -DLIUD_CONFIG='"$(SYSCONFDIR)/liud/liud.conf"'
$(O)/inst/d-%.o: core/%.c $(O)/inst/paths | $(O)/inst
	$(E) CC $@
	$(Q)$(CC) $(CPPFLAGS) $(INST_LIUD_DEFS) $(DEPCFLAGS) $(CFLAGS) $(SANFLAGS) $(WARN) -MMD -MP -c -o $@ $<
$(O)/inst/liud: $(INST_LIUD_OBJS) $(filter-out $(INST_LIUD:%=$(O)/%.o),$(LIUD_OBJS))
	$(E) LINK $@
	$(Q)$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(DEPLIBS) $(MALLOC_LIBS)
-include $(wildcard $(O)/inst/*.d)

.PHONY: install uninstall
install: all $(O)/inst/liuctl $(O)/inst/liud
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/rules \
	  $(DESTDIR)$(SYSCONFDIR)/liud $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(COMPLDIR) \
	  $(DESTDIR)$(TMPFILESDIR)
	$(INSTALL) -m 0755 $(O)/inst/liud $(DESTDIR)$(SBINDIR)/liud
	$(INSTALL) -m 0755 $(O)/inst/liuctl $(DESTDIR)$(BINDIR)/liuctl
	cp -R rules/ismap-liu $(DESTDIR)$(DATADIR)/rules/
	$(INSTALL) -d -m 2775 $(DESTDIR)$(RULESDIR)
	@if [ -e $(DESTDIR)$(RULESDIR)/ismap-liu ]; then \
	  echo "  keeping the live pack $(DESTDIR)$(RULESDIR)/ismap-liu; the bundled one is $(DATADIR)/rules/ismap-liu"; \
	else cp -R rules/ismap-liu $(DESTDIR)$(RULESDIR)/ && \
	  chmod -R u+rw,g+rw,o+r,o-w $(DESTDIR)$(RULESDIR)/ismap-liu && \
	  find $(DESTDIR)$(RULESDIR)/ismap-liu -type d -exec chmod 2775 {} +; fi
	$(INSTALL) -m 0644 rules/README.md $(DESTDIR)$(DATADIR)/rules/README.md
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	sed -e 's|^db *= *"[^"]*"|db     = "/var/lib/liud/db"|' \
	    -e 's|^socket *= *"[^"]*"|socket = "$(RUNSOCKET)"|' \
	    -e 's|^rules *= *"[^"]*"|rules  = "$(RULESDIR)/ismap-liu"|' \
	    -e 's|^socket_mode *= *"[^"]*"|socket_mode = "0666"|' \
	    etc/liud.conf > $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf.new
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf ]; then \
	  echo "  keeping $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf; the new one is liud.conf.new"; \
	else mv $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf.new $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf; fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    contrib/systemd/liud.service.in > $(DESTDIR)$(UNITDIR)/liud.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/liud.service
	$(INSTALL) -m 0644 contrib/systemd/liud.sysusers $(DESTDIR)$(SYSUSERSDIR)/liud.conf
	sed -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' contrib/systemd/liud.tmpfiles.in \
	  > $(DESTDIR)$(TMPFILESDIR)/liud.conf
	chmod 0644 $(DESTDIR)$(TMPFILESDIR)/liud.conf
	$(INSTALL) -d $(DESTDIR)$(LIBEXECDIR)
	$(INSTALL) -m 0755 contrib/liud-metrics-textfile $(DESTDIR)$(LIBEXECDIR)/liud-metrics-textfile
	sed -e 's|@LIBEXECDIR@|$(LIBEXECDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' \
	    contrib/systemd/liud-metrics.service.in > $(DESTDIR)$(UNITDIR)/liud-metrics.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/liud-metrics.service
	$(INSTALL) -m 0644 contrib/systemd/liud-metrics.timer $(DESTDIR)$(UNITDIR)/liud-metrics.timer
	@if [ -f contrib/completion/liuctl.bash ]; then \
	  $(INSTALL) -m 0644 contrib/completion/liuctl.bash $(DESTDIR)$(COMPLDIR)/liuctl; fi
	@if command -v scdoc >/dev/null 2>&1 && ls contrib/man/*.scd >/dev/null 2>&1; then \
	  for f in contrib/man/*.scd; do \
	    page=$$(basename $$f .scd); sec=$${page##*.}; \
	    $(INSTALL) -d $(DESTDIR)$(MANDIR)/man$$sec; \
	    scdoc < $$f > $(DESTDIR)$(MANDIR)/man$$sec/$$page || exit 1; \
	  done; \
	else echo "  man pages skipped (scdoc not installed)"; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/liud $(DESTDIR)$(BINDIR)/liuctl
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	rm -f $(DESTDIR)$(UNITDIR)/liud.service $(DESTDIR)$(SYSUSERSDIR)/liud.conf \
	  $(DESTDIR)$(TMPFILESDIR)/liud.conf
	rm -f $(DESTDIR)$(UNITDIR)/liud-metrics.service $(DESTDIR)$(UNITDIR)/liud-metrics.timer
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(COMPLDIR)/liuctl
	rm -f $(DESTDIR)$(MANDIR)/man8/liud.8 $(DESTDIR)$(MANDIR)/man1/liuctl.1 \
	  $(DESTDIR)$(MANDIR)/man5/liud.conf.5 $(DESTDIR)$(MANDIR)/man7/liud-rules.7
	@echo "  kept $(DESTDIR)$(SYSCONFDIR)/liud (configuration, live rule packs), /var/lib/liud (data) and /var/backups/liud"
