#!/usr/bin/perl
# A PHP-like catch-all: a CGI reached through FallbackResource that answers
# 200 to every method.  Port 0 runs it with ProxyGuard Off (the control:
# stock httpd hands CONNECT and foreign absolute URIs to the handler, which
# answers 200), port 1 with the module On: the handler is never reached.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# An httpd run under valgrind fails to spawn CGI scripts ("End of script
# output before headers"); this test is about dispatch, not memory, and runs
# in the normal and ASan suites under every MPM.
plan skip_all => 'CGI scripts cannot be spawned by httpd under valgrind'
    if $ENV{PG_VALGRIND};

my $srv = PGTest->new(name => 'catchall', ports => 2, conf => sub {
    my ($s) = @_;
    my $text = '';
    for my $i (0, 1) {
        my $port = $s->port($i);
        my $root = $s->catchall_docroot("app$i");
        my $guard = $i == 0 ? 'ProxyGuard Off' : '';
        $text .= <<"VH";
<VirtualHost *:$port>
    ServerName app.example.com
    DocumentRoot "$root"
    $guard
    <Directory "$root">
        Options +ExecCGI
        AddHandler cgi-script .cgi
        DirectoryIndex catchall.cgi
        FallbackResource /catchall.cgi
    </Directory>
</VirtualHost>
VH
    }
    return $text;
});
$srv->start;

my @probes = (
    [ 'CONNECT 59.124.98.13:25 HTTP/1.0', "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", 405 ],
    [ 'CONNECT mx0.example.com.tw:25 HTTP/1.0', "CONNECT mx0.example.com.tw:25 HTTP/1.0\r\n\r\n", 405 ],
    [ 'GET http://www.online.sh.cn/', "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", 403 ],
    [ 'GET http://6.example.cn/... (honeypot)', "GET http://6.example.cn/zc/chs/img/body.png HTTP/1.1\r\nHost: 6.example.cn\r\nProxy-Connection: keep-alive\r\n\r\n", 403 ],
);

# Control: without the guard the catch-all answers every probe with 200.
for my $p (@probes) {
    my $res = $srv->request($p->[1], port => 0);
    is($res->{status}, 200, "module Off: $p->[0] answered 200 by the catch-all");
    like($res->{body}, qr/^catchall:app0 saw /, "module Off: ... body from the handler");
}
my $calls_off = () = $srv->cgi_calls =~ /\n/g;
is($calls_off, scalar @probes, 'module Off: the handler ran once per probe');

# Guarded: rejected before any handler runs.
for my $p (@probes) {
    my $res = $srv->request($p->[1], port => 1);
    is($res->{status}, $p->[2], "module On: $p->[0] answered $p->[2]");
    unlike($res->{body}, qr/catchall/, "module On: ... not by the handler");
}
my $calls = () = $srv->cgi_calls =~ /\n/g;
is($calls, $calls_off, 'module On: the handler never ran for a probe');

# Legitimate traffic still reaches the front controller.
my $res = $srv->request("POST /login HTTP/1.1\r\nHost: app.example.com\r\nContent-Length: 0\r\n\r\n", port => 1);
is($res->{status}, 200, 'module On: POST /login reaches the catch-all');
like($res->{body}, qr/^catchall:app1 saw POST/, 'module On: ... and its handler answers');

$srv->stop;
done_testing;
