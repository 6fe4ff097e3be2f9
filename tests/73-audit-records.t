#!/usr/bin/perl
# audit verify ties the records to the chain and proves a published head.
# Each entry that changes a record carries the SHA-256 of the record's text
# after the change (record_sha256); audit verify checks every record against
# its last entry and names each that differs.  The daemon logs the head
# ("audit: head=SEQ:HASH") at start, stop and on an interval, and
# `audit verify --head` proves that a head logged earlier is still in the
# chain: the one thing a rewrite of both the chain's end and its head leaves
# intact otherwise.  The database is edited offline with tests/tools/tamper.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use Digest::SHA qw(sha256_hex);
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

my $TAMPER = ($ENV{LIUD_TOOLS} // 'build/rel/tests') . '/tamper';
my $CTL = Liud::bin_dir() . '/liuctl';
my $tmp = tempdir('liud-ar-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $clock = '2024-06-01T12:00:00+09:00';
sub sh { system(@_) == 0 }
sub ctl { my ($d, @a) = @_; my $o = `$CTL --socket $d->{sock} @a 2>&1`; return ($? >> 8, $o) }
sub start_on {
	my ($db, %o) = @_;
	return Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', args => [ '--db', $db ], %o);
}
sub heads { my ($d) = @_; return [ $d->log_text =~ /audit: head=(\d+:[0-9a-f]{64}) when=(\w+)/g ] }

open my $cf, '>', "$tmp/liud.conf" or die;
print $cf "storage = { audit_head_s = 1 }\n";
close $cf;
my $d = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini', conf => "$tmp/liud.conf");
like($d->log_text, qr/audit: head=\d+:[0-9a-f]{64} when=start/, 'the head is logged at start');

# Every write path: a new record (decoded), an action on a stored one (its
# text), an import (entries sealed at the submit).
my @ids = map { $d->ok_call('act', { action => 'create', params => { text => "note $_" } })->{record}{id} } 1 .. 4;
$d->ok_call('act', { action => 'edit', id => $ids[0], params => { text => 'edited once' } });
$d->ok_call('act', { action => 'close', id => $ids[1] });
$d->ok_call('import', { action => 'create', rows => [ map { { text => "imported $_ " . ('x' x 600) } } 1 .. 5 ] });
my $h = $d->ok_call('history', { id => $ids[0] })->{entries};
my $rec = $d->ok_call('record.get', { id => $ids[0] });
like($h->[-1]{record_sha256}, qr/^[0-9a-f]{64}\z/, 'an entry carries the digest of its record');
my $v = $d->ok_call('audit.verify');
ok($v->{ok}, 'the chain and the records verify');
is($v->{records}{checked}, 9, 'every record is checked');
is($v->{records}{without_digest}, 0, 'each against a digest');
is_deeply($v->{records}{differ}, [], 'none differs');
my ($st, $out) = ctl($d, 'audit', 'verify');
is($st, 0, 'liuctl audit verify exits 0');
like($out, qr/9 checked against the digest in their last audit entry/, '... and says the records were checked');

# A refused action writes an entry that changes no record: the last entry.
ok($d->call('act', { action => 'edit', id => $ids[1], params => { text => 'closed already' } })->{error},
   'an action refused (its entry changes no record)');
my $t0 = time;
sleep 0.1 until (grep { $_ eq 'interval' } @{ heads($d) }) || time - $t0 > 10;
ok((grep { $_ eq 'interval' } @{ heads($d) }), 'the head is logged on the interval (storage.audit_head_s)');
$v = $d->ok_call('audit.verify');
$d->stop;
my %h = reverse @{ heads($d) };
my $published = $h{stop};
like($published // '', qr/^\d+:[0-9a-f]{64}\z/, "the head is logged at stop: $published");
is($published, "$v->{entries}:$v->{head}", '... the head audit verify reports');
sh('cp', '-r', $d->{db}, "$tmp/clean") or die;

# --- a record edited offline -----------------------------------------------------
{
	sh('cp', '-r', "$tmp/clean", "$tmp/edited") or die;
	my $g = start_on("$tmp/edited");
	# The record's text as record.get answers it (the stored bytes, not
	# encoded again): the digest in its last entry is the SHA-256 of them.
	my $sock = $g->connect;
	print $sock Liud::json()->encode({ jsonrpc => '2.0', id => 1, method => 'record.get',
					params => { id => $ids[2] } }), "\n";
	my $line = <$sock>;
	close $sock;
	my ($raw) = $line =~ /"result":(\{.*\})\}\s*\z/ or die "no result in $line";
	my $last = $g->ok_call('history', { id => $ids[2] })->{entries}[-1];
	is(sha256_hex($raw), $last->{record_sha256}, "the digest is the SHA-256 of record.get's text");
	$g->stop;
	(my $forged = $raw) =~ s/"state":"open"/"state":"closed"/ or die "no state in $raw";
	sh($TAMPER, "$tmp/edited", 'record', $ids[2], $forged) or die 'tamper record failed';
	$g = start_on("$tmp/edited");
	my $r = $g->ok_call('audit.verify');
	ok(!$r->{ok}, 'a record edited offline fails audit verify');
	ok(!exists $r->{first_bad_seq}, '... though the chain itself holds');
	is_deeply([ map { $_->{id} } @{ $r->{records}{differ} } ], [ $ids[2] ], '... naming the record');
	like($r->{records}{differ}[0]{reason}, qr/differs from the digest in its last audit entry/,
	     "... and what is wrong: $r->{records}{differ}[0]{reason}");
	my ($s, $o) = ctl($g, 'audit', 'verify');
	is($s, 1, 'liuctl audit verify exits 1');
	like($o, qr/record \Q$ids[2]\E: the record differs/, '... naming the record on stderr');
	$g->stop;
}

# --- a record added, a record removed -------------------------------------------------
{
	sh('cp', '-r', "$tmp/clean", "$tmp/addrm") or die;
	sh($TAMPER, "$tmp/addrm", 'record', 'N-999999',
	   '{"id":"N-999999","kind":"note","rev":1,"state":"open","data":{"text":"forged"}}') or die;
	sh($TAMPER, "$tmp/addrm", 'unrecord', $ids[3]) or die 'tamper unrecord failed';
	my $g = start_on("$tmp/addrm");
	my $r = $g->ok_call('audit.verify');
	my %why = map { $_->{id} => $_->{reason} } @{ $r->{records}{differ} };
	ok(!$r->{ok}, 'a record added and one removed offline fail audit verify');
	like($why{'N-999999'} // '', qr/no audit entry records this record/, "the added one is named: $why{'N-999999'}");
	like($why{ $ids[3] } // '', qr/the store has it no more/, "the removed one is named: $why{ $ids[3] }");
	is($r->{records}{differ_count}, 2, 'and nothing else');
	$g->stop;
}

# --- the chain's last entry cut and its head rewritten --------------------------------
{
	sh('cp', '-r', "$tmp/clean", "$tmp/cut") or die;
	sh($TAMPER, "$tmp/cut", 'cut') or die 'tamper cut failed';
	my $g = start_on("$tmp/cut");
	my $r = $g->ok_call('audit.verify');
	ok($r->{ok}, 'a chain whose last entry was cut and whose head was rewritten verifies alone')
		or diag(Liud::json()->encode($r));
	my ($seq) = split /:/, $published;
	is($r->{entries}, $seq - 1, '... one entry short');
	like($g->log_text, qr/audit: head=\Q@{[$seq - 1]}\E:[0-9a-f]{64} when=start/, '... and its start logs the rewritten head');
	$r = $g->ok_call('audit.verify', { head => $published });
	ok(!$r->{ok}, 'audit verify --head with the head published before fails');
	ok(!$r->{published}{ok}, '... the published head does not hold');
	like($r->{published}{reason}, qr/cut off its end/, "... saying why: $r->{published}{reason}");
	my ($s, $o) = ctl($g, 'audit', 'verify', '--head', $published);
	is($s, 1, 'liuctl audit verify --head exits 1');
	like($o, qr/the published head \Q$published\E does NOT hold: the chain ends before/, '... saying so');
	# An earlier head, still in the chain, holds.
	my $earlier = $g->ok_call('audit.verify')->{entries};
	my $e2 = $g->ok_call('history', { id => $ids[0] })->{entries}[0];
	$r = $g->ok_call('audit.verify', { head => "$e2->{seq}:$e2->{hash}" });
	ok($r->{ok} && $r->{published}{ok}, 'a head still in the chain holds');
	($s, $o) = ctl($g, 'audit', 'verify', '--head', "$e2->{seq}:$e2->{hash}");
	is($s, 0, '... liuctl exits 0');
	like($o, qr/ok: the published head \Q$e2->{seq}\E:/, '... and says so');
	# The same sequence number with another hash: rewritten from there.
	my $other = "$e2->{seq}:" . ('ab' x 32);
	$r = $g->ok_call('audit.verify', { head => $other });
	like($r->{published}{reason}, qr/another hash: the log was rewritten/, 'another hash at that entry: rewritten');
	my $bad = $g->call('audit.verify', { head => '12:xyz' });
	is($bad->{error}{data}{field}, 'head', 'a malformed head is refused, naming the field')
		or diag(Liud::json()->encode($bad));
	$g->stop;
}

# --- a database written before entries carried digests --------------------------------
{
	sh('cp', '-r', "$tmp/clean", "$tmp/old") or die;
	sh($TAMPER, "$tmp/old", 'strip') or die 'tamper strip failed';
	my $g = start_on("$tmp/old");
	my $r = $g->ok_call('audit.verify');
	ok($r->{ok}, 'entries without digests verify as before');
	is($r->{records}{without_digest}, 9, '... every record counted as vouched for by the chain only');
	my ($s, $o) = ctl($g, 'audit', 'verify');
	is($s, 0, 'liuctl exits 0');
	like($o, qr/9 last written before entries carried digests/, '... and says so');
	# A write now gives the record a digest again.
	$g->ok_call('act', { action => 'edit', id => $ids[0], params => { text => 'after the upgrade' } });
	$r = $g->ok_call('audit.verify');
	is($r->{records}{without_digest}, 8, 'a record written since is checked against its digest');
	$g->stop;
}

done_testing;
