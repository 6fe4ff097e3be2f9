#!/usr/bin/perl
# One damaged record does not stop `liuctl export`: the export goes on past
# it, names each damaged id on stderr and exits non-zero at the end; the
# daemon's record.list names the damaged ids of a page ("damaged").
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);

my $TAMPER = ($ENV{LIUD_TOOLS} // 'build/rel/tests') . '/tamper';
my $LIUCTL = bin_dir() . '/liuctl';
my $tmp = tempdir('liud-exd-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $clock = '2024-06-01T12:00:00+09:00';
my $d = Liud::start_daemon(clock => $clock, rules => 'tests/packs/mini');
$d->ok_call('import', { action => 'create', rows => [ map { { text => "note $_" } } 1 .. 300 ] });
my @ids = map { $_->{id} } @{ $d->ok_call('record.list', { limit => 1000 })->{records} };
is(scalar @ids, 300, '300 records');
$d->stop;
# One that is not JSON, and one whose zstd frame does not decompress, each
# in a different page of the export.
my ($bad_json, $bad_frame) = ($ids[10], $ids[250]);
is(system($TAMPER, $d->{db}, 'record', $bad_json, '{"not json'), 0, "$bad_json damaged (not JSON)");
is(system($TAMPER, $d->{db}, 'record', $bad_frame, "\x28\xb5\x2f\xfd\x20\x40garbage"), 0,
   "$bad_frame damaged (a frame that does not decompress)");
$d->start;

my $l = $d->call('record.list', { after => $ids[240], limit => 20 });
ok($l->{result}, 'record.list goes on past a record that does not decompress') or diag(json()->encode($l));
is_deeply($l->{result}{damaged}, [ $bad_frame ], 'and names it in "damaged"');

for my $format ('jsonl', 'csv') {
	my $pid = fork // die;
	if ($pid == 0) {
		open STDOUT, '>', "$tmp/out" or die;
		open STDERR, '>', "$tmp/err" or die;
		exec $LIUCTL, '--socket', $d->{sock}, 'export', '--format', $format or exit 127;
	}
	waitpid($pid, 0);
	my $rc = $? >> 8;
	my $out = do { open my $f, '<', "$tmp/out" or die; local $/; <$f> };
	my $err = do { open my $f, '<', "$tmp/err" or die; local $/; <$f> };
	isnt($rc, 0, "$format: export exits non-zero ($rc)");
	my $lines = () = $out =~ /\n/g;
	is($lines, $format eq 'csv' ? 299 : 298, "$format: every other record is written");
	like($err, qr/record \Q$bad_json\E is damaged/, "$format: stderr names $bad_json");
	like($err, qr/record \Q$bad_frame\E is damaged/, "$format: stderr names $bad_frame");
	like($err, qr/298 records written, 2 damaged/, "$format: and counts them at the end");
}
$d->stop;
done_testing();
