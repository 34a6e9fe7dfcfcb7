#!/usr/bin/perl
# mod_proxy_ftp opens a second connection, the data connection, to wherever
# the FTP server's PASV reply (an address and a port) or EPSV reply (a port
# on the server's address) says: ProxyGuardProxyPorts checks only the
# first.  A hostile FTP server on loopback sends the data connection to a
# listener that speaks SMTP.  Proxy clients' ftp:// URIs are refused
# (403, proxy-scheme) unless ProxyGuardProxySchemes lists ftp, so no
# request reaches either server; the vhost that does list ftp is the
# control, and shows the relay the default prevents.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;
use PGListener;
use PGFail2ban;

# the mail server and the hostile FTP servers on one address: EPSV's data
# connection goes to the FTP server's own address
my $smtp = PGListener->new(addr => '127.0.0.9', kind => 'smtp');
my %ftp = (
    epsv => PGListener->new(addr => '127.0.0.9', kind => 'ftp', data => $smtp->hostport),
    pasv => PGListener->new(addr => '127.0.0.9', kind => 'ftp', data => $smtp->hostport,
                            epsv => 0),
);
my @ftp_ports = map { $_->port } values %ftp;

# ports: 0 guarded forward proxy (default schemes), 1 the same with ftp
# listed (the control), 2 DetectOnly
my $srv = PGTest->new(name => 'ftpdata', ports => 3, conf => sub {
    my ($s) = @_;
    my ($p, $listed, $detect) = map { $s->port($_) } 0 .. 2;
    my $vhost = sub {
        my ($port, $name, $extra) = @_;
        return <<"VHOST";
<VirtualHost *:$port>
    ServerName $name
    ProxyRequests On
    ProxyGuardProxyClients 127.0.0.1
    # the FTP servers' ports are allowed: only the scheme keeps them out
    ProxyGuardProxyPorts 80 443 @ftp_ports $listed
$extra
    <Location "/proxyguard-status">
        SetHandler proxyguard-status
        Require local
    </Location>
</VirtualHost>
VHOST
    };
    return "ProxyGuardLogLimit 0 60\n"
         . "LoadModule proxy_module $PGTest::MODULES/mod_proxy.so\n"
         . "LoadModule proxy_http_module $PGTest::MODULES/mod_proxy_http.so\n"
         . "LoadModule proxy_ftp_module $PGTest::MODULES/mod_proxy_ftp.so\n"
         . $vhost->($p, 'proxy.test', '')
         . $vhost->($listed, 'listed.test', '    ProxyGuardProxySchemes http https ftp')
         . $vhost->($detect, 'detect.test', '    ProxyGuard DetectOnly');
});
$srv->start;

sub get_ftp {
    my ($port_index, $ftp, %opt) = @_;
    my $target = 'ftp://' . $ftp->hostport . '/file.txt';
    return $srv->request("GET $target HTTP/1.1\r\nHost: " . $ftp->hostport
                         . "\r\nConnection: close\r\n\r\n", port => $port_index, %opt);
}

sub reset_all { $_->reset for $smtp, values %ftp }

# --- the control: with ftp listed, the data connection reaches SMTP ----
for my $mode (sort keys %ftp) {
    reset_all();
    my $res = get_ftp(1, $ftp{$mode});
    note("listed, $mode: $res->{status}");
    is($ftp{$mode}->connections(1), 1, "control ($mode): the request reached the FTP server");
    is($smtp->connections(1), 1,
       "control ($mode): its data connection reached the mail port (the hole)");
    like(join('', $smtp->seen), qr/^$/, '... where mod_proxy_ftp sent nothing yet');
}

# --- the default: refused before mod_proxy_ftp connects anywhere --------
my $before = $srv->json->{hits}{'proxy-scheme'} // 0;
for my $mode (sort keys %ftp) {
    reset_all();
    for my $method ('GET', 'HEAD', 'PUT') {
        my $target = 'ftp://' . $ftp{$mode}->hostport . '/file.txt';
        my $res = $srv->request("$method $target HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
        is($res->{status}, 403, "proxy client, $mode: $method ftp://: 403");
    }
    my $res = $srv->request('GET FTP://' . $ftp{$mode}->hostport . "/ HTTP/1.0\r\n\r\n");
    is($res->{status}, 403, "proxy client, $mode: FTP:// in capitals: 403");
    is($ftp{$mode}->connections(1), 0, "proxy client, $mode: the FTP server saw no connection");
    is($smtp->connections, 0, "proxy client, $mode: the mail server saw no connection");
}
is(($srv->json->{hits}{'proxy-scheme'} // 0) - $before, 8, 'each counted as proxy-scheme');
like($srv->slurp('logs/error_log'), qr/PG0001: action=deny reason=proxy-scheme vhost=proxy\.test method="GET" uri="ftp:\/\/127\.0\.0\.9:\d+\/file\.txt"/,
     'the PG0001 line names the reason and the URI');

# a stranger's ftp:// is refused as before (not a proxy client)
reset_all();
my $res = get_ftp(0, $ftp{pasv}, from => '127.0.0.2');
is($res->{status}, 403, 'stranger: ftp://: 403');
is($ftp{pasv}->connections(1) + $smtp->connections, 0, '... and nothing connected');

# http:// still passes for proxy clients: the scheme list is the only change
$res = $srv->request("GET http://127.0.0.1:" . $srv->port(1) . "/ HTTP/1.0\r\n\r\n");
is($res->{status}, 200, "proxy client: http:// still proxied");

# DetectOnly: counted and passed (it is DetectOnly: the relay happens)
reset_all();
$before = $srv->json(port => 2)->{hits}{'proxy-scheme'} // 0;
get_ftp(2, $ftp{pasv});
is(($srv->json(port => 2)->{hits}{'proxy-scheme'} // 0) - $before, 1,
   'DetectOnly: counted as proxy-scheme');

# a bad scheme name stops the configuration test, naming directive and value
my $bad = PGTest->new(name => 'ftpbad', conf => sub {
    "LoadModule proxy_module $PGTest::MODULES/mod_proxy.so\nProxyGuardProxySchemes http gopher\n" });
my ($rc, $out) = $bad->configtest;
ok($rc != 0, 'ProxyGuardProxySchemes gopher: apache2 -t fails');
like($out, qr/ProxyGuardProxySchemes: 'gopher' is no scheme mod_proxy has a handler for/,
     '... naming the directive and the value');

# the shipped fail2ban filter bans on these lines, with the true address
$srv->stop;
PGFail2ban::check_deny_lines($srv, '127.0.0.1', 'proxy-scheme');
$srv->check_error_log;
done_testing;
