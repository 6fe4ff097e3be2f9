#!/usr/bin/perl
# One formula guard for every CSV the product writes: the daemon's view
# (view --format csv) and liuctl's export mark the same texts with a leading
# ' (a text starting with = + - @ TAB CR, the mark ' itself, or { [ which
# import would read as JSON), quote them, and leave other texts alone; and
# the export reads back through import to the same texts.
use strict;
use warnings;
use utf8;
use Test::More;
binmode(Test::More->builder->$_, ':utf8') for qw(output failure_output todo_output);
use lib 'tests/lib';
use Liud;
use Encode qw(decode encode);
use File::Temp qw(tempdir);

my $tmp = tempdir('liud-csvguard-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $LIUCTL = Liud::bin_dir() . '/liuctl';
my @LEAD = ('=', '+', '-', '@', "\t", "\r", "'", '{', '[');
my @TEXTS = ((map { "${_}x1" } @LEAD), 'plain', 'x=1', '日本語');

# The cells of a CSV text (RFC 4180), as [ [raw, value], ... ] per row:
# raw is the cell as written (quotes and all), value what it says.
sub cells {
	my ($t) = @_;
	$t =~ s/^\x{feff}//;
	my (@rows, @row);
	while (length $t) {
		my ($raw, $val);
		if ($t =~ s/^("((?:[^"]|"")*)")//s) { ($raw, $val) = ($1, $2 =~ s/""/"/gr) }
		else { $t =~ s/^([^,\r\n]*)//; ($raw, $val) = ($1, $1) }
		push @row, [ $raw, $val ];
		if ($t =~ s/^,//) { next }
		$t =~ s/^\r?\n//;
		push @rows, [ @row ];
		@row = ();
	}
	return \@rows;
}

my $d = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
$d->ok_call('act', { action => 'create', params => { text => $_ } }) for @TEXTS;

# The view: one column, the text.
my $view = cells($d->ok_call('view', { name => 'open-notes', format => 'csv' }));
my %view = map { $_->[0][1] => $_->[0][0] } @$view[ 1 .. $#$view ];

# The export: the text column.
my $exp = decode('UTF-8', scalar `$LIUCTL --socket $d->{sock} export --kind note --format csv`);
is($? >> 8, 0, 'liuctl export --format csv exits 0');
my $ex = cells($exp);
my ($col) = grep { $ex->[0][$_][1] eq 'text' } 0 .. $#{ $ex->[0] };
ok(defined $col, 'the export has a text column') or diag($exp);
my %export = map { $_->[$col][1] => $_->[$col][0] } @$ex[ 1 .. $#$ex ];

for my $t (@TEXTS) {
	my $name = $t =~ s/\t/TAB/r =~ s/\r/CR/r;
	my $guard = grep { substr($t, 0, 1) eq $_ } @LEAD;
	my $want = $guard ? '"' . "'$t" =~ s/"/""/gr . '"' : $t;
	is($view{$guard ? "'$t" : $t}, $want, "view: $name " . ($guard ? 'marked with \' and quoted' : 'as it is'))
		or diag(join ' | ', sort keys %view);
	is($export{$guard ? "'$t" : $t}, $want, "export: $name the same")
		or diag(join ' | ', sort keys %export);
}

# And the export reads back to the same texts.
open my $xf, '>:raw', "$tmp/notes.csv" or die;
print $xf encode('UTF-8', $exp);
close $xf;
my $e = Liud::start_daemon(clock => '2024-06-01', rules => 'tests/packs/mini');
my $imp = `$LIUCTL --socket $e->{sock} import --action create $tmp/notes.csv 2>&1`;
is($? >> 8, 0, 'the export imports into a fresh daemon') or diag($imp);
my %back = map { $_->{data}{text} => 1 } @{ $e->ok_call('record.list', { limit => 1000 })->{records} };
is_deeply([ sort grep { !$back{$_} } @TEXTS ], [], 'every text reads back as it was');
$e->stop;
is($d->stop, 0, 'the daemon stops cleanly');
done_testing;
