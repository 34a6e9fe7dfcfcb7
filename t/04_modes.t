#!/usr/bin/perl
# ProxyGuard On|Off|DetectOnly per vhost and inherited from the main server;
# ProxyGuardAllowHost in the main server and in a vhost.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# Port 0: main-server default (On).  Port 1: default vhost Off.
# Port 2: default vhost DetectOnly.  Port 3: inherits the main server's
# ProxyGuardUnknownHost Deny, and its www vhost turns the module Off.
my @extra = ('ProxyGuardAllowHost partner.test', 'ProxyGuard Off',
             'ProxyGuard DetectOnly', '');
my $srv = PGTest->new(name => 'modes', ports => 4, conf => sub {
    my ($s) = @_;
    my $text = $s->status_location
             . "ProxyGuardAllowHost *.cdn.example.net 192.0.2.10 [2001:db8::10]\n"
             . "ProxyGuardUnknownHost Deny\n";
    for my $i (0 .. 3) {
        my $port = $s->port($i);
        my $d = $s->docroot("default$i");
        my $w = $s->docroot("www$i");
        my $www_extra = $i == 3 ? 'ProxyGuard Off' : '';
        $text .= <<"VH";
<VirtualHost *:$port>
    ServerName default$i.test
    DocumentRoot "$d"
    ProxyGuardUnknownHost Detect
    $extra[$i]
</VirtualHost>
<VirtualHost *:$port>
    ServerName www.example.com
    DocumentRoot "$w"
    $www_extra
</VirtualHost>
VH
    }
    # port 3's default vhost must inherit Deny: drop its own Detect
    $text =~ s/(ServerName default3\.test\n.*\n)\s*ProxyGuardUnknownHost Detect\n/$1/;
    return $text;
});
$srv->start;

my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $absolute = "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n";

# The hits of one vhost by reason and action, from ?json.
sub vhost_hits {
    my ($name) = @_;
    my ($row) = grep { $_->{vhost} eq $name } @{ $srv->json->{vhosts} };
    return $row ? $row->{hits} : {};
}

# On (default): the module's answers, with its trace (a 405 alone is what
# stock httpd answers CONNECT with too: t/01_connect.t)
my $mark = $srv->log_mark('logs/error_log');
my $res = $srv->request($connect, port => 0);
is($res->{status}, 405, 'On: CONNECT 405');
is(PGTest::allow_set($res->{headers}{allow}), 'GET,HEAD,OPTIONS,POST,TRACE', 'On: the module\'s Allow');
is($srv->request($absolute, port => 0)->{status}, 403, 'On: absolute 403');
my $log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[proxyguard:warn\].*PG0001: action=deny reason=connect vhost=default0\.test/, 'On: CONNECT logged as deny');
like($log, qr/\[proxyguard:warn\].*PG0001: action=deny reason=absolute-uri vhost=default0\.test/, 'On: absolute URI logged as deny');
my $hits = vhost_hits('default0.test');
is($hits->{connect}{deny}, 1, 'On: ?json counts the CONNECT as deny');
is($hits->{'absolute-uri'}{deny}, 1, 'On: ?json counts the absolute URI as deny');

# Off: stock behaviour (httpd's core answers CONNECT 405 itself), no log
$mark = $srv->log_mark('logs/error_log');
is($srv->request($connect, port => 1)->{status}, 405, 'Off: CONNECT gets stock 405');
$res = $srv->request($absolute, port => 1);
is($res->{status}, 200, 'Off: absolute URI served (stock behaviour)');
like($res->{body}, qr/^site:default1$/, 'Off: ... by the default vhost');
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/, 'Off: nothing logged');
my $off = 0;
$off += $_->{deny} + $_->{detect} for values %{ vhost_hits('default1.test') };
is($off, 0, 'Off: nothing counted');
like($srv->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/1\.0" 405 pg=-\/-/,
     'Off: no PROXYGUARD on the stock CONNECT answer');

# DetectOnly: never changes the response, logs what would have happened
$mark = $srv->log_mark('logs/error_log');
$res = $srv->request($absolute, port => 2);
is($res->{status}, 200, 'DetectOnly: absolute URI served');
$res = $srv->request($connect, port => 2);
is($res->{status}, 405, 'DetectOnly: CONNECT gets the stock 405');
$log = $srv->log_since('logs/error_log', $mark);
$hits = vhost_hits('default2.test');
is($hits->{connect}{detect}, 1, 'DetectOnly: ?json counts the CONNECT as detect');
is($hits->{connect}{deny}, 0, '... never as deny');
is($hits->{'absolute-uri'}{detect}, 1, 'DetectOnly: ?json counts the absolute URI as detect');
like($log, qr/\[proxyguard:warn\].*PG0001: action=detect reason=absolute-uri vhost=default2\.test/,
     'DetectOnly: absolute URI logged at warn as detect');
like($log, qr/\[proxyguard:warn\].*PG0001: action=detect reason=connect vhost=default2\.test/,
     'DetectOnly: CONNECT logged at warn as detect');
unlike($log, qr/action=deny/, 'DetectOnly: no deny');
like($srv->slurp('logs/access_log'), qr/"GET http:\/\/www\.online\.sh\.cn\/ HTTP\/1\.1" 200 pg=absolute-uri\/detect/,
     'DetectOnly: PROXYGUARD set, action detect');
like($srv->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/1\.0" 405 pg=connect\/detect/,
     'DetectOnly: CONNECT carries PROXYGUARD=connect, action detect');

# Inheritance: port 3's default vhost has no ProxyGuardUnknownHost: Deny
is($srv->request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", port => 3)->{status}, 403,
   'main server ProxyGuardUnknownHost Deny is inherited');
is($srv->request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", port => 0)->{status}, 200,
   'a vhost\'s own ProxyGuardUnknownHost Detect overrides it');
# ... and the www vhost on port 3 is Off: an absolute URI naming it...
is($srv->request("GET http://www.example.com/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 3)->{status}, 200,
   'absolute URI to an Off vhost by name: served');

# ProxyGuardAllowHost from the main server applies everywhere
for my $host ('img.cdn.example.net', '192.0.2.10', '[2001:db8::10]', '[2001:DB8:0::10]') {
    is($srv->request("GET http://$host/ HTTP/1.1\r\nHost: $host\r\n\r\n", port => 0)->{status}, 200,
       "AllowHost (main server): absolute URI to $host passes");
}
is($srv->request("GET / HTTP/1.1\r\nHost: img.cdn.example.net\r\n\r\n", port => 3)->{status}, 200,
   'AllowHost (main server): Host img.cdn.example.net is not unknown');
is($srv->request("GET http://cdn.example.net/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 0)->{status}, 403,
   'AllowHost *.cdn.example.net does not cover cdn.example.net itself');
is($srv->request("GET http://192.0.2.11/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 0)->{status}, 403,
   'AllowHost 192.0.2.10 does not cover 192.0.2.11');
# A vhost's own AllowHost adds to the main server's, for that vhost only.
# Names that are not ServerNames land on the default vhost: that is where
# a vhost-level AllowHost matters.
is($srv->request("GET http://partner.test/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 0)->{status}, 200,
   'vhost AllowHost: absolute URI to partner.test passes on its vhost');
is($srv->request("GET http://img.cdn.example.net/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 0)->{status}, 200,
   'vhost AllowHost adds to, not replaces, the main server\'s');
is($srv->request("GET http://partner.test/ HTTP/1.1\r\nHost: x\r\n\r\n", port => 3)->{status}, 403,
   'a vhost\'s AllowHost does not leak to other vhosts');

$srv->stop;
done_testing;
