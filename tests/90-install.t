#!/usr/bin/perl
# make install DESTDIR=... lays out a complete daemon: binaries, the rule pack,
# the configuration, man pages, completion, a systemd unit that
# systemd-analyze verifies; the installed daemon runs; make uninstall cleans up.
use strict;
use warnings;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

sub have { system('sh', '-c', "command -v $_[0] >/dev/null 2>&1") == 0 }
my $dest = tempdir('liud-dest-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $out = `make --no-print-directory install DESTDIR=$dest PREFIX=/usr/local 2>&1`;
is($? >> 8, 0, 'make install succeeds') or diag($out);
my $p = "$dest/usr/local";
for my $f ("sbin/liud", "bin/liuctl", "share/liud/rules/ismap-liu/00-pack.lua",
	   "share/liud/rules/ismap-liu/data/ismap-criteria-2022-04-01.csv", "etc/liud/liud.conf",
	   "lib/systemd/system/liud.service", "lib/sysusers.d/liud.conf",
	   "share/bash-completion/completions/liuctl",
	   "share/doc/liud/PROTOCOL.md", "share/doc/liud/RULES.md") {
	ok(-e "$p/$f", "installed: $f");
}
SKIP: {
	skip 'scdoc is not installed', 4 unless have('scdoc');
	ok(-s "$p/share/man/man$_", "man page $_") for qw(8/liud.8 1/liuctl.1 5/liud.conf.5 7/liud-rules.7);
}
ok(-x "$p/sbin/liud" && -x "$p/bin/liuctl", 'binaries are executable');
my $conf = do { local (@ARGV, $/) = "$p/etc/liud/liud.conf"; <> };
like($conf, qr{^socket = "/run/liud/liud.sock"}m, 'the installed configuration uses /run/liud');
like($conf, qr{^db\s+= "/var/lib/liud/db"}m, 'and /var/lib/liud');
like($conf, qr{^rules\s+= "/usr/local/share/liud/rules/ismap-liu"}m, 'and the installed pack');
my $unit = do { local (@ARGV, $/) = "$p/lib/systemd/system/liud.service"; <> };
like($unit, qr{^Type=notify$}m, 'the unit is Type=notify');
like($unit, qr{^ExecStart=/usr/local/sbin/liud -c /usr/local/etc/liud/liud.conf$}m, 'with the installed paths');
like($unit, qr{^ExecReload=.*kill -HUP}m, 'reload by SIGHUP');
like($unit, qr{^(NoNewPrivileges|ProtectSystem|PrivateTmp)=}m, 'and sandboxing');

SKIP: {
	skip 'systemd-analyze is not installed', 1 unless have('systemd-analyze');
	# Verify the unit as it will be, with its files found under DESTDIR.
	(my $u = $unit) =~ s{(/usr/local/)}{$dest$1}g;
	open my $f, '>', "$dest/liud.service" or die;
	print $f $u;
	close $f;
	my $v = `MANPATH=$p/share/man systemd-analyze verify $dest/liud.service 2>&1`;
	is($? >> 8, 0, 'systemd-analyze verify passes') or diag($v);
}

# The installed daemon serves the installed pack.
my $d = Liud::start_daemon(clock => '2024-06-01', rules => "$p/share/liud/rules/ismap-liu");
{
	local $ENV{LIUD_BIN} = "$p/sbin";
	my $i = Liud::start_daemon(clock => '2024-06-01', rules => "$p/share/liud/rules/ismap-liu",
				   conf => "$p/etc/liud/liud.conf");
	my $st = $i->ok_call('rules.status');
	is($st->{name}, 'ismap-liu', 'the installed daemon serves the installed pack');
	my $liuctl = `$p/bin/liuctl --socket $i->{sock} status 2>&1`;
	like($liuctl, qr/ismap-liu/, 'and the installed liuctl talks to it');
	$i->stop;
}
$d->stop;

$out = `make --no-print-directory uninstall DESTDIR=$dest PREFIX=/usr/local 2>&1`;
is($? >> 8, 0, 'make uninstall succeeds');
ok(!-e "$p/sbin/liud" && !-e "$p/bin/liuctl" && !-e "$p/share/liud" && !-e "$p/lib/systemd/system/liud.service"
   && !-e "$p/share/doc/liud",
   'and removes what install laid out');
ok(-e "$p/etc/liud/liud.conf", 'but keeps the configuration');
done_testing;
