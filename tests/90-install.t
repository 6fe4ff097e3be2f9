#!/usr/bin/perl
# make install DESTDIR=... lays out a complete daemon: binaries, the rule pack,
# the configuration, man pages, completion, a systemd unit that
# systemd-analyze verifies, tmpfiles.d for the backups and the live packs
# (a writable copy under etc/liud/rules, kept by a second install); the
# installed liuctl defaults to the installed socket; the installed daemon
# runs; make uninstall cleans up.
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
	   "lib/systemd/system/liud.service", "lib/sysusers.d/liud.conf", "lib/tmpfiles.d/liud.conf",
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
like($conf, qr{^rules\s+= "/usr/local/etc/liud/rules/ismap-liu"}m, 'and the live pack under etc/liud/rules');
like($conf, qr{^socket_mode = "0666"}m, 'the socket lets everyone connect: roles decide (docs/OPERATIONS.md)');
ok(-e "$p/etc/liud/rules/ismap-liu/00-pack.lua", 'the live pack is a copy policy staff may edit');
ok(((stat "$p/etc/liud/rules/ismap-liu")[2] & 02070) == 02070, 'its folder is group-writable and setgid');
ok(((stat "$p/etc/liud/rules/ismap-liu/00-pack.lua")[2] & 0060) == 0060, 'its files group-writable');
my $tmpf = do { local (@ARGV, $/) = "$p/lib/tmpfiles.d/liud.conf"; <> } // '';
like($tmpf, qr{^d /var/backups/liud 0750 liud liud}m, 'tmpfiles.d makes /var/backups/liud');
like($tmpf, qr{^Z /usr/local/etc/liud/rules ~2775 root liu-policy}m, 'and gives the live packs to liu-policy');
# systemd refuses to start a unit whose ReadWritePaths= names a folder that
# does not exist (status 226/NAMESPACE) unless it is marked optional with
# "-": every one is made by tmpfiles.d or optional.
for my $unit (glob "$p/lib/systemd/system/*.service") {
	my $u = do { local (@ARGV, $/) = $unit; <> } // '';
	for my $path (map { split ' ' } $u =~ /^ReadWritePaths=(.*)$/mg) {
		my $made = $tmpf =~ /^d \Q$path\E\s/m;
		ok($path =~ /^-/ || $made, "$unit: ReadWritePaths=$path is made by tmpfiles.d or optional");
	}
}

# The installed liuctl defaults to the installed socket; a checkout's to the checkout's.
{
	local $ENV{LIUD_SOCKET};
	delete $ENV{LIUD_SOCKET};
	my $o = `$p/bin/liuctl status 2>&1`;
	# (a liud installed on this machine would answer: then it is enough that one does)
	like($o, -S '/run/liud/liud.sock' ? qr{^version:}m : qr{cannot connect to /run/liud/liud\.sock},
	     'the installed liuctl tries /run/liud/liud.sock');
	like(`$p/bin/liuctl --help`, qr{else /run/liud/liud\.sock\)}, 'and its --help says so');
	$o = `${\ Liud::bin_dir()}/liuctl status 2>&1`;
	like($o, qr{cannot connect to run/liud\.sock}, 'a checkout build tries run/liud.sock');
}
# A second install keeps the live pack policy staff may have edited.
open my $lf, '>>', "$p/etc/liud/rules/ismap-liu/00-pack.lua" or die;
print $lf "-- edited\n";
close $lf;
$out = `make --no-print-directory install DESTDIR=$dest PREFIX=/usr/local 2>&1`;
like($out, qr{keeping the live pack}, 'a second install keeps the live pack');
like(do { local (@ARGV, $/) = "$p/etc/liud/rules/ismap-liu/00-pack.lua"; <> }, qr/-- edited\n\z/,
     'with its edits');
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
my $d = Liud::start_daemon(clock => '2024-06-01', rules => "$p/etc/liud/rules/ismap-liu");
{
	local $ENV{LIUD_BIN} = "$p/sbin";
	my $i = Liud::start_daemon(clock => '2024-06-01', rules => "$p/etc/liud/rules/ismap-liu",
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
   && !-e "$p/share/doc/liud" && !-e "$p/lib/tmpfiles.d/liud.conf",
   'and removes what install laid out');
ok(-e "$p/etc/liud/liud.conf" && -e "$p/etc/liud/rules/ismap-liu/00-pack.lua",
   'but keeps the configuration and the live packs');
done_testing;
