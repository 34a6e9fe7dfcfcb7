#!/usr/bin/perl
# A real forward proxy (mod_proxy, mod_proxy_http, mod_proxy_connect) done
# safely: proxy clients (127.0.0.1) fetch through it and tunnel to allowed
# ports; everyone else (127.0.0.2) is rejected; a CONNECT to a port that is
# not allowed is refused before mod_proxy_connect opens any connection.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
use Test::More;
use PGTest;

# A plain TCP listener standing for a mail server: it must see nothing.
my $smtp_port = PGTest::free_port();
my $smtp = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1',
                                 LocalPort => $smtp_port, Proto => 'tcp', ReuseAddr => 1)
    or die "listener: $!";

# ports: 0 the guarded proxy, 1 the backend site, 2 the same proxy unguarded
my $srv = PGTest->new(name => 'fwdproxy', ports => 3, conf => sub {
    my ($s) = @_;
    my ($proxy, $backend, $open) = map { $s->port($_) } 0 .. 2;
    my $root = $s->docroot('backend');
    return <<"CONF";
LoadModule proxy_module $PGTest::MODULES/mod_proxy.so
LoadModule proxy_http_module $PGTest::MODULES/mod_proxy_http.so
LoadModule proxy_connect_module $PGTest::MODULES/mod_proxy_connect.so
<VirtualHost *:$proxy>
    ServerName proxy.test
    ProxyRequests On
    # mod_proxy_connect itself would allow all of these:
    AllowCONNECT $backend $smtp_port 25
    ProxyGuardProxyClients 127.0.0.1 ::1
    ProxyGuardConnectPorts 443 $backend
    ProxyGuardProxyPorts 80 443 $backend
</VirtualHost>
<VirtualHost *:$backend>
    ServerName backend.test
    DocumentRoot "$root"
</VirtualHost>
<VirtualHost *:$open>
    ServerName open.test
    ProxyRequests On
    AllowCONNECT $backend $smtp_port
    ProxyGuard Off
</VirtualHost>
CONF
});
$srv->start;
my ($backend) = $srv->port(1);

# CONNECT, then (if 200) a GET through the tunnel.
sub tunnel {
    my ($port_index, $target, $from) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->port($port_index),
                                  Proto => 'tcp', Timeout => 10,
                                  ($from ? (LocalAddr => $from) : ())) or die "connect: $!";
    print $s "CONNECT $target HTTP/1.1\r\nHost: $target\r\n\r\n";
    my $head = '';
    while ($head !~ /\r\n\r\n/) {
        my $n = sysread($s, my $buf, 1) or last;
        $head .= $buf;
    }
    my ($status) = $head =~ m{^HTTP/1\.\d (\d+)};
    my $inner = '';
    if (($status // 0) == 200) {
        print $s "GET / HTTP/1.0\r\nHost: backend.test\r\n\r\n";
        while (sysread($s, my $buf, 4096)) { $inner .= $buf }
    }
    close $s;
    return ($status // 0, $inner);
}

sub listener_saw_connection {
    my $sel = IO::Select->new($smtp);
    my @ready = $sel->can_read(1);
    if (@ready) { my $c = $smtp->accept; close $c if $c; return 1 }
    return 0;
}

# The proxy client.
my $res = $srv->request("GET http://127.0.0.1:$backend/ HTTP/1.1\r\nHost: 127.0.0.1:$backend\r\n"
                        . "Proxy-Connection: keep-alive\r\n\r\n");
is($res->{status}, 200, 'proxy client: GET http://127.0.0.1:backend/ through the proxy: 200');
like($res->{body}, qr/^site:backend$/, 'proxy client: ... the backend\'s page');
my ($status, $inner) = tunnel(0, "127.0.0.1:$backend");
is($status, 200, 'proxy client: CONNECT to an allowed port: 200');
like($inner, qr/^HTTP\/1\.1 200 .*site:backend/s, 'proxy client: ... a GET through the tunnel reaches the backend');

# Not a proxy client.
$res = $srv->request("GET http://127.0.0.1:$backend/ HTTP/1.1\r\nHost: 127.0.0.1:$backend\r\n\r\n",
                     from => '127.0.0.2');
is($res->{status}, 403, 'non-client (127.0.0.2): the same GET is 403');
($status) = tunnel(0, "127.0.0.1:$backend", '127.0.0.2');
is($status, 405, 'non-client: CONNECT is 405');

# Ports that are not allowed: refused before any connection is opened.
my $mark = $srv->log_mark('logs/error_log');
($status) = tunnel(0, "127.0.0.1:$smtp_port");
is($status, 403, 'proxy client: CONNECT to a port not in ProxyGuardConnectPorts: 403');
ok(!listener_saw_connection(), '... and the listener on that port saw no connection');
($status) = tunnel(0, '127.0.0.1:25');
is($status, 403, 'proxy client: CONNECT to port 25 (allowed by AllowCONNECT, not by us): 403');
like($srv->log_since('logs/error_log', $mark),
     qr/PG0001: action=deny reason=connect-port vhost=proxy\.test method="CONNECT" uri="127\.0\.0\.1:$smtp_port"/,
     'logged as connect-port');

# Control: the same proxy without the guard does connect to the listener,
# so the "saw no connection" above means something.
($status) = tunnel(2, "127.0.0.1:$smtp_port");
is($status, 200, 'control, ProxyGuard Off: the CONNECT goes through');
ok(listener_saw_connection(), 'control: ... and the listener sees the connection');

$srv->stop;
my $log = $srv->slurp('logs/error_log');
like($log, qr/PG0004: ProxyRequests On in open\.test \([^)]*\) without ProxyGuardProxyClients: this is an OPEN PROXY/,
     'start-up warning names the open proxy vhost');
unlike($log, qr/PG0004: ProxyRequests On in proxy\.test/, 'no warning for the guarded proxy');

done_testing;
