#!/usr/bin/perl
# A dual-stack listener: an IPv6 socket that takes IPv4 clients sees them
# as IPv4-mapped addresses (::ffff:a.b.c.d).  The module must count, ban,
# exempt and lift them as the IPv4 addresses they are, the same client
# whichever socket it came in on.
#
# Loopback only: the dual-stack socket listens on [::ffff:127.0.0.1], an
# IPv6 socket bound to the IPv4 loopback (Debian's httpd is built with
# IPv4-mapped addresses enabled, so it leaves IPV6_V6ONLY off); [::]:port
# would listen on every interface.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGHttp;
use PGTest;

my $port6 = PGTest::free_port();
my $srv = PGTest->new(name => 'dualstack', conf => sub {
    "Listen [::ffff:127.0.0.1]:$port6\n"
    . "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "ProxyGuardBan 2 60 600\nProxyGuardBanExempt 127.0.0.1 127.0.0.72\n"
    . "ProxyGuardProxyClients 127.0.0.73\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;
my $port4 = $srv->port;

# The socket really is IPv6: /proc/net/tcp6 lists it listening (state 0A)
# on ::ffff:127.0.0.1 (0000000000000000FFFF00000100007F).
my $tcp6 = $srv->slurp_abs('/proc/net/tcp6');
like($tcp6, qr/^\s*\d+: 0000000000000000FFFF00000100007F:@{[ sprintf '%04X', $port6 ]} \S+ 0A /m,
     "port $port6 is an IPv6 socket on ::ffff:127.0.0.1");

my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
sub via6 { PGHttp::raw_request($port6, $_[0], $_[1]) }

is(via6($connect, '127.0.0.71')->{status}, 405, '127.0.0.71 over the IPv6 socket: CONNECT 405');
my $j = $srv->json;
is_deeply([ map { $_->{address} } @{ $j->{clients} } ], [ '127.0.0.71' ],
          '?json: the client is 127.0.0.71, not ::ffff:127.0.0.71');
is_deeply([ map { $_->{network} } @{ $j->{networks} } ], [ '127.0.0.0/24' ], '?json: its network is 127.0.0.0/24');
is($j->{recent}[0]{client}, '127.0.0.71', '?json: the recent hit names 127.0.0.71');

# The same client over plain IPv4: one client, its second hit starts the ban.
is($srv->request($connect, from => '127.0.0.71')->{status}, 405, '127.0.0.71 over IPv4: CONNECT 405');
$j = $srv->json;
is(scalar @{ $j->{clients} }, 1, '?json: still one client');
is($j->{clients}[0]{total}, 2, '?json: with both hits');
is_deeply([ map { $_->{address} } @{ $j->{bans} } ], [ '127.0.0.71' ], '?json: the two hits banned 127.0.0.71');
is($srv->request($page, from => '127.0.0.71')->{status}, 403, 'banned over IPv4');
is(via6($page, '127.0.0.71')->{status}, 403, 'banned over the IPv6 socket');
like($srv->slurp('logs/error_log'), qr/\[client 127\.0\.0\.71:\d+\] PG0010: ban start: 2 hits/, 'PG0010 names 127.0.0.71');

# Lifting the IPv4 address lifts it on both sockets.
my $body = 'unban=127.0.0.71';
my $res = $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: www.example.com\r\n"
                        . "Content-Type: application/x-www-form-urlencoded\r\n"
                        . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
like($res->{body}, qr/^ban on 127\.0\.0\.71 lifted$/m, 'unban=127.0.0.71: lifted, and it was listed');
is(via6($page, '127.0.0.71')->{status}, 200, '... served again over the IPv6 socket');

# The other address lists (apr_ipsubnet_test) read mapped clients too.
my @st = map { via6($connect, '127.0.0.72')->{status} } 1 .. 3;
is("@st", '405 405 405', 'ProxyGuardBanExempt 127.0.0.72 over the IPv6 socket: 3 CONNECTs rejected');
is(via6($page, '127.0.0.72')->{status}, 200, '... and never banned');
my $mark = $srv->log_mark('logs/error_log');
via6("CONNECT www.example.net:443 HTTP/1.1\r\nHost: www.example.net:443\r\n\r\n", '127.0.0.73');
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/,
       'ProxyGuardProxyClients 127.0.0.73 over the IPv6 socket: CONNECT to 443 allowed');
is(via6("CONNECT mx.example.net:25 HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n", '127.0.0.73')->{status}, 403,
   '... CONNECT to 25: connect-port');
$j = $srv->json;
is_deeply([ sort map { $_->{address} } @{ $j->{clients} } ], [ qw(127.0.0.71 127.0.0.72 127.0.0.73) ],
          '?json: every client under its IPv4 address');
unlike($srv->status('')->{body}, qr/::ffff:/i, 'HTML: no IPv4-mapped address anywhere on the page');

$srv->stop;
done_testing;
