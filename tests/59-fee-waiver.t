#!/usr/bin/perl
# The second pack, rules/fee-waiver, live: the daemon runs it with nothing
# from the ISMAP-LIU pack.  Its roles (an applicant office, a reviewer) are
# given to real users through liud.conf; one application per provider (the
# kind's key field); at most five waivers in all, counted by count() with
# the writes in flight (grants pipelined on one connection, so that each is
# decided while the ones before it are still being committed); its own list
# columns and its own handling marking.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use File::Copy qw(copy);
use File::Path qw(make_path);
use JSON::PP;
use Encode qw(decode);

plan skip_all => 'needs root to create test users (CI runs as root)' if $> != 0;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);

sub sh { system(@_) == 0 }
sh('groupadd', '--system', 'liut-none') unless getgrnam('liut-none');
sh('groupadd', '--system', 'liut-fwoffice') unless getgrnam('liut-fwoffice');
for my $u (qw(liut-fwclerk liut-fwrev)) {
	next if getpwnam($u);
	sh('useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', '-g', 'liut-none', $u)
		or BAIL_OUT("useradd $u failed");
}
sh('usermod', '-a', '-G', 'liut-fwoffice', 'liut-fwclerk') or BAIL_OUT('usermod failed');

my $dir = tempdir('liud-fw-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
copy('tests/tools/call.pl', "$dir/call.pl") && chmod(0755, "$dir/call.pl") or die;
open my $cf, '>', "$dir/liud.conf" or die;
print $cf <<'CONF';
socket_mode = "0666"
roles = {
  admin = { users = { "root" } },
  applicant_office = { groups = { "liut-fwoffice" } },
  reviewer = { users = { "liut-fwrev" } },
}
CONF
close $cf;

make_path("$dir/live");
my $d = Liud::start_daemon(dir => "$dir/live", conf => "$dir/liud.conf", rules => 'rules/fee-waiver',
			   clock => '2025-05-01T10:00:00+09:00');
ok($d->alive, 'the daemon runs the fee-waiver pack') or diag($d->log_text);
my $st = $d->ok_call('rules.status');
is($st->{name}, 'fee-waiver', 'the live pack is fee-waiver');
is_deeply([ map { $_->{id} } @{ $st->{roles} } ], [qw(applicant_office reviewer)], 'its roles');
unlike(encode_json($st), qr/ismap/i, 'nothing of the ISMAP-LIU pack in its status');

sub as {
	my ($user, $method, $params) = @_;
	my @cmd = ('setpriv', "--reuid=$user", '--regid=liut-none', '--init-groups', 'perl', "$dir/call.pl",
		   $d->{sock}, $method);
	push @cmd, encode_json($params) if defined $params;
	open my $p, '-|', @cmd or die "setpriv: $!";
	my $line = <$p>;
	close $p;
	return decode_json($line // '{}');
}
sub app {
	my ($n, %o) = @_;
	return { provider_id => sprintf('%013d', 1000000000000 + $n), provider_name => "事業者$n",
		 employees => 40, fee_yen => 300000, applied_on => '2025-05-01', %o };
}

# --- roles from liud.conf ----------------------------------------------------------
my $r = as('liut-fwclerk', 'act', { action => 'apply', params => app(1) });
is($r->{result}{record}{id}, 'FW-1000000000001', 'the office (by its group) applies; the key names the record')
	or diag(encode_json($r));
$r = as('liut-fwclerk', 'act', { action => 'grant', id => 'FW-1000000000001' });
is($r->{error}{code}, -32001, 'the office may not grant');
$r = as('liut-fwclerk', 'history', { id => 'FW-1000000000001' });
is($r->{error}{code}, -32001, 'nor read the history (a method its role does not name)');
$r = as('liut-fwrev', 'act', { action => 'grant', id => 'FW-1000000000001' });
is($r->{result}{record}{state}, 'granted', 'the reviewer grants') or diag(encode_json($r));
$r = as('liut-fwrev', 'act', { action => 'apply', params => app(2) });
is($r->{error}{code}, -32001, 'the reviewer may not apply');

# --- one per provider ---------------------------------------------------------------
$r = as('liut-fwclerk', 'act', { action => 'apply', params => app(1, provider_name => '別名') });
is($r->{error}{code}, -32004, 'a second application of the provider is refused');
like(encode_json($r->{error}), qr/already exists \(FW-1000000000001\)/, 'naming the record that exists');
$r = as('liut-fwclerk', 'act', { action => 'amend', id => 'FW-1000000000001', params => { provider_id => '1000000000002' } });
is($r->{error}{code}, -32004, 'a granted application is not amended') or diag(encode_json($r));
my $a9 = $d->ok_call('act', { action => 'apply', params => app(40) })->{record}{id};
$r = $d->call('act', { action => 'amend', id => $a9, params => { provider_id => '1000000000041' } });
is($r->{error}{code}, -32602, 'the key field is not amended');
is($r->{error}{data}{errors}[0]{field}, 'provider_id', 'naming it') or diag(encode_json($r));
my @same = $d->pipeline('act', map { { action => 'apply', params => app(9) } } 1 .. 2);
is(scalar(grep { $_->{result} } @same), 1, 'two applications of one provider in flight: one is written')
	or diag(encode_json(\@same));

my $imp = $d->ok_call('import', { action => 'apply', atomic => JSON::PP::false,
				   rows => [ app(30), app(31), app(30, provider_name => 'again'), app(1) ] });
is_deeply($imp->{ids}, [ 'FW-1000000000030', 'FW-1000000000031' ], 'an import: each row named by its key')
	or diag(encode_json($imp));
is_deeply([ map { $_->{row} } @{ $imp->{failed} } ], [ 2, 3 ],
	  'a row repeating an earlier row\'s provider, and one repeating a stored record, are refused');
like(encode_json($imp->{failed}[0]), qr/already exists \(FW-1000000000030\)/, 'naming the record');

# --- the cap over all records, with writes in flight ----------------------------------
$d->ok_call('act', { action => 'apply', params => app($_) }) for 2 .. 8;
my @grants = $d->pipeline('act', map { { action => 'grant', id => sprintf('FW-%013d', 1000000000000 + $_) } } 2 .. 8);
my @ok = grep { $_->{result} } @grants;
is(scalar @ok, 4, 'seven grants pipelined, one granted before: four more reach the cap of five')
	or diag(encode_json(\@grants));
my @refused = grep { $_->{error} && $_->{error}{code} == -32004 } @grants;
is(scalar @refused, 3, 'the other three are refused');
like(encode_json($refused[0]{error}), qr/cap of 5 waivers/, 'naming the cap') if @refused;
my $list = $d->ok_call('record.list', { state => 'granted' });
is(scalar @{ $list->{records} }, 5, 'five waivers granted in all') or diag(encode_json($list));

# --- its own columns and marking -------------------------------------------------
my $LIUCTL = Liud::bin_dir() . '/liuctl';
my $out = decode('UTF-8', scalar `$LIUCTL --socket $d->{sock} record list 2>&1`);
my @l = split /\n/, $out;
like($l[0], qr/^ID\s+KIND\s+STATE\s+UPDATED\s+PROVIDER\s+FEE \(YEN\)\s+DECISION\s*$/, 'record list: the pack\'s summary columns')
	or diag($out);
like($out, qr/FW-1000000000001\s+waiver\s+granted\s.*事業者1\s+300000/, 'with the record\'s values');
unlike($out, qr/SERVICE/, 'no column of another measure');
my $csv = $d->ok_call('view', { name => 'register', format => 'csv' });
my @lines = split /\r\n/, $csv;
like($lines[0], qr/取扱注意（審査資料） \/ Handle with care/, 'the register\'s CSV: the pack\'s marking first')
	or diag($lines[0]);
like($lines[1], qr/^受付番号 \(Number\),/, 'then its header');
is(scalar(@lines), 7, 'and the five waivers');
my $html = $d->ok_call('view', { name => 'register', format => 'html' });
like($html, qr/<p class="notice">取扱注意（審査資料）/, 'the HTML page carries its marking');
unlike($html, qr/政府機関/, 'and no other');
$r = as('liut-fwclerk', 'view', { name => 'register' });
is(scalar @{ $r->{result}{rows} // [] }, 5, 'the office reads the register (the view names its role)')
	or diag(encode_json($r));

# --- the end of the window ---------------------------------------------------------
$d->ok_call('act', { action => 'apply', params => app(20) });
$d->ok_call('clock.set', { now => '2025-10-01T00:00:05+09:00' });
my $rec;
for (1 .. 100) {
	$rec = $d->ok_call('record.get', { id => 'FW-1000000000020' });
	last if $rec->{state} eq 'lapsed';
	select(undef, undef, undef, 0.1);
}
is($rec->{state}, 'lapsed', 'an application under review lapses when the window closes');
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
