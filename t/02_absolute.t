#!/usr/bin/perl
# Absolute-form request-URIs: foreign hosts get 403 (reason absolute-uri),
# our own names pass untouched, the URI's host wins over the Host header.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'absolute', conf => sub { $_[0]->standard_vhosts });
$srv->start;
my $port = $srv->port;

sub req_is {
    my ($raw, $status, $body_re, $name) = @_;
    my $res = $srv->request($raw);
    is($res->{status}, $status, "$name: $status");
    like($res->{body}, $body_re, "$name: body") if $body_re;
    return $res;
}

# The real lines, verbatim (plus the Host an HTTP/1.1 client must send).
req_is("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n",
       403, qr/Forbidden/, 'GET http://www.online.sh.cn/');
req_is("GET http://207.36.18.60/cgi-bin/textenv.pl?80 HTTP/1.0\r\n\r\n",
       403, undef, 'GET http://207.36.18.60/cgi-bin/textenv.pl?80 HTTP/1.0');
req_is("GET http://6.example.cn/zc/chs/img/body.png HTTP/1.1\r\nHost: 6.example.cn\r\n"
       . "Proxy-Connection: keep-alive\r\n\r\n",
       403, undef, 'honeypot GET with Proxy-Connection');

# Foreign URI, our Host: the URI wins (RFC 9112 3.2.2).
req_is("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
       403, undef, 'foreign URI with our Host header');
# Other schemes, any case.
req_is("GET HTTPS://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n",
       403, undef, 'HTTPS:// upper-case scheme, foreign');
req_is("GET ftp://evil.test/file HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
       403, undef, 'ftp:// foreign');
# Userinfo: httpd's default HttpProtocolOptions Strict answers 400 itself,
# before any module runs (the Unsafe case is tested below).
req_is("GET http://www.example.com\@evil.test/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
       400, undef, 'http://ours@evil/ under Strict: httpd says 400');
# Our name at a port that is not ours.
req_is("GET http://www.example.com:25/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
       403, undef, 'our name at port 25');

# Absolute form naming us: passes, served by the right vhost.
for my $host ('www.example.com', 'WWW.EXAMPLE.COM', 'www.example.com.',
              "www.example.com:$port", 'example.com', 'Example.Com',
              'shop.example.org', 'a.b.EXAMPLE.org') {
    req_is("GET http://$host/ HTTP/1.1\r\nHost: $host\r\n\r\n", 200,
           qr/^site:www0$/, "absolute to our name $host");
}
req_is("GET http://default.test/ HTTP/1.0\r\n\r\n", 200, qr/^site:default0$/,
       'absolute to the default vhost by name');
req_is("GET http://www.example.com/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", 200,
       qr/^site:www0$/, 'our URI with a foreign Host: the URI wins, passes');

# Origin-form to our vhosts is untouched and not counted.
my $mark = $srv->log_mark('logs/error_log');
req_is("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", 200, qr/^site:www0$/,
       'origin-form, our Host');
req_is("GET / HTTP/1.1\r\nHost: WWW.Example.COM.:$port\r\n\r\n", 200,
       qr/^site:www0$/, 'origin-form, our Host in upper case with trailing dot and port');
req_is("OPTIONS * HTTP/1.1\r\nHost: www.example.com\r\n\r\n", 200, undef,
       'OPTIONS *');
req_is("GET / HTTP/1.0\r\n\r\n", 200, qr/^site:default0$/,
       'HTTP/1.0 without Host');
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/,
       'requests that pass untouched leave no log line');

# A rejection keeps the connection as httpd would for any 403: a probe and
# a real request pipelined on one HTTP/1.1 connection get both answers.
my $two = $srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n"
                        . "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
my @statuses = $two->{raw} =~ m{^HTTP/1\.1 (\d{3})}mg;
is("@statuses", '403 200', 'pipelined on one connection: the probe 403, then the page 200');
like($two->{raw}, qr/site:www0/, '... and the page is served on the same connection');
my $con = $srv->request("CONNECT 59.124.98.13:25 HTTP/1.1\r\nHost: 59.124.98.13:25\r\n\r\n"
                        . "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
@statuses = $con->{raw} =~ m{^HTTP/1\.1 (\d{3})}mg;
is("@statuses", '405 200', 'CONNECT over HTTP/1.1 then a GET on the same connection: 405, 200');

$srv->stop;
my $log = $srv->slurp('logs/error_log');
like($log, qr/\[client 127\.0\.0\.1:\d+\] PG0001: action=deny reason=absolute-uri vhost=default\.test method="GET" uri="http:\/\/www\.online\.sh\.cn\/" host="www\.online\.sh\.cn"/,
     'deny line for the absolute-URI probe');
my $denies = () = $log =~ /reason=absolute-uri/g;
is($denies, 8, 'each rejected absolute URI logged once');

# Under HttpProtocolOptions Unsafe userinfo reaches us.  The readers
# disagree where the userinfo ends (apr_uri_parse: at '?' or '#' too;
# mod_proxy: only at '/'), and legitimate clients never send it (RFC 9110
# 4.2.4): refused whichever way round.  The "*" of <VirtualHost *:port> is
# no name of ours either.
my $unsafe = PGTest->new(name => 'absolute-unsafe',
                         conf => sub { "HttpProtocolOptions Unsafe\n" . $_[0]->standard_vhosts });
$unsafe->start;
my $res = $unsafe->request("GET http://www.example.com\@evil.test/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
is($res->{status}, 403, 'Unsafe: http://ours@evil/: 403');
$res = $unsafe->request("GET http://evil.test\@www.example.com/ HTTP/1.1\r\nHost: evil.test\r\n\r\n");
is($res->{status}, 403, 'Unsafe: http://evil@ours/: 403 too');
unlike($res->{body}, qr/site:/, 'Unsafe: ... and no page served');
$res = $unsafe->request("GET http://*/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
is($res->{status}, 403, 'Unsafe: http://*/ (the * of <VirtualHost *:port>) is not ours: 403');
$mark = $unsafe->log_mark('logs/access_log');
$res = $unsafe->request("GET / HTTP/1.1\r\nHost: *\r\n\r\n");
like($unsafe->log_since('logs/access_log', $mark), qr{"GET / HTTP/1\.1" \d+ pg=unknown-host/detect},
     'Unsafe: Host: * is counted as unknown-host');
$unsafe->stop;
like($unsafe->slurp('logs/error_log'), qr/PG0001: action=deny reason=absolute-uri vhost=\S+ method="GET" uri="http:\/\/evil\.test\@www\.example\.com\/"/,
     'Unsafe: the userinfo request is logged as absolute-uri');

done_testing;
