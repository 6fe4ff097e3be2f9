# make install / make uninstall — a complete daemon under $(DESTDIR)$(PREFIX):
# binaries, the bundled rule packs, the configuration, man pages, the systemd
# unit and sysusers file, bash completion, the documents (docs/*.md).
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
LIBEXECDIR := $(PREFIX)/lib/liud
INSTALL    ?= install

.PHONY: install uninstall
install: all
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) $(DESTDIR)$(DATADIR)/rules \
	  $(DESTDIR)$(SYSCONFDIR)/liud $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(COMPLDIR)
	$(INSTALL) -m 0755 $(BIN)/liud $(DESTDIR)$(SBINDIR)/liud
	$(INSTALL) -m 0755 $(BIN)/liuctl $(DESTDIR)$(BINDIR)/liuctl
	cp -R rules/ismap-liu $(DESTDIR)$(DATADIR)/rules/
	$(INSTALL) -m 0644 rules/README.md $(DESTDIR)$(DATADIR)/rules/README.md
	$(INSTALL) -d $(DESTDIR)$(DOCDIR)
	$(INSTALL) -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	sed -e 's|^socket *= *"[^"]*"|socket = "/run/liud/liud.sock"|' \
	    -e 's|^db *= *"[^"]*"|db     = "/var/lib/liud/db"|' \
	    -e 's|^rules *= *"[^"]*"|rules  = "$(DATADIR)/rules/ismap-liu"|' \
	    etc/liud.conf > $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf.new
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf ]; then \
	  echo "  keeping $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf; the new one is liud.conf.new"; \
	else mv $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf.new $(DESTDIR)$(SYSCONFDIR)/liud/liud.conf; fi
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
	    contrib/systemd/liud.service.in > $(DESTDIR)$(UNITDIR)/liud.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/liud.service
	$(INSTALL) -m 0644 contrib/systemd/liud.sysusers $(DESTDIR)$(SYSUSERSDIR)/liud.conf
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
	rm -f $(DESTDIR)$(UNITDIR)/liud.service $(DESTDIR)$(SYSUSERSDIR)/liud.conf
	rm -f $(DESTDIR)$(UNITDIR)/liud-metrics.service $(DESTDIR)$(UNITDIR)/liud-metrics.timer
	rm -rf $(DESTDIR)$(LIBEXECDIR)
	rm -f $(DESTDIR)$(COMPLDIR)/liuctl
	rm -f $(DESTDIR)$(MANDIR)/man8/liud.8 $(DESTDIR)$(MANDIR)/man1/liuctl.1 \
	  $(DESTDIR)$(MANDIR)/man5/liud.conf.5 $(DESTDIR)$(MANDIR)/man7/liud-rules.7
	@echo "  kept $(DESTDIR)$(SYSCONFDIR)/liud (configuration) and /var/lib/liud (data)"
