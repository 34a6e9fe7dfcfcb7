#!/usr/bin/perl
# A forward proxy for "its clients only" never connects anywhere for anybody
# else (issue 9).  A real mod_proxy forward-proxy vhost, every scheme handler
# loaded; a loopback listener on 127.0.0.3 stands for a foreign site, one on
# 127.0.0.4 that speaks SMTP for a mail server.  From a stranger (127.0.0.2)
# a large table of methods, request-target tricks, versions and headers:
# each is answered 403/405 and counted (or refused 400 by httpd itself
# before any module), and neither listener ever sees a connection.  The
# proxy client (127.0.0.1) is the control: plain requests do reach the
# foreign site, the tricks never do, and no method reaches the mail port.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use PGTest;
use PGListener;

my $site = PGListener->new(addr => '127.0.0.3', kind => 'http');
my $smtp = PGListener->new(addr => '127.0.0.4', kind => 'smtp');
my ($fp, $sp) = ($site->port, $smtp->port);

my @handlers = qw(proxy proxy_http proxy_connect proxy_ftp proxy_http2
                  proxy_wstunnel proxy_fcgi proxy_scgi proxy_uwsgi proxy_ajp);
# ports: 0 the guarded forward proxy, 1 the same unguarded (control)
my $srv = PGTest->new(name => 'strangers', ports => 2, conf => sub {
    my ($s) = @_;
    my ($p, $open) = ($s->port(0), $s->port(1));
    return join('', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
                'http2', 'socache_shmcb', @handlers) . <<"CONF";
<VirtualHost *:$p>
    ServerName proxy.test
    ProxyRequests On
    # mod_proxy_connect would allow these; we must not
    AllowCONNECT 443 $fp $sp 25
    ProxyGuardProxyClients 127.0.0.1
    ProxyGuardProxyPorts 80 443 $fp
    <Location "/proxyguard-status">
        SetHandler proxyguard-status
        Require local
    </Location>
</VirtualHost>
<VirtualHost *:$open>
    ServerName open.test
    ProxyRequests On
    AllowCONNECT 443 $fp $sp
    ProxyGuard Off
</VirtualHost>
CONF
});
$srv->start;
my $p = $srv->port(0);
my $stranger = '127.0.0.2';

# Request-target tricks: every one names the foreign site or the mail
# server somewhere, in a place one reader or another takes for the host.
my $f = "127.0.0.3:$fp";
my @targets = (
    "http://$f/", "HTTP://$f/", "http://$f", "Http://$f/x?y#z",
    "http://proxy.test?\@$f/", "http://proxy.test#\@$f/", "http://proxy.test\\\@$f/",
    "http://proxy.test?x=\@$f/", "http://proxy.test:$p\@$f/", "http://x\@$f/",
    "http://x:y\@$f/", "http://$f\@proxy.test/", "http://$f?\@proxy.test/",
    "http://proxy.test:\@$f/", "http://localhost?\@$f/", "http://localhost:$p?\@$f/",
    "http://[::ffff:127.0.0.3]:$fp/", "http://0x7f.0.0.3:$fp/", "http://2130706435:$fp/",
    "http://127.3:$fp/", "http://127.0.0.3.:$fp/", "http://$f:/", "http://127.0.0.3:0$fp/",
    "https://$f/", "ws://$f/", "wss://$f/", "ftp://$f/", "h2c://$f/", "h2://$f/",
    "fcgi://$f/", "scgi://$f/", "uwsgi://$f/", "ajp://$f/",
    "http://127.0.0.4:$sp/", "HTTP://proxy.test?\@127.0.0.4:$sp/",
    "http://127.0.0.4:$sp?\@proxy.test/", "ftp://127.0.0.4:$sp/",
    "http://proxy.test/", "http://localhost:$p/", "http://proxy.test:$p/",
);
my @methods = (qw(GET POST HEAD PUT DELETE OPTIONS PATCH get connect TRACE));

sub raw {
    my ($method, $target, $version, $extra) = @_;
    my $body = $method =~ /^(POST|PUT|PATCH)$/
             ? "HELO relay.test\r\nMAIL FROM:<spam\@example.net>\r\nRCPT TO:<victim\@example.org>\r\nDATA\r\n"
             : '';
    my $host = $version eq '1.1' ? "Host: proxy.test\r\n" : '';
    return "$method $target HTTP/$version\r\n$host$extra"
         . ($body ne '' ? "Content-Length: " . length($body) . "\r\n" : '')
         . "\r\n$body";
}

sub status_total {
    my $json = $srv->status('json')->{json} or return -1;
    return $json->{total};
}

# --- strangers ------------------------------------------------------
my (%by_status, @leaks, @wrong);
my $sent = 0;
my $total_before = status_total();
for my $method (@methods) {
    for my $target (@targets) {
        for my $v ('1.0', '1.1') {
            my $res = $srv->request(raw($method, $target, $v, ''), from => $stranger);
            $sent++;
            $by_status{ $res->{status} }++;
            push @wrong, "$res->{status} for $method $target HTTP/$v"
                unless $res->{status} =~ /^(400|403|405|501)$/;
        }
    }
}
# headers that change how proxies behave
for my $extra ("Proxy-Connection: keep-alive\r\n", "Max-Forwards: 0\r\n",
               "Expect: 100-continue\r\n", "Via: 1.1 other\r\n",
               "Proxy-Authorization: Basic dXNlcjpwYXNz\r\n") {
    for my $target ("http://$f/", "http://proxy.test?\@$f/", "http://127.0.0.4:$sp/") {
        my $res = $srv->request(raw('POST', $target, '1.1', $extra), from => $stranger);
        $sent++;
        $by_status{ $res->{status} }++;
        push @wrong, "$res->{status} for POST $target with $extra"
            unless $res->{status} =~ /^(400|403|405)$/;
    }
}
# CONNECT, in every form, to both listeners
for my $target ($f, "127.0.0.4:$sp", "[::ffff:127.0.0.3]:$fp", "127.0.0.3:$fp\@x",
                "proxy.test:443", "127.0.0.4:25") {
    for my $v ('1.0', '1.1') {
        my $res = $srv->request("CONNECT $target HTTP/$v\r\nHost: $target\r\n\r\n"
                                . "HELO relay.test\r\n", from => $stranger);
        $sent++;
        $by_status{ $res->{status} }++;
        push @wrong, "$res->{status} for CONNECT $target HTTP/$v"
            unless $res->{status} == 405 || $res->{status} == 400;
    }
}
is_deeply(\@wrong, [], "stranger: $sent requests, every one answered 403/405 (or 400/501 by httpd itself)")
    or diag join "\n", @wrong[0 .. ($#wrong < 30 ? $#wrong : 30)];
is($site->connections(0.5), 0, 'stranger: the foreign site never saw a connection')
    or diag join "\n", $site->seen;
is($smtp->connections, 0, 'stranger: the mail server never saw a connection')
    or diag join "\n", $smtp->seen;
note('stranger: answers by status: ' . join(', ', map { "$_: $by_status{$_}" } sort keys %by_status));
for my $method ('GET', 'POST', 'get') {
    for my $target ("http://$f/", "HTTP://$f/", "http://proxy.test?\@$f/", "http://localhost:$p?\@$f/",
                    "https://$f/", "ftp://$f/", "h2c://$f/", "fcgi://$f/", "http://127.0.0.4:$sp/") {
        is($srv->request(raw($method, $target, '1.1', ''), from => $stranger)->{status}, 403,
           "stranger: $method $target: 403 from the module");
        $sent++;
        $by_status{403}++;
    }
}
is($sent, 854, 'stranger: the 854 requests docs/decision.md speaks of');
my $counted = status_total() - $total_before;
is($counted, ($by_status{403} // 0) + ($by_status{405} // 0),
   "stranger: every 403 and 405 was a counted hit ($counted)");

# The status page and the unban form, through the proxy: mod_proxy would
# fetch them from the server's own address, which passes Require local.
my $res = $srv->request("GET http://localhost:$p/proxyguard-status?auto HTTP/1.1\r\nHost: localhost:$p\r\n\r\n",
                        from => $stranger);
is($res->{status}, 403, 'stranger: the status page through the proxy: 403');
unlike($res->{body}, qr/ProxyGuardTotal/, '... and no status data');
my $form = 'unban=127.0.0.2';
$res = $srv->request("POST http://127.0.0.1:$p/proxyguard-status HTTP/1.1\r\nHost: 127.0.0.1:$p\r\n"
                     . "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: "
                     . length($form) . "\r\n\r\n$form", from => $stranger);
is($res->{status}, 403, 'stranger: POST unban through the proxy: 403');

# --- the proxy client: the control, and the mail-port rule ------------
$site->reset;
$res = $srv->request("GET http://$f/ HTTP/1.1\r\nHost: $f\r\n\r\n");
is($res->{status}, 200, 'proxy client: GET of the foreign site through the proxy: 200');
like($res->{body}, qr/FOREIGN-SITE/, '... with its page');
is($site->connections, 1, '... so the listener does see what the proxy forwards');
$site->reset;
my @client_wrong;
my @tricks = grep { m{^\w+://[^/]*[?#\\@]} || m{^\w+://[^/]*:/} } @targets;
is(scalar @tricks, 15, 'the table has 15 authority tricks');
for my $target (@tricks) {
    for my $method ('GET', 'POST') {
        my $r = $srv->request(raw($method, $target, '1.1', ''));
        push @client_wrong, "$r->{status} for $method $target"
            unless $r->{status} =~ /^(400|403)$/;
    }
}
is_deeply(\@client_wrong, [], 'proxy client: every authority trick refused too (403, or 400 by httpd)')
    or diag join "\n", @client_wrong;
is($site->connections(0.5), 0, '... and none reached the foreign site') or diag join "\n", $site->seen;

my $before = $srv->status('json')->{json}{hits}{'proxy-port'};
for my $target ("http://127.0.0.4:$sp/", "HTTP://127.0.0.4:$sp/x", "http://127.0.0.4:25/",
                "http://127.0.0.4:465/", "http://127.0.0.4:587/", "https://127.0.0.4:$sp/",
                "ftp://127.0.0.4:$sp/", "ws://127.0.0.4:$sp/", "ftp://127.0.0.4/") {
    for my $method ('POST', 'PUT', 'GET') {
        my $r = $srv->request(raw($method, $target, '1.1', ''));
        is($r->{status}, 403, "proxy client: $method $target: 403");
    }
}
is($smtp->connections(0.5), 0, 'proxy client: the mail server never saw a connection');
is($srv->status('json')->{json}{hits}{'proxy-port'} - $before, 27,
   'proxy client: each counted as proxy-port');
my $r = $srv->request("CONNECT 127.0.0.4:$sp HTTP/1.1\r\nHost: 127.0.0.4:$sp\r\n\r\nHELO x\r\n");
is($r->{status}, 403, 'proxy client: CONNECT to the mail server: 403 (connect-port)');
is($smtp->connections(0.5), 0, '... and nothing reached it');

# --- control: the same proxy unguarded does relay, so the zeros above mean
# something --------------------------------------------------------------
$r = $srv->request("POST http://proxy.test?\@127.0.0.4:$sp/ HTTP/1.1\r\nHost: proxy.test\r\n"
                   . "Content-Length: 17\r\n\r\nHELO relay.test\r\n", port => 1, from => $stranger);
ok($smtp->connections(1) >= 1, 'control, ProxyGuard Off: the bypass of issue 9 reaches the mail server')
    or diag "status $r->{status}";
like(join("\n", $smtp->seen), qr/POST \/ HTTP\/1\.1.*HELO relay\.test/s,
     'control: ... carrying the stranger\'s SMTP lines');

$srv->stop;
like($srv->slurp('logs/error_log'),
     qr/PG0004: ProxyRequests On in open\.test \([^)]*\) without ProxyGuardProxyClients: this is an OPEN PROXY/,
     'PG0004 names the open vhost');
done_testing;
