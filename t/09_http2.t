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

# node's built-in http2 client speaks h2c here; make test installs nodejs
# and sets PG_REQUIRE_TOOLS, where a missing node is a failure.
if (!`command -v node 2>/dev/null`) {
    if ($ENV{PG_REQUIRE_TOOLS}) {
        fail('node is installed (the HTTP/2 client of this test)');
        done_testing;
        exit;
    }
    plan skip_all => 'node not installed (make test installs nodejs)';
}

my $srv = PGTest->new(name => 'http2', conf => sub {
    "LoadModule http2_module $PGTest::MODULES/mod_http2.so\n"
    . "Protocols h2c http/1.1\nH2WebSockets on\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
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

# A 405 is also what stock httpd answers an h2 CONNECT with: the module's
# log line and counter must be there too.
for my $target ('59.124.98.13:25', 'www.example.com:443') {
    my $mark = $srv->log_mark('logs/error_log');
    my $before = $srv->json->{hits}{connect};
    ($status, $out) = h2('CONNECT', $target);
    is($status, 405, "h2 CONNECT $target: 405") or diag $out;
    my @lines = $srv->log_since('logs/error_log', $mark)
        =~ /(\[remote 127\.0\.0\.1:\d+\] PG0001: action=deny reason=connect .*method="CONNECT" uri="\Q$target\E")/g;
    is(scalar @lines, 1, "h2 CONNECT $target: logged once as connect");
    is($srv->json->{hits}{connect} - $before, 1, "h2 CONNECT $target: counted once");
}

# h2 has no absolute form: mod_http2 turns :authority into the Host of an
# origin-form request, so a foreign :authority is unknown-host, exactly as
# an HTTP/1.1 "GET /" with a foreign Host.
my $mark = $srv->log_mark('logs/error_log');
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
is($status, 404, 'extended CONNECT (WebSocket) to our vhost is not rejected: the site\'s own 404 for /ws')
    or diag $out;
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/, '... and is no hit');

$srv->stop;
my $access = $srv->slurp('logs/access_log');
like($access, qr/"CONNECT 59\.124\.98\.13:25 HTTP\/2\.0" 405 pg=connect\/deny/,
     'access log: the h2 CONNECT carries PROXYGUARD=connect');
like($access, qr{"GET /ws HTTP/2\.0" 404 pg=-/-},
     'access log: the WebSocket stream, handed on as GET /ws, carries no PROXYGUARD');
done_testing;
