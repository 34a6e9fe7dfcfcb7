#!/usr/bin/perl
# Bounded logging: one client flooding cannot make the module write an
# unbounded error_log.  Its first lines per interval are written (enough
# for fail2ban), the rest are counted and reported in one summary line.
# ProxyGuardLogLimit 0 lifts the limit.
#
# How many lines a flood may write depends on when its requests arrived,
# so the test does not guess from its own clock: the server logs each
# request's time (%{sec}t, the r->request_time the module counts with),
# and the exact number of PG0001 and PG0006 lines is worked out from those
# times by the documented rule (a client's window starts at its first hit
# and lasts `seconds`; `lines` hits in it are logged, the rest are
# reported when the next window starts).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";

sub server {
    my ($name, $limit) = @_;
    return PGTest->new(name => $name, conf => sub {
        "ProxyGuardLogLimit $limit\n"
        . "LogFormat \"%{sec}t %a %>s\" times\nCustomLog \"$_[0]{dir}/logs/times_log\" times\n"
        . $_[0]->status_location . $_[0]->standard_vhosts;
    });
}

# The request times (seconds) of one client's CONNECTs, in order.
sub hit_times {
    my ($srv, $addr) = @_;
    return map { /^(\d+) \Q$addr\E 405$/ ? $1 : () } split /\n/, $srv->slurp('logs/times_log');
}

# The rule, applied to those times: (lines logged, [suppressed counts of
# the summaries written]).
sub expected_lines {
    my ($lines, $window, @times) = @_;
    my ($logged, $start, $in_window, $suppressed, @summaries) = (0, 0, 0, 0);
    for my $t (@times) {
        if ($in_window == 0 || $t - $start >= $window) {
            push @summaries, $suppressed if $suppressed;
            ($start, $in_window, $suppressed) = ($t, 0, 0);
        }
        if ($in_window < $lines) { $in_window++; $logged++ }
        else { $suppressed++ }
    }
    return ($logged, \@summaries);
}

my $srv = server('loglimit', '10 3');
$srv->start;

my $n = 1000;
my $bad = grep { $srv->request($connect, from => '127.0.0.3')->{status} != 405 } 1 .. $n;
is($bad, 0, "$n CONNECTs from one client, all answered 405");

# Another client is not affected by the first one's budget.
my $mark = $srv->log_mark('logs/error_log');
$srv->request($connect, from => '127.0.0.4');
like($srv->log_since('logs/error_log', $mark), qr/\[client 127\.0\.0\.4:\d+\] PG0001: action=deny reason=connect/,
     'another client is logged');

# After the interval the next hit is logged, with one summary line.
my $flood_end = time;
sleep 0.1 while time - $flood_end < 3.5;
$mark = $srv->log_mark('logs/error_log');
$srv->request($connect, from => '127.0.0.3');
my $log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[client 127\.0\.0\.3:\d+\] PG0006: (\d+) more hits from this client in the last \d+ s were counted but not logged \(ProxyGuardLogLimit\)/,
     'one summary line reports the suppressed hits');
like($log, qr/\[client 127\.0\.0\.3:\d+\] PG0001: action=deny reason=connect/, 'and the new hit is logged');

# Suppressed from the log, never from the counts.
my $j = $srv->json;
is($j->{hits}{connect}, $n + 2, 'every hit is counted');
my ($c) = grep { $_->{address} eq '127.0.0.3' } @{ $j->{clients} };
is($c->{total}, $n + 1, 'the client has all its hits');
$srv->stop;

my @times = hit_times($srv, '127.0.0.3');
is(scalar @times, $n + 1, "the server's own times of the client's $n + 1 hits");
my ($want_logged, $want_summaries) = expected_lines(10, 3, @times);
my $all = $srv->slurp('logs/error_log');
my $logged = () = $all =~ /\[client 127\.0\.0\.3:\d+\] PG0001: /g;
my @summaries = $all =~ /\[client 127\.0\.0\.3:\d+\] PG0006: (\d+) more hits/g;
is($logged, $want_logged,
   "exactly 10 lines per 3-second window: $logged lines for $n + 1 hits over "
   . ($times[-1] - $times[0]) . " s");
is_deeply(\@summaries, $want_summaries, 'one summary per window that suppressed hits, with its exact count');
cmp_ok($logged, '<', 10 * ($times[-1] - $times[0] + 3), 'the flood wrote far fewer lines than hits');
my $sum = 0;
$sum += $_ for @summaries;
is($logged + $sum, $n + 1, "logged ($logged) + reported as suppressed ($sum) = sent (@{[ $n + 1 ]})");
my $bytes = length $all;
diag(sprintf('error_log: %d bytes for %d hits = %.1f bytes per hit', $bytes, $n, $bytes / $n));
ok($bytes / $n < 30, 'error_log bytes per hit stay small under a flood');

# ProxyGuardLogLimit 0: no limit, every hit has its line, no summary.
my $all_lines = server('loglimit-0', '0 60');
$all_lines->start;
my $m = 300;
$bad = grep { $all_lines->request($connect, from => '127.0.0.3')->{status} != 405 } 1 .. $m;
is($bad, 0, "ProxyGuardLogLimit 0: $m CONNECTs from one client, all answered 405");
$all_lines->stop;
$all = $all_lines->slurp('logs/error_log');
$logged = () = $all =~ /\[client 127\.0\.0\.3:\d+\] PG0001: action=deny reason=connect/g;
is($logged, $m, "ProxyGuardLogLimit 0: all $m hits logged");
unlike($all, qr/PG0006/, 'ProxyGuardLogLimit 0: no summary line');

done_testing;
