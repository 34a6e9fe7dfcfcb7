#!/usr/bin/perl
# PROXYGUARD (and PROXYGUARD_ACTION) are there for httpd's own readers to
# act on, as docs/logging.md says: SetEnvIf tests it, an <If> expression
# reads it with reqenv(), mod_rewrite with %{ENV:...}.  Each reader here
# changes the answer visibly, so the test sees that it saw the variable;
# a clean request leaves them all alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# port 0: the standard vhosts; port 1: watch.test, ProxyGuard DetectOnly
my $srv = PGTest->new(name => 'readers', ports => 2, conf => sub {
    my ($s) = @_;
    my $dir = $s->dir;
    my $port = $s->port(1);
    my $watch = $s->docroot('watch');
    for my $root ('default0', 'www0', 'default1', 'www1', 'watch') {
        $s->write_file("htdocs/$root/flagged.html", "flagged by mod_rewrite\n");
    }
    return <<"CONF" . $s->standard_vhosts;
LoadModule setenvif_module $PGTest::MODULES/mod_setenvif.so
LoadModule rewrite_module $PGTest::MODULES/mod_rewrite.so
LoadModule headers_module $PGTest::MODULES/mod_headers.so
SetEnvIf PROXYGUARD "^(unknown-host|proxy-header|absolute-uri)\$" pg_setenvif=\$1
Header always set X-PG-SetEnvIf "%{pg_setenvif}e" env=pg_setenvif
<If "reqenv('PROXYGUARD') == 'proxy-header'">
    Header always set X-PG-If "proxy-header seen by If"
</If>
<Directory "$dir/htdocs">
    RewriteEngine On
    RewriteCond "%{ENV:PROXYGUARD}" "=unknown-host" [OR]
    RewriteCond "%{ENV:PROXYGUARD}:%{ENV:PROXYGUARD_ACTION}" "=absolute-uri:detect"
    # per-dir: the path is relative to htdocs, the vhost's root first
    RewriteRule "^[^/]+/(index\\.html)?\$" "/flagged.html" [L]
</Directory>
<VirtualHost *:$port>
    ServerName watch.test
    DocumentRoot "$watch"
    ProxyGuard DetectOnly
</VirtualHost>
CONF
});
$srv->start;

my $res = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
is($res->{body}, "site:www0\n", 'a clean request: the page itself');
ok(!exists $res->{headers}{'x-pg-setenvif'} && !exists $res->{headers}{'x-pg-if'},
   'a clean request: no reader reacted');

$res = $srv->request("GET / HTTP/1.1\r\nHost: 203.0.113.7\r\n\r\n");
is($res->{status}, 200, 'unknown-host (counted, passed): 200');
is($res->{headers}{'x-pg-setenvif'}, 'unknown-host', 'SetEnvIf PROXYGUARD matched unknown-host');
is($res->{body}, "flagged by mod_rewrite\n", 'mod_rewrite RewriteCond %{ENV:PROXYGUARD} =unknown-host rewrote it');
ok(!exists $res->{headers}{'x-pg-if'}, '<If> for proxy-header stayed quiet');

$res = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n");
is($res->{status}, 200, 'proxy-header (counted, passed): 200');
is($res->{headers}{'x-pg-if'}, 'proxy-header seen by If', "<If \"reqenv('PROXYGUARD') == 'proxy-header'\"> matched");
is($res->{headers}{'x-pg-setenvif'}, 'proxy-header', 'SetEnvIf PROXYGUARD matched proxy-header');
is($res->{body}, "site:www0\n", 'mod_rewrite left it alone (its conditions: unknown-host, or absolute-uri under detect)');

# DetectOnly: a would-be rejection is served, its readers see the action
$res = $srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", port => 1);
is($res->{status}, 200, 'DetectOnly: an absolute URI for a foreign host is served');
is($res->{headers}{'x-pg-setenvif'}, 'absolute-uri', 'SetEnvIf PROXYGUARD matched absolute-uri');
is($res->{body}, "flagged by mod_rewrite\n", 'mod_rewrite RewriteCond %{ENV:PROXYGUARD}:%{ENV:PROXYGUARD_ACTION} =absolute-uri:detect rewrote it');

# On: the same request is rejected before any reader acts on it
$res = $srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n");
is($res->{status}, 403, 'On: the same absolute URI is refused (403)');
is($res->{headers}{'x-pg-setenvif'}, 'absolute-uri', '... SetEnvIf (post_read_request) saw it, its Header always applies');

$srv->stop;
like($srv->slurp('logs/access_log'), qr{"GET / HTTP/1\.1" 200 pg=unknown-host/detect}, 'access log agrees: unknown-host');
done_testing;
