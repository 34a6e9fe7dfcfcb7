#!/usr/bin/perl
# DNS rebinding against the unban form (issue 18, 2): a page of
# rebind.attacker.example whose name has been pointed at this server posts
# with Host and Origin both its own name and Sec-Fetch-Site: same-origin,
# which the Origin check alone lets through.  A state change also needs a
# Host that names the vhost (ServerName, ServerAlias) or the connection's
# own address; refused otherwise (PG0014, 403), the ban still there.  The
# legitimate forms: by name, by alias, by 127.0.0.1:PORT, by [::1]:PORT.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::IP;
use Test::More;
use PGTest;
use PGHttp;

my $port6 = PGTest::free_port();
my $srv = PGTest->new(name => 'unban-host', conf => sub {
    "Listen [::1]:$port6\n"
    . "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "ProxyGuardBan 1 60 600\n" . $_[0]->standard_vhosts . PGTest::status_location()
    . "<VirtualHost *:$port6>\n    ServerName v6.test\n</VirtualHost>\n";
});
$srv->start;
my $port = $srv->port;
my $victim = '127.0.0.41';

sub ban { $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => $victim) }
sub banned {
    return scalar grep { $_->{address} eq $victim } @{ $srv->json->{bans} || [] };
}
sub form { my $f = "unban=$victim"; "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                                    . length($f) . "\r\n\r\n$f" }

# POST with these header lines (Host included, or not) over IPv4.
sub post {
    my ($headers) = @_;
    return $srv->request("POST /proxyguard-status HTTP/1.1\r\n$headers" . form());
}

# The same over IPv6, to [::1]:$port6.
sub post6 {
    my ($headers) = @_;
    my $s = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $port6, Proto => 'tcp') or die "::1: $!";
    print $s "POST /proxyguard-status HTTP/1.1\r\n$headers" . form();
    shutdown($s, 1);
    local $/;
    my $data = <$s>;
    close $s;
    return PGHttp::parse_response($data);
}

ban();
ok(banned(), "$victim is banned");

# --- refused: the rebinding-shaped POST and its relatives -----------------
my $evil = "rebind.attacker.example:$port";
my $mark = $srv->log_mark('logs/error_log');
my $res = post("Host: $evil\r\nOrigin: http://$evil\r\nSec-Fetch-Site: same-origin\r\n");
is($res->{status}, 403, 'rebinding: Host and Origin both the attacker\'s name, same-origin: 403');
ok(banned(), '... the ban is still there');
like($srv->log_since('logs/error_log', $mark),
     qr/PG0014: unban refused: its Host names neither this vhost nor this server's address/,
     '... refused with PG0014, saying why');
unlike($res->{body}, qr/lifted/, '... and nothing said lifted');
is(post("Host: $evil\r\n")->{status}, 403, 'the attacker\'s Host without Origin (a script through the name): 403');
is(post("Host: 127.0.0.2:$port\r\n")->{status}, 403, 'Host: another address than the connection\'s: 403');
is(post("Host: [::1]:$port\r\n")->{status}, 403, 'Host: [::1] over an IPv4 connection: 403');
is(post("Host: www.example.com.evil.test\r\n")->{status}, 403, 'Host: our name as a prefix of another: 403');
is(post("Host: \r\n")->{status}, 400, 'an empty Host: httpd\'s own 400');
is($srv->request("POST /proxyguard-status HTTP/1.0\r\n" . form())->{status}, 403,
   'no Host at all (HTTP/1.0): 403');
ok(banned(), 'after all of them the ban is still there');
is($srv->json->{hits}{'unknown-host'}, 0, 'the refused POSTs were for the status handler: not counted');

# --- the legitimate forms -------------------------------------------------
my @ok = (
    [ 'by name, with its Origin',       "Host: www.example.com:$port\r\nOrigin: http://www.example.com:$port\r\nSec-Fetch-Site: same-origin\r\n" ],
    [ 'by an alias',                    "Host: example.com\r\n" ],
    [ 'by a wildcard alias',            "Host: a.example.org\r\n" ],
    [ 'by the default vhost\'s name',   "Host: default.test\r\n" ],
    [ 'by 127.0.0.1:PORT, with Origin', "Host: 127.0.0.1:$port\r\nOrigin: http://127.0.0.1:$port\r\nSec-Fetch-Site: same-origin\r\n" ],
    [ 'by 127.0.0.1 without a port',    "Host: 127.0.0.1\r\n" ],
);
for my $case (@ok) {
    my ($what, $headers) = @$case;
    ban();
    ok(banned(), "$what: banned again");
    $res = post($headers);
    is($res->{status}, 200, "$what: 200");
    like($res->{body}, qr/^ban on \Q$victim\E lifted/m, "$what: lifted");
    ok(!banned(), "$what: no ban listed");
}
ban();
$res = post6("Host: [::1]:$port6\r\nOrigin: http://[::1]:$port6\r\nSec-Fetch-Site: same-origin\r\n");
is($res->{status}, 200, 'by [::1]:PORT over IPv6, with Origin: 200');
ok(!banned(), '... lifted');
ban();
is(post6("Host: 127.0.0.1:$port6\r\n")->{status}, 403, 'Host: 127.0.0.1 over an IPv6 connection: 403');
ok(banned(), '... the ban is still there');
is(post6("Host: v6.test\r\n")->{status}, 200, 'the IPv6 vhost by its name: 200');
ok(!banned(), '... lifted');

$srv->stop;
done_testing;
