#!/usr/bin/perl
# ProxyGuardBan on the local shared object cache (shmcb): a ban starts at
# exactly the threshold, blocks every request on every vhost (and every
# child process), is logged once, expires, can be lifted by POST; exempt
# addresses and weak signals never ban; behind a trusted balancer the
# forwarded client is banned, never the balancer.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

my $srv = PGTest->new(name => 'bans', conf => sub {
    "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "LoadModule remoteip_module $PGTest::MODULES/mod_remoteip.so\n"
    . "RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy 127.0.0.1\n"
    . "ProxyGuardBan 5 60 4\n"
    . "ProxyGuardBanExempt 127.0.0.9 127.0.8.0/24\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
sub status_of { $srv->request(@_)->{status} }

# Four hits: not banned yet.
my @st = map { status_of($connect, from => '127.0.0.3') } 1 .. 4;
is("@st", '405 405 405 405', 'hits 1-4: answered by their reason (405)');
is(status_of($page, from => '127.0.0.3'), 200, 'after 4 hits (threshold 5): not banned');
my $mark = $srv->log_mark('logs/error_log');
is(status_of($connect, from => '127.0.0.3'), 405, 'hit 5 reaches the threshold, still answered 405');
my $ban_started = time;
is(status_of($page, from => '127.0.0.3'), 403, 'then every request is 403 ...');
is(status_of("GET / HTTP/1.1\r\nHost: default.test\r\n\r\n", from => '127.0.0.3'), 403, '... on every vhost');
my @many = map { status_of($page, from => '127.0.0.3') } 1 .. 12;
is(scalar(grep { $_ == 403 } @many), 12, '... whichever child process answers (12 more: all 403)');
my $log = $srv->log_since('logs/error_log', $mark);
my @starts = $log =~ /(\[client 127\.0\.0\.3:\d+\] PG0010: ban start: 5 hits in 60 s, banned for 4 s)/g;
is(scalar @starts, 1, 'the ban start is logged once, with the client');
unlike($log, qr/PG0001: .*reason=banned/, 'banned requests are not logged one by one');
like($srv->slurp('logs/access_log'), qr/^127\.0\.0\.3 "GET \/ HTTP\/1\.1" 403 pg=banned\/deny/m,
     'banned requests carry PROXYGUARD=banned');

my $j = $srv->status('json')->{json};
my ($ban) = grep { $_->{address} eq '127.0.0.3' } @{ $j->{bans} };
ok($ban, 'status: the ban is listed');
ok($ban && $ban->{remaining} <= 4 && $ban->{remaining} >= 0, 'status: with its remaining time');
is($ban && $ban->{blocked}, 14, 'status: 14 requests blocked');
is($ban && $ban->{origin}, 'here', 'status: started here');
is($j->{hits}{banned}, 14, 'status: hits.banned counts them');
is($j->{bans_started}, 1, 'status: bans_started 1');
like($srv->status('prometheus')->{body}, qr/^proxyguard_bans_active 1$/m, 'prometheus: proxyguard_bans_active 1');
like($srv->status('auto')->{body}, qr/^ProxyGuardBansActive: 1$/m, '?auto: ProxyGuardBansActive 1');
like($srv->status('')->{body}, qr/<table id="bans">.*<td>127\.0\.0\.3<\/td>/s, 'HTML: the ban in the bans table');

# Weak signals and exempt addresses never ban.
@st = map { status_of("GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n", from => '127.0.0.5') } 1 .. 8;
push @st, map { status_of("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: x\r\n\r\n", from => '127.0.0.5') } 1 .. 8;
is("@st", join(' ', (200) x 16), '16 unknown-host / proxy-header hits (detect): all served');
is(status_of($page, from => '127.0.0.5'), 200, '... and no ban followed');
@st = map { status_of($connect, from => '127.0.0.9') } 1 .. 8;
is("@st", join(' ', (405) x 8), 'ProxyGuardBanExempt 127.0.0.9: 8 CONNECTs, each answered 405 (rejected, not banned)');
is(status_of($page, from => '127.0.0.9'), 200, 'ProxyGuardBanExempt 127.0.0.9: never banned');
@st = map { status_of($connect, from => '127.0.8.77') } 1 .. 8;
is("@st", join(' ', (405) x 8), 'ProxyGuardBanExempt 127.0.8.0/24: 8 CONNECTs, each answered 405');
is(status_of($page, from => '127.0.8.77'), 200, 'ProxyGuardBanExempt 127.0.8.0/24: never banned');
$j = $srv->status('json')->{json};
my %client = map { $_->{address} => $_ } @{ $j->{clients} };
is($client{'127.0.0.9'} && $client{'127.0.0.9'}{hits}{connect}, 8, 'exempt hits are still counted (127.0.0.9: 8)');
is($j->{bans_started}, 1, 'no ban started for the weak signals or the exempt addresses');

# Behind the trusted balancer (127.0.0.1): the forwarded address is banned.
status_of("CONNECT 59.124.98.13:25 HTTP/1.0\r\nX-Forwarded-For: 203.0.113.50\r\n\r\n") for 1 .. 5;
is(status_of("GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Forwarded-For: 203.0.113.50\r\n\r\n"), 403,
   'trusted balancer: the forwarded attacker is banned');
is(status_of("GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Forwarded-For: 203.0.113.51\r\n\r\n"), 200,
   'trusted balancer: another client through it is not');
is(status_of($page), 200, 'the balancer itself is never banned');
is(status_of("GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Forwarded-For: 203.0.113.50\r\n\r\n", from => '127.0.0.2'), 200,
   'untrusted peer forging the banned address: not affected');

# Lifting a ban without a restart.
status_of($connect, from => '127.0.0.6') for 1 .. 5;
is(status_of($page, from => '127.0.0.6'), 403, '127.0.0.6 banned');
my $body = "unban=127.0.0.6";
my $res = $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: default.test\r\n"
                        . "Content-Type: application/x-www-form-urlencoded\r\n"
                        . "Content-Length: " . length($body) . "\r\n\r\n$body");
is($res->{status}, 200, 'POST unban=127.0.0.6: 200');
like($res->{body}, qr/^ban on 127\.0\.0\.6 lifted$/m, '... says so');
is(status_of($page, from => '127.0.0.6'), 200, 'the lifted address is served again');
like($srv->slurp('logs/error_log'), qr/PG0011: ban on 127\.0\.0\.6 lifted by an operator/, 'the lift is logged');
$res = $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: default.test\r\n"
                     . "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 15\r\n\r\nunban=not-an-ip");
is($res->{status}, 400, 'POST unban=not-an-ip: 400');

# A ban outlives graceful and full restarts (the local store is refilled
# from the table's ban list).
status_of($connect, from => '127.0.0.12') for 1 .. 5;
is(status_of($page, from => '127.0.0.12'), 403, '127.0.0.12 banned');
$srv->restart('USR1');
is(status_of($page, from => '127.0.0.12'), 403, '... still banned after a graceful restart');
$srv->restart('HUP');
is(status_of($page, from => '127.0.0.12'), 403, '... and after a full restart');

# Expiry (duration 4 s).
sleep 0.2 while time - $ban_started < 4.5;
is(status_of($page, from => '127.0.0.3'), 200, 'after its duration the ban has expired');
$j = $srv->status('json')->{json};
ok(!grep({ $_->{address} eq '127.0.0.3' } @{ $j->{bans} }), 'an expired ban is no longer listed');

$srv->stop;
done_testing;
