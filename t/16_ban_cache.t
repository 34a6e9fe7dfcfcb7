#!/usr/bin/perl
# Several servers, one ban list: two separate httpd instances share a real
# memcached, then a real redis-server (started here on 127.0.0.1, free
# ports); a ban made through one instance is enforced by the other.  With
# the cache server down, requests still flow (fail open, logged).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

my %daemon = (
    memcache => { bin => 'memcached', module => 'socache_memcache',
                  cmd => sub { ('memcached', '-l', '127.0.0.1', '-p', $_[0], '-U', '0', '-u', 'nobody') } },
    redis    => { bin => 'redis-server', module => 'socache_redis',
                  cmd => sub { ('redis-server', '--bind', '127.0.0.1', '--port', $_[0],
                                '--save', '', '--appendonly', 'no', '--protected-mode', 'yes') } },
);

for my $kind (qw(memcache redis)) {
    my $d = $daemon{$kind};
    if (!`command -v $d->{bin} 2>/dev/null`) {
        fail("$d->{bin} is installed") if $ENV{PG_REQUIRE_TOOLS};
        next;
    }
    my $port = PGTest::free_port();
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec $d->{cmd}->($port) or POSIX::_exit(127);
    }
    my $deadline = time + 10;
    sleep 0.05 until IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) || time > $deadline;

    my @srv = map {
        my $name = "ban-$kind-$_";
        PGTest->new(name => $name, conf => sub {
            "LoadModule $d->{module}_module $PGTest::MODULES/mod_$d->{module}.so\n"
            . "ProxyGuardBan 3 60 60\nProxyGuardBanCache $kind:127.0.0.1:$port\n"
            . $_[0]->status_location . $_[0]->standard_vhosts;
        })->start;
    } 1 .. 2;

    my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
    is($srv[1]->request($page, from => '127.0.0.7')->{status}, 200, "$kind: B serves 127.0.0.7 before");
    $srv[0]->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.7') for 1 .. 3;
    is($srv[0]->request($page, from => '127.0.0.7')->{status}, 403, "$kind: banned through A");
    is($srv[1]->request($page, from => '127.0.0.7')->{status}, 403, "$kind: ... and enforced by B, which saw no hit");
    my $j = $srv[1]->status('json')->{json};
    my ($ban) = grep { $_->{address} eq '127.0.0.7' } @{ $j->{bans} || [] };
    is($ban && $ban->{origin}, 'shared', "$kind: B lists the ban, from the shared cache");
    is($srv[1]->request($page, from => '127.0.0.8')->{status}, 200, "$kind: B still serves others");

    # Lifting on B lifts it for A too.
    my $body = 'unban=127.0.0.7';
    $srv[1]->request("POST /proxyguard-status HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     . "Content-Length: " . length($body) . "\r\n\r\n$body");
    is($srv[0]->request($page, from => '127.0.0.7')->{status}, 200, "$kind: lifted on B, A serves it again");

    # The cache server goes away: fail open.
    kill 'TERM', $pid;
    waitpid($pid, 0);
    my $mark = $srv[0]->log_mark('logs/error_log');
    my @st = map { $srv[0]->request($page, from => '127.0.0.11')->{status} } 1 .. 5;
    is("@st", '200 200 200 200 200', "$kind down: requests still flow");
    is($srv[0]->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.11')->{status}, 405,
       "$kind down: the decision still works");
    like($srv[0]->log_since('logs/error_log', $mark), qr/PG0012: ban cache $kind:127\.0\.0\.1:$port: \w+ failed; failing open/,
         "$kind down: logged");
    $_->stop for @srv;
}

done_testing;
