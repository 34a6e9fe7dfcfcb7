#!/usr/bin/perl
# IPv6 rotation: one /64 (what one customer gets) has addresses enough to
# outlast bans made one address at a time, and to fill the ban list.
# ProxyGuardBanNet6 N: when N addresses of one /64 are banned, the /64 is
# banned instead (one row, their rows freed).  Here, against a ban list of
# 16 rows (ProxyGuardTableSize 16), with ProxyGuardBanNet6 5 and one hit
# making a ban: four address bans, the fifth makes a network ban (PG0016),
# any address of the /64 is then refused, 60 more of them take no row, a
# second /64 is banned the same way, IPv4 offenders still find rows; the
# status page (HTML, ?json, ?auto, ?prometheus) shows the network bans; the
# unban form lifts one by its text "2001:db8:1:2::/64"; the fail2ban filter
# bans no address for a PG0016 line; a bad ProxyGuardBanNet6 stops
# apache2 -t naming the directive and the value; and two servers sharing a
# memcached, then a redis-server, share the network ban and its lift.
#
# IPv6 clients on loopback: mod_remoteip takes them from X-Forwarded-For
# sent by 127.0.0.1, the trusted proxy (loopback has no other IPv6
# address than ::1).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(make_path);
use Test::More;
use Time::HiRes ();
use PGDaemon;
use PGTest;

my $srv = PGTest->new(name => 'net6', conf => sub {
    "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "LoadModule remoteip_module $PGTest::MODULES/mod_remoteip.so\n"
    . "RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy 127.0.0.1\n"
    . "ProxyGuardTableSize 16\nProxyGuardBan 1 60 600\nProxyGuardBanNet6 5\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

sub from6 {
    my ($raw, $ip) = @_;
    $raw =~ s/\r\n\r\n$/\r\nX-Forwarded-For: $ip\r\n\r\n/;
    return $srv->request($raw);
}
my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
sub offend { from6($connect, $_[0])->{status} }
sub page { from6($page, $_[0]) }

# Four addresses of 2001:db8:1:2::/64: four address bans.
is(offend("2001:db8:1:2::$_"), 405, "2001:db8:1:2::$_: CONNECT 405, banned") for 1 .. 4;
is(page('2001:db8:1:2::3')->{status}, 403, '2001:db8:1:2::3 is banned');
is(page('2001:db8:1:2::99')->{status}, 200, 'with 4 of its addresses banned, another passes');
my $j = $srv->json;
is($j->{bans_active}, 4, '?json: 4 bans');
is($j->{network_bans_active}, 0, '?json: none a network');
is_deeply([ sort map { "$_->{address}/$_->{prefix}" } @{ $j->{bans} } ],
          [ map { "2001:db8:1:2::$_/128" } 1 .. 4 ], '?json: the four addresses, prefix 128');

# The fifth: one network ban replaces the five.
my $mark = $srv->log_mark('logs/error_log');
is(offend('2001:db8:1:2::5'), 405, '2001:db8:1:2::5: CONNECT 405');
my $log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[client 2001:db8:1:2::5:\d+\] PG0016: network ban start: 2001:db8:1:2::\/64 \(ProxyGuardBanNet6 5\), banned for 600 s/,
     'PG0016 names the /64');
unlike($log, qr/PG0010/, 'no PG0010 line for the address whose ban became the network ban');
$j = $srv->json;
is($j->{bans_active}, 1, '?json: one ban left: the network');
is($j->{network_bans_active}, 1, '?json: network_bans_active 1');
is($j->{network_bans_started}, 1, '?json: network_bans_started 1');
my ($nb) = @{ $j->{bans} };
is_deeply([ $nb->{address}, $nb->{network}, $nb->{prefix} ], [ '2001:db8:1:2::', JSON::PP::true(), 64 ],
          '?json: address 2001:db8:1:2::, network true, prefix 64');
ok($nb->{remaining} > 590 && $nb->{remaining} <= 600, "?json: it lasts the ban duration ($nb->{remaining} s left)");

# Any address of the /64 is refused, and takes no row.
my $res = page('2001:db8:1:2:dead:beef:0:1');
is($res->{status}, 403, 'a fresh address of the banned /64: 403');
is(page('2001:db8:1:3::1')->{status}, 200, 'an address of the next /64 passes');
my @st = map { page(sprintf '2001:db8:1:2:%x::1', $_)->{status} } 1 .. 60;
is(scalar(grep { $_ == 403 } @st), 60, '60 more addresses of the /64 rotated: all 403');
@st = map { offend(sprintf '2001:db8:1:2:%x::2', $_) } 1 .. 10;
is(scalar(grep { $_ == 403 } @st), 10, '... their CONNECTs too (banned before the decision)');
$j = $srv->json;
is($j->{bans_active}, 1, '?json: still one ban');
is($j->{bans_refused}, 0, '?json: none refused');
is($j->{bans}[0]{blocked}, 71, '?json: the network ban blocked all 71 requests');

# A second /64; then IPv4 offenders still find rows: 6, as many as always
# fit (an address may use two buckets of 8 rows, which may be one: the two
# network rows and 6 addresses fill 8 rows at worst).
offend("2001:db8:1:3::$_") for 1 .. 5;
is(page('2001:db8:1:3:aaaa::1')->{status}, 403, 'a second /64 banned the same way');
@st = map { offend("198.51.100.$_") } 1 .. 6;
is("@st", join(' ', ('405') x 6), '6 IPv4 offenders');
is(scalar(grep { $_ == 403 } map { page("198.51.100.$_")->{status} } 1 .. 6), 6, '... all banned: the list kept room');
$j = $srv->json;
is($j->{bans_refused}, 0, '?json: no ban refused');
is($j->{bans_active}, 8, '?json: 8 bans (6 addresses, 2 networks) of 16 rows');
is($j->{network_bans_active}, 2, '?json: 2 networks');

# The other formats.
my $html = $srv->status('')->{body};
like($html, qr{<tr><td>2001:db8:1:2::/64</td><td>network</td>}, 'HTML: the /64 in the ban list, kind network');
like($html, qr{<tr><td>198\.51\.100\.6</td><td>address</td>}, 'HTML: an address ban, kind address');
like($html, qr/8 active of 16 rows \(2 of them IPv6 \/64 networks\)/, 'HTML: the count of network bans');
my $auto = $srv->auto;
is($auto->{ProxyGuardNetworkBansActive}, 2, '?auto: ProxyGuardNetworkBansActive 2');
is($auto->{ProxyGuardNetworkBansStarted}, 2, '?auto: ProxyGuardNetworkBansStarted 2');
my $prom = $srv->status('prometheus')->{body};
like($prom, qr/^proxyguard_network_bans_active 2$/m, 'Prometheus: proxyguard_network_bans_active 2');
like($prom, qr/^proxyguard_network_bans_started_total 2$/m, 'Prometheus: proxyguard_network_bans_started_total 2');
like($prom, qr/^proxyguard_bans_active 8$/m, 'Prometheus: proxyguard_bans_active 8');

# Lifting by the network's text.
my $body = 'unban=2001%3Adb8%3A1%3A2%3A%3A%2F64';
$res = $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: www.example.com\r\n"
                     . "Content-Type: application/x-www-form-urlencoded\r\n"
                     . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
like($res->{body}, qr{^ban on 2001:db8:1:2::/64 lifted$}m, 'unban=2001:db8:1:2::/64: lifted, and it was listed');
is(page('2001:db8:1:2:dead:beef:0:1')->{status}, 200, '... its addresses are served again');
is(page('2001:db8:1:3:aaaa::1')->{status}, 403, '... the other /64 is still banned');
like($srv->slurp('logs/error_log'), qr{PG0011: ban on 2001:db8:1:2::/64 lifted by an operator}, 'PG0011 names the /64');
$body = 'unban=2001%3Adb8%3A%3A%2F48';
$res = $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: www.example.com\r\n"
                     . "Content-Type: application/x-www-form-urlencoded\r\n"
                     . 'Content-Length: ' . length($body) . "\r\n\r\n$body");
is($res->{status}, 400, 'unban=2001:db8::/48: 400 (only a /64 is a network ban)');
$srv->stop;

# fail2ban: the filter reads PG0001 and PG0010 lines; a PG0016 line must
# not make it ban an address (neither the /64's text nor the client's).
SKIP: {
    if (!`command -v fail2ban-regex 2>/dev/null`) {
        fail('fail2ban-regex is installed') if $ENV{PG_REQUIRE_TOOLS};
        skip 'fail2ban-regex not installed', 2;
    }
    my $cfg = "$srv->{dir}/fail2ban";
    make_path("$cfg/filter.d");
    system('cp', '-r', '/etc/fail2ban/.', $cfg) == 0 or die "copy /etc/fail2ban";
    copy("$PGTest::TOP/conf/fail2ban/filter.d/apache-proxyguard.conf", "$cfg/filter.d/") or die $!;
    my @lines = grep { /PG0016/ } split /\n/, $srv->slurp('logs/error_log');
    is(scalar @lines, 2, 'two PG0016 lines in the error_log');
    my $file = $srv->write_file('logs/pg0016_only', join("\n", @lines) . "\n");
    my @ips = grep { /^[\d.:a-f]+$/ } split /\n/, `fail2ban-regex -c '$cfg' -o ip '$file' apache-proxyguard 2>&1`;
    is_deeply(\@ips, [], 'fail2ban-regex: no address taken from a PG0016 line');
}

# Two servers sharing a real memcached, then a real redis-server: a /64
# banned through A holds on B, which saw no hit of it, for an address of it
# neither has seen (B's agent asks about the client's /64 as well as its
# address), within the bound t/16_ban_cache.t asserts for addresses: 1 s.
# Lifting the /64 on B lifts it on A.
for my $kind (PGDaemon::kinds()) {
    my $d = PGDaemon->new($kind);
    if (!$d->installed) {
        fail($d->bin . ' is installed') if $ENV{PG_REQUIRE_TOOLS};
        next;
    }
    $d->start;
    my @s = map {
        PGTest->new(name => "net6-$kind-$_", conf => sub {
            "LoadModule remoteip_module $PGTest::MODULES/mod_remoteip.so\n"
            . "RemoteIPHeader X-Forwarded-For\nRemoteIPTrustedProxy 127.0.0.1\n"
            . "ProxyGuardBan 1 60 600\nProxyGuardBanNet6 4\n" . $d->config
            . $_[0]->status_location . $_[0]->standard_vhosts;
        })->start
    } 1 .. 2;
    my $via = sub {
        my ($srv, $raw, $ip) = @_;
        $raw =~ s/\r\n\r\n$/\r\nX-Forwarded-For: $ip\r\n\r\n/;
        return $srv->request($raw)->{status};
    };
    $via->($s[0], $connect, "2001:db8:7:7::$_") for 1 .. 4;
    is($via->($s[0], $page, '2001:db8:7:7:1::1'), 403, "$kind: the /64 banned through A: refused on A");
    Time::HiRes::sleep(0.3);    # A's agent tells the store
    my ($t0, $took) = (Time::HiRes::time(), undef);
    while (Time::HiRes::time() - $t0 <= 3) {
        if ($via->($s[1], $page, '2001:db8:7:7:2::1') == 403) { $took = Time::HiRes::time() - $t0; last }
        Time::HiRes::sleep(0.1);
    }
    ok(defined $took && $took <= 1,
       sprintf("$kind: ... and on B, for an address neither has seen, within 1 s: %s s",
               defined $took ? sprintf('%.1f', $took) : 'never'));
    my ($ban) = grep { $_->{network} } @{ $s[1]->json->{bans} || [] };
    is($ban && "$ban->{address}/$ban->{prefix} $ban->{origin}", '2001:db8:7:7::/64 shared',
       "$kind: B lists the network ban, from the shared store");
    is($via->($s[1], $page, '2001:db8:7:8::1'), 200, "$kind: B serves the next /64");
    my $body = 'unban=2001%3Adb8%3A7%3A7%3A%3A%2F64';
    # by the connection's own address: the form refuses a Host it does not serve
    is($s[1]->request("POST /proxyguard-status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                      . 'Content-Length: ' . length($body) . "\r\n\r\n$body")->{status}, 200,
       "$kind: unban of the /64 on B: 200");
    is($via->($s[1], $page, '2001:db8:7:7:2::1'), 200, "$kind: lifted on B: at once on B");
    ($t0, $took) = (Time::HiRes::time(), undef);
    while (Time::HiRes::time() - $t0 <= 9) {
        if ($via->($s[0], $page, '2001:db8:7:7:1::1') == 200) { $took = Time::HiRes::time() - $t0; last }
        Time::HiRes::sleep(0.1);
    }
    ok(defined $took && $took <= 6 + 1,
       sprintf("$kind: ... and on A within 6 s + 1: %s s", defined $took ? sprintf('%.1f', $took) : 'never'));
    $_->stop for @s;
    $d->stop;
}

# A bad value stops apache2 -t, naming the directive and the value.
for my $bad (qw(1 65 x)) {
    my $t = PGTest->new(name => 'net6-bad', conf => sub {
        "ProxyGuardBan 1 60 600\nProxyGuardBanNet6 $bad\n" . $_[0]->standard_vhosts;
    });
    my ($rc, $out) = $t->configtest;
    isnt($rc, 0, "ProxyGuardBanNet6 $bad: apache2 -t fails");
    like($out, qr/ProxyGuardBanNet6: '\Q$bad\E' is not a number from 2 to 64/, '... naming the directive and the value');
}

done_testing;
