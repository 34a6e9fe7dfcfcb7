#!/usr/bin/perl
# Bounded logging: one client flooding cannot make the module write an
# unbounded error_log.  Its first lines per interval are written (enough
# for fail2ban), the rest are counted and reported in one summary line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

my $srv = PGTest->new(name => 'loglimit', conf => sub {
    "ProxyGuardLogLimit 10 3\n" . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $start = time;
my $mark = $srv->log_mark('logs/error_log');
my $n = 1000;
my $bad = grep { $srv->request($connect, from => '127.0.0.3')->{status} != 405 } 1 .. $n;
is($bad, 0, "$n CONNECTs from one client, all answered 405");
my $log = $srv->log_since('logs/error_log', $mark);
my $bytes = length $log;
my $lines = () = $log =~ /\[client 127\.0\.0\.3:\d+\] PG0001: action=deny reason=connect/g;
if (time - $start < 3) {
    is($lines, 10, 'only the first 10 hits are logged within the 3-second interval');
}
else {
    ok($lines >= 10 && $lines <= 10 * (1 + int((time - $start) / 3)),
       "at most 10 lines per 3-second interval ($lines in " . sprintf('%.1f', time - $start) . ' s)');
}
diag(sprintf('error_log: %d bytes for %d hits = %.1f bytes per hit', $bytes, $n, $bytes / $n));
ok($bytes / $n < 30, 'error_log bytes per hit stay small under a flood');

# Another client is not affected by the first one's budget.
$mark = $srv->log_mark('logs/error_log');
$srv->request($connect, from => '127.0.0.4');
like($srv->log_since('logs/error_log', $mark), qr/\[client 127\.0\.0\.4:\d+\] PG0001: action=deny reason=connect/,
     'another client is logged');

# After the interval the next hit is logged, with one summary line.
my $flood_end = time;
sleep 0.1 while time - $flood_end < 3.5;
$mark = $srv->log_mark('logs/error_log');
$srv->request($connect, from => '127.0.0.3');
$log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[client 127\.0\.0\.3:\d+\] PG0006: (\d+) more hits from this client in the last \d+ s were counted but not logged/,
     'one summary line reports the suppressed hits');
like($log, qr/\[client 127\.0\.0\.3:\d+\] PG0001: action=deny reason=connect/, 'and the new hit is logged');
# Over the whole run (a slow run spans several intervals): every hit of the
# flood was either logged or reported as suppressed.
my $all = $srv->slurp('logs/error_log');
my $logged = () = $all =~ /\[client 127\.0\.0\.3:\d+\] PG0001: /g;
my $suppressed = 0;
$suppressed += $1 while $all =~ /\[client 127\.0\.0\.3:\d+\] PG0006: (\d+) more hits/g;

# Suppressed from the log, never from the counts.
my $j = $srv->status('json')->{json};
is($j->{hits}{connect}, $n + 2, 'every hit is counted');
my ($c) = grep { $_->{address} eq '127.0.0.3' } @{ $j->{clients} };
is($c->{total}, $n + 1, 'the client has all its hits');
is($logged + $suppressed, $n + 1, "logged ($logged) + reported as suppressed ($suppressed) = sent (@{[ $n + 1 ]})");

$srv->stop;
done_testing;
