#!/usr/bin/perl
# HTTP/2 (h2c, prior knowledge, Node's built-in http2 client): an h2 CONNECT
# is rejected like an HTTP/1 CONNECT; our vhosts pass; a foreign :authority
# is unknown-host.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'http2', conf => sub {
    "LoadModule http2_module $PGTest::MODULES/mod_http2.so\n"
    . "Protocols h2c http/1.1\nH2WebSockets on\n"
    . $_[0]->standard_vhosts;
});
$srv->start;

sub h2 {
    my ($method, $authority, $path) = @_;
    my @cmd = ('node', "$FindBin::Bin/h2request.js", $srv->port, $method, $authority);
    push @cmd, $path if defined $path;
    open my $fh, '-|', @cmd or die "node: $!";
    my $out = do { local $/; <$fh> };
    close $fh;
    my ($status) = $out =~ /^status (\d+)/m;
    return ($status // 0, $out);
}

my ($status, $out) = h2('GET', 'www.example.com', '/');
is($status, 200, 'h2 GET to our vhost: 200') or diag $out;
like($out, qr/site:www0/, 'h2 GET: served by our vhost');

my $mark = $srv->log_mark('logs/error_log');
($status, $out) = h2('CONNECT', '59.124.98.13:25');
is($status, 405, 'h2 CONNECT 59.124.98.13:25: 405') or diag $out;
like($srv->log_since('logs/error_log', $mark),
     qr/PG0001: action=deny reason=connect .*method="CONNECT" uri="59\.124\.98\.13:25"/,
     'h2 CONNECT logged as connect');

($status, $out) = h2('CONNECT', 'www.example.com:443');
is($status, 405, 'h2 CONNECT to our own name: 405') or diag $out;

# h2 has no absolute form: mod_http2 turns :authority into the Host of an
# origin-form request, so a foreign :authority is unknown-host, exactly as
# an HTTP/1.1 "GET /" with a foreign Host.
$mark = $srv->log_mark('logs/error_log');
($status, $out) = h2('GET', 'www.online.sh.cn', '/');
is($status, 200, 'h2 GET with a foreign :authority passes (ProxyGuardUnknownHost Detect)') or diag $out;
like($srv->log_since('logs/error_log', $mark),
     qr/\[remote 127\.0\.0\.1:\d+\] PG0001: action=detect reason=unknown-host vhost=default\.test method="GET" uri="\/" host="www\.online\.sh\.cn"/,
     'h2 GET with a foreign :authority: counted as unknown-host');

# RFC 8441: a WebSocket over extended CONNECT to our vhost is not rejected.
# (mod_http2 hands it on as the GET it stands for; nothing here serves
# WebSockets, so the answer is the site's 404, not a 405.)
$mark = $srv->log_mark('logs/error_log');
open my $ws, '-|', 'node', "$FindBin::Bin/h2websocket.js", $srv->port, 'www.example.com' or die $!;
$out = do { local $/; <$ws> };
close $ws;
like($out, qr/^enableConnectProtocol true$/m, 'H2WebSockets on: the server offers extended CONNECT');
($status) = $out =~ /^status (\d+)/m;
isnt($status // 0, 405, "extended CONNECT (WebSocket) to our vhost is not rejected (status @{[ $status // 'none' ]})");
ok(($status // 0) != 0, '... it got an answer');
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/, '... and is no hit');

$srv->stop;
like($srv->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/2\.0" 405 pg=connect\/deny/,
     'access log: the h2 CONNECT carries PROXYGUARD=connect');
done_testing;
