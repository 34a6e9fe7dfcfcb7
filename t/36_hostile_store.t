#!/usr/bin/perl
# A hostile ban store (a "memcached" written here, t/lib/PGMemcache.pm):
#   - an absurd end time (4000000000, the year 2096) for one address: the
#     ban is believed for at most this server's ban duration (120 s);
#   - a value that never ends (VALUE k 0 300000000, streamed): the agent's
#     memory is bounded (RLIMIT_AS: its address space at the fork + 32 MB,
#     read from /proc/PID/limits), its VmHWM stays under the bound, it ends
#     and the parent says so (PG0012) and starts another;
#   - a value dripped a byte every 0.3 s: the call ends at the agent's 1 s
#     alarm;
# and all along httpd serves every request at once, failing open: a
# client the store has not answered about passes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use PGMemcache;
use PGTest;

my $DURATION = 120;
my $MARGIN = 32 * 1024 * 1024;  # PG_AGENT_MEMORY_MARGIN

my $mc = PGMemcache->new(values => { 'pgban:127.0.0.44' => 4000000000 });
my $srv = PGTest->new(name => 'hostile-store', conf => sub {
    "ProxyGuardBan 3 60 $DURATION\n" . $mc->config . $_[0]->status_location . $_[0]->standard_vhosts;
})->start;
my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";

sub status_file {
    my ($pid) = @_;
    open my $f, '<', "/proc/$pid/status" or return {};
    return { map { /^(\w+):\s+(\d+) kB/ ? ($1, $2) : () } <$f> };
}

# The agent: the child of httpd's parent whose address space is bounded
# (workers' is not).  (pid, bound in bytes), or () within $limit s.
sub agent {
    my ($limit) = @_;
    my $parent = $srv->slurp('run/httpd.pid') + 0;
    my $t0 = time;
    while (time - $t0 < $limit) {
        for my $stat (glob '/proc/[0-9]*/stat') {
            open my $f, '<', $stat or next;
            my $line = <$f>;
            next unless $line && $line =~ /^(\d+) \(.*?\) \S (\d+)/ && $2 == $parent;
            my $pid = $1;
            open my $l, '<', "/proc/$pid/limits" or next;
            my ($as) = map { /^Max address space\s+(\d+)/ ? $1 : () } <$l>;
            return ($pid, $as) if $as;
        }
        sleep 0.05;
    }
    return ();
}

# Requests from $from until the status is $want; seconds taken or undef.
sub until_status {
    my ($from, $want, $limit) = @_;
    my $t0 = time;
    while (time - $t0 <= $limit) {
        return time - $t0 if $srv->request($page, from => $from)->{status} == $want;
        sleep 0.1;
    }
    return undef;
}

# The served request's time, and its status.
sub timed {
    my ($from) = @_;
    my $t0 = time;
    my $st = $srv->request($page, from => $from)->{status};
    return ($st, time - $t0);
}

my $parent = $srv->slurp('run/httpd.pid') + 0;
my ($agent, $bound) = agent(10);
ok($agent, "the ban agent runs (pid @{[ $agent // '?' ]}) with a bounded address space");
my $base = status_file($agent)->{VmSize} * 1024;
my $parent_size = status_file($parent)->{VmSize} * 1024;
ok($bound >= $parent_size + $MARGIN - 8 * 1024 * 1024 && $bound <= $parent_size + $MARGIN + 8 * 1024 * 1024,
   sprintf('RLIMIT_AS %d MB: the parent\'s address space (%d MB) + 32 MB', $bound >> 20, $parent_size >> 20));

# An absurd end time: clamped to now + the ban duration.
ok(defined until_status('127.0.0.44', 403, 5), '127.0.0.44, banned in the store until 2096: refused');
my $j = $srv->json;
my ($ban) = grep { $_->{address} eq '127.0.0.44' } @{ $j->{bans} };
ok($ban, '?json lists the ban');
cmp_ok($ban->{until}, '<=', time + $DURATION + 1, "... ending at most $DURATION s from now, not in 2096");
cmp_ok($ban->{remaining}, '<=', $DURATION, "... remaining $ban->{remaining} s");
is($ban->{origin}, 'shared', '... found in the store');
is($srv->request($page, from => '127.0.0.45')->{status}, 200, 'another client is served');
my $st = status_file($agent);
diag(sprintf 'the agent after normal calls: VmPeak %d kB, VmHWM %d kB; %d kB above its size at the check (%d kB)',
     $st->{VmPeak}, $st->{VmHWM}, $st->{VmPeak} - $base / 1024, $base / 1024);
cmp_ok($st->{VmPeak} * 1024 - $base, '<', 4 * 1024 * 1024, 'normal calls grow the agent by less than 4 MB (the bound leaves 32)');

# A value that never ends.  Not under valgrind: the allocation that fails
# at the bound is one apr-util's bucket code does not check, and the read
# into it that ends the agent is, rightly, a memcheck error.
my ($agent2, $t0, @times) = ($agent);
SKIP: {
skip 'valgrind reports the unchecked allocation failure in apr-util that ends the agent', 9
    if $ENV{PG_VALGRIND};
my $mark = $srv->log_mark('logs/error_log');
$mc->mode('huge');
my ($status, $secs) = timed('127.0.0.46');
is($status, 200, '127.0.0.46 (not yet asked about) passes: fail open');
my ($hwm, $peak) = (0, 0);
$t0 = time;
while (time - $t0 < 10 && -e "/proc/$agent") {
    my $s = status_file($agent);
    $hwm = $s->{VmHWM} if ($s->{VmHWM} // 0) > $hwm;
    $peak = $s->{VmPeak} if ($s->{VmPeak} // 0) > $peak;
    sleep 0.005;
}
ok(!-e "/proc/$agent" || (`cat /proc/$agent/stat 2>/dev/null` =~ /^\d+ \(.*?\) Z/), 'the agent ended');
diag("huge value: the agent's VmHWM reached $hwm kB, VmPeak $peak kB (bound " . ($bound >> 10) . ' kB)');
cmp_ok($peak * 1024, '<=', $bound, '... its address space never passed the bound');
cmp_ok($hwm, '<', 100 * 1024, '... its resident memory stayed under 100 MB (the value is 300 MB)');
ok(grep({ /^huge / } $mc->gets), 'the hostile store was asked (127.0.0.46, or the listed ban of 127.0.0.44 again)');
my $found;
for (1 .. 50) {
    $found = $srv->log_since('logs/error_log', $mark) =~ /PG0012: ban cache memcache:127\.0\.0\.1:\d+: a call \(the ban agent ran out of its memory bound: an answer too large, or it faulted\) failed; failing open/;
    last if $found;
    sleep 0.1;
}
ok($found, 'PG0012: an answer larger than the memory bound; failing open');
($agent2) = agent(5);
ok($agent2 && $agent2 != $agent, "another agent runs (pid @{[ $agent2 // '?' ]})");
@times = map { [ timed("127.0.0.5$_") ] } 0 .. 5;
is(scalar(grep { $_->[0] == 200 } @times), 6, 'httpd serves every request meanwhile');
cmp_ok((sort { $b <=> $a } map { $_->[1] } @times)[0], '<', 0.5, '... each within 0.5 s');

}

# A value dripped: the alarm ends the call (the new agent waits out the
# back-off, 10 s, before it asks).
$mc->mode('drip');
my $fail0 = $srv->json->{ban_store}{failures};
is($srv->request($page, from => '127.0.0.47')->{status}, 200, '127.0.0.47 passes while the store drips');
$t0 = time;
my $asked;
while (time - $t0 < 15 && !($asked = grep { /^drip / } $mc->gets)) {
    sleep 0.05;
}
ok($asked, 'the dripping store was asked (after the back-off)');
my $t_ask = time;
while (time - $t_ask < 5 && -e "/proc/$agent2" && `cat /proc/$agent2/stat 2>/dev/null` !~ /^\d+ \(.*?\) Z/) {
    sleep 0.05;
}
my $held = time - $t_ask;
ok(!-e "/proc/$agent2" || `cat /proc/$agent2/stat 2>/dev/null` =~ /^\d+ \(.*?\) Z/, 'the agent ended');
cmp_ok($held, '<', 2.5, sprintf('... %.1f s after the store started dripping (the alarm: 1 s; 40 bytes would take 12 s)', $held));
my $fail1;
for (1 .. 30) { $fail1 = $srv->json->{ban_store}{failures}; last if $fail1 > $fail0; sleep 0.1 }
cmp_ok($fail1, '>', $fail0, "the status page counts the failure ($fail0 -> $fail1)");
@times = map { [ timed("127.0.0.6$_") ] } 0 .. 5;
is(scalar(grep { $_->[0] == 200 } @times), 6, 'httpd serves every request meanwhile');
cmp_ok((sort { $b <=> $a } map { $_->[1] } @times)[0], '<', 0.5, '... each within 0.5 s');

$srv->stop;
$mc->stop;
done_testing;
