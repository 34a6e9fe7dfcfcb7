#!/usr/bin/perl
# What starts a ban (ProxyGuardBan): every rejection, not only CONNECT:
# absolute-uri, unknown-host under Deny, a proxy client's connect-port and
# proxy-port; DetectOnly's would-be rejections count too (the ban is then
# reported, not enforced, in the DetectOnly vhost, and enforced in the
# others); unknown-host under Detect never bans.  And a ban store that
# refuses every connection: requests pass (fail open), and PG0012 says so
# once a minute, not once per failure.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

# port 0: the standard vhosts (On, unknown-host Detect); port 1: deny.test
# (ProxyGuardUnknownHost Deny); port 2: detect.test (ProxyGuard DetectOnly)
my $srv = PGTest->new(name => 'banreasons', ports => 3, conf => sub {
    my ($s) = @_;
    my ($deny, $detect) = ($s->port(1), $s->port(2));
    my $root = $s->docroot('detect');
    return "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
         . "ProxyGuardBan 2 60 600\nProxyGuardBanExempt 127.0.0.1\n"
         . "ProxyGuardProxyClients 127.0.0.60 127.0.0.61\n"
         . $s->status_location
         # first on their ports, so their default vhosts
         . "<VirtualHost *:$deny>\n    ServerName deny.test\n    ProxyGuardUnknownHost Deny\n</VirtualHost>\n"
         . "<VirtualHost *:$detect>\n    ServerName detect.test\n    DocumentRoot \"$root\"\n"
         . "    ProxyGuard DetectOnly\n</VirtualHost>\n"
         . $s->standard_vhosts;
});
$srv->start;

my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
sub statuses {
    my ($raw, $n, %opt) = @_;
    return join ' ', map { $srv->request($raw, %opt)->{status} } 1 .. $n;
}

# Two hits of one reason from one address, then a page request: banned?
my @cases = (
    [ 'absolute-uri', '127.0.0.51', "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", 0, 403 ],
    [ 'unknown-host under Deny', '127.0.0.52', "GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n", 1, 403 ],
    [ 'connect-port', '127.0.0.60', "CONNECT mx.example.net:25 HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n", 0, 403 ],
    [ 'proxy-port', '127.0.0.61', "GET http://mx.example.net:25/ HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n", 0, 403 ],
);
for my $case (@cases) {
    my ($what, $addr, $raw, $port, $status) = @$case;
    my $mark = $srv->log_mark('logs/error_log');
    is(statuses($raw, 2, from => $addr, port => $port), "$status $status", "$what from $addr: 2 hits, answered $status");
    is($srv->request($page, from => $addr)->{status}, 403, "$what: then banned (ProxyGuardBan 2)");
    like($srv->log_since('logs/error_log', $mark), qr/\[client \Q$addr\E:\d+\] PG0010: ban start: 2 hits in 60 s, banned for 600 s/,
         "$what: the ban start is logged");
}

# Counted-only hits never ban.
is(statuses("GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n", 4, from => '127.0.0.53'), '200 200 200 200',
   'unknown-host under Detect: 4 hits, all served');
is($srv->request($page, from => '127.0.0.53')->{status}, 200, '... and no ban');

# DetectOnly: the would-be rejections count towards a ban; the ban is only
# reported in the DetectOnly vhost, enforced everywhere else.
my $mark = $srv->log_mark('logs/error_log');
is(statuses("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", 2, from => '127.0.0.54', port => 2), '405 405',
   'DetectOnly: 2 CONNECTs (httpd\'s own 405)');
my $log = $srv->log_since('logs/error_log', $mark);
is(scalar(() = $log =~ /PG0001: action=detect reason=connect vhost=detect\.test/g), 2, 'DetectOnly: both logged as detect');
like($log, qr/\[client 127\.0\.0\.54:\d+\] PG0010: ban start: 2 hits in 60 s/, 'DetectOnly: they started a ban');
my $res = $srv->request("GET / HTTP/1.1\r\nHost: detect.test\r\n\r\n", from => '127.0.0.54', port => 2);
ok($res->{status} == 200 && $res->{body} eq "site:detect\n", 'DetectOnly vhost: the banned address is still served');
is($srv->request($page, from => '127.0.0.54')->{status}, 403, 'an On vhost: the same address is refused');
is(statuses("GET / HTTP/1.1\r\nHost: detect.test\r\n\r\n", 2, from => '127.0.0.54', port => 2), '200 200',
   'DetectOnly vhost: and again');

my $j = $srv->json;
my %ban = map { $_->{address} => $_ } @{ $j->{bans} };
is_deeply([ sort keys %ban ], [ qw(127.0.0.51 127.0.0.52 127.0.0.54 127.0.0.60 127.0.0.61) ],
          '?json: the five bans, none for unknown-host under Detect');
is($j->{bans_started}, 5, '?json: bans_started 5');
is(scalar(grep { $_->{hits} == 2 } values %ban), 5, '?json: each started by its 2 hits');
my ($detect_vhost) = grep { $_->{vhost} eq 'detect.test' } @{ $j->{vhosts} };
is_deeply($detect_vhost->{hits}{banned}, { deny => 0, detect => 3 },
          '?json: the DetectOnly vhost counts the banned address\'s requests as detect');
my ($www) = grep { $_->{vhost} eq 'www.example.com' } @{ $j->{vhosts} };
is($www->{hits}{banned}{deny}, 5, '?json: the On vhost refused one request of each banned address');
$srv->stop;
like($srv->slurp('logs/access_log'), qr{^127\.0\.0\.54 "GET / HTTP/1\.1" 200 pg=banned/detect}m,
     'access log: the DetectOnly vhost\'s request carries PROXYGUARD=banned, action detect');

# --- a ban store that refuses every connection ------------------------------
# memcache on a loopback port nothing listens on: refused at once.  For
# 13 s new addresses keep asking for the store's answer (the agent asks
# again after its back-off), and requests must all pass; PG0012 is written
# once, not at each failure.
my $dead_port = PGTest::free_port();
my $down = PGTest->new(name => 'bancache-refused', conf => sub {
    "LoadModule socache_memcache_module $PGTest::MODULES/mod_socache_memcache.so\n"
    . "ProxyGuardBan 2 60 600\nProxyGuardBanCache memcache:127.0.0.1:$dead_port\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
$down->start;
my ($sent, @bad) = (0);
my $end = time + 13;
my $i = 0;
while (time < $end) {
    my $addr = '127.0.5.' . (1 + $i++ % 200);
    my $r = $down->request($page, from => $addr);
    $sent++;
    push @bad, "$addr: $r->{status}" unless $r->{status} == 200 && $r->{body} eq "site:www0\n";
    sleep 0.1;
}
is_deeply(\@bad, [], "the store refuses connections: all $sent requests served (fail open)");
is($down->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.5.250')->{status}, 405,
   '... and the decision still works');
my $store = $down->json->{ban_store};
cmp_ok($store->{failures}, '>=', 2,
       "the store failed more than once meanwhile ($store->{failures} failed calls of $store->{calls})");
ok($store->{down_since} > 0, '?json: ban_store down_since set');
like($down->status('prometheus')->{body}, qr/^proxyguard_ban_store_up 0$/m, '?prometheus: proxyguard_ban_store_up 0');
$down->stop;
my @lines = $down->slurp('logs/error_log') =~ /(PG0012: ban cache memcache:127\.0\.0\.1:$dead_port: .*)/g;
is(scalar @lines, 1, 'PG0012 written once in 13 s of failures (at most once a minute)')
    or diag join "\n", @lines;
like($lines[0] // '', qr/failed; failing open/, 'PG0012 says requests pass');

done_testing;
