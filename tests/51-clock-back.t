#!/usr/bin/perl
# A clock that steps back across a deadline already enforced: enforcement
# follows from state and time, not from "this deadline already ran once".
# The mini pack's window ends 2025-01-01T00:00+09:00; the deadline is
# enforced, the clock is set back, a note is created (the window is open
# again at that time), and the deadline passes again: the new note expires
# at the deadline, with `enforce`, and at start after a restart.  Each with
# staging off and on.
use strict;
use warnings;
use utf8;
use Test::More;
use lib 'tests/lib';
use Liud;
use File::Temp qw(tempdir);
use Time::HiRes qw(sleep time);

my $tmp = tempdir('liud-back-XXXXXX', TMPDIR => 1, CLEANUP => 1);
open my $cf, '>', "$tmp/nostage.conf" or die;
print $cf "storage = { stage_hours = 0 }\n";
close $cf;

sub wait_for { my ($cond, $secs) = @_; my $end = time + $secs; while (time < $end) { return 1 if $cond->(); sleep 0.05 } return 0 }
sub state_of { $_[0]->ok_call('record.get', { id => $_[1] })->{state} }
sub enforces { scalar grep { $_->{method} eq 'enforce' } @{ $_[0]->ok_call('history', { id => $_[1] })->{entries} } }

# Enforced once, the clock set back, one note created then.  Returns the
# daemon and the new note's id.
sub stepped_back {
	my ($conf, $tag) = @_;
	my $d = Liud::start_daemon(clock => '2024-12-31T23:00:00+09:00', rules => 'tests/packs/mini',
				   ($conf ? (conf => $conf) : ()));
	my $old = $d->ok_call('act', { action => 'create', params => { text => 'before' } })->{record}{id};
	$d->ok_call('clock.set', { now => '2025-01-01T00:00:00+09:00' });
	$d->ok_call('enforce', {});
	is(state_of($d, $old), 'expired', "$tag: the deadline is enforced");
	$d->ok_call('clock.set', { now => '2024-12-31T23:59:00+09:00' });
	my $new = $d->ok_call('act', { action => 'create', params => { text => 'after the step' } })->{record}{id};
	is(state_of($d, $new), 'open', "$tag: a note is accepted with the clock set back");
	is(($d->ok_call('deadlines')->{deadlines}[0] // {})->{at}, '2025-01-01T00:00:00+09:00',
	   "$tag: the deadline is upcoming again");
	return ($d, $old, $new);
}

for my $case ([ 'staging off', "$tmp/nostage.conf" ], [ 'staging on', undef ]) {
	my ($tag, $conf) = @$case;

	# The deadline passes again on its own.
	my ($d, $old, $new) = stepped_back($conf, "$tag, live");
	$d->ok_call('clock.set', { now => '2024-12-31T23:59:59+09:00' });
	ok(wait_for(sub { state_of($d, $new) eq 'expired' }, 4), "$tag: the new note expires when the deadline passes again");
	is(enforces($d, $new), 1, "$tag: once");
	is(enforces($d, $old), 1, "$tag: the note expired before is not enforced again");
	like($d->log_text, qr/clock is before an enforced deadline.*measure=window/, "$tag: the deadline opened again is logged");
	like($d->log_text, qr/warn +clock: stepped back by \d+ ms from=2025-01-01T00:00:0\d\+09:00 to=2024-12-31T23:59:00\+09:00 clock=test/,
	     "$tag: the step back is logged with its size");
	ok($d->ok_call('audit.verify')->{ok}, "$tag: the audit chain holds");
	$d->stop;

	# enforce, right after the clock passes it again.
	($d, $old, $new) = stepped_back($conf, "$tag, enforce");
	$d->ok_call('clock.set', { now => '2025-01-01T00:00:00+09:00' });
	my $e = $d->ok_call('enforce', {});
	is(state_of($d, $new), 'expired', "$tag: enforce expires the new note");
	# The timer may have run the deadline between clock.set and enforce (a
	# loaded machine): then enforce has nothing left to report.
	my $reported = grep { $_->{measure} eq 'window' } @{ $e->{enforced} };
	is(enforces($d, $new), 1, "$tag: enforced once");
	ok($reported == 1 || ($reported == 0 && $d->log_text =~ /measure=window/),
	   "$tag: enforce reports the run, or the timer had made it");
	$d->stop;

	# A restart with the clock past the deadline (killed while set back).
	($d, $old, $new) = stepped_back($conf, "$tag, restart");
	sleep 0.3;
	$d->stop('KILL');
	$d->{opt}{clock} = '2025-01-02T00:00:00+09:00';
	$d->start;
	is(state_of($d, $new), 'expired', "$tag: after a restart past the deadline the new note has expired");
	is(enforces($d, $old), 1, "$tag: and the old one was not enforced again");
	$d->stop;
}
done_testing;
