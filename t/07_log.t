#!/usr/bin/perl
# The hit log line: fixed fields first, attacker text last, escaped and cut;
# warn for rejections, info for pass-and-count hits; LogLevel honoured.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# HttpProtocolOptions Unsafe lets the most hostile bytes reach the module.
my $srv = PGTest->new(name => 'log',
    conf => sub { "HttpProtocolOptions Unsafe\n" . $_[0]->standard_vhosts });
$srv->start;

# Quotes, a backslash, a fake log prefix and bytes >= 0x80 in the URI.
my $evil_uri = qq{http://evil.test/"><script>alert(1)</script>\\x" [client 198.51.100.9:1] PG0001: action=deny \xff\xfe};
$evil_uri =~ s/ /%20/g;     # spaces would end the request-target
my $mark = $srv->log_mark('logs/error_log');
my $res = $srv->request("GET $evil_uri HTTP/1.1\r\nHost: evil\"\\host\r\n\r\n");
is($res->{status}, 403, 'hostile absolute URI: 403');
my $log = $srv->log_since('logs/error_log', $mark);
my @lines = grep { /PG0001/ } split /\n/, $log;
is(scalar @lines, 1, 'one log line, no line break injected');
my $line = $lines[0] // '';
like($line, qr/\[client 127\.0\.0\.1:\d+\] PG0001: action=deny reason=absolute-uri vhost=default\.test method="GET" uri="/,
     'fixed fields come first, from httpd and the module');
# What reaches the file: '"' as %22; '\' and bytes >= 0x80 escaped by
# ap_escape_logitem, then every backslash doubled by httpd's error log.
my $bs = quotemeta('\\\\');   # a backslash the module writes, doubled by httpd
like($line, qr/uri="http:\/\/evil\.test\/%22><script>alert\(1\)<\/script>${bs}${bs}x%22%20\[client/,
     'quotes become %22, backslashes are escaped');
like($line, qr/${bs}xff${bs}xfe"/, 'bytes >= 0x80 are written as \xNN');
like($line, qr/ host="evil%22${bs}${bs}host"$/, 'the Host header is escaped and comes last');
like($line, qr/^[^"]*method="[^"]*" uri="[^"]*" host="[^"]*"$/,
     'a raw quote in the line only ever delimits a field');
unlike($line, qr/[\x00-\x1f\x7f-\xff]/, 'no raw control or high bytes in the line');

# A long URI is cut to 200 bytes (before escaping) and marked.
my $long = 'http://evil.test/' . ('A' x 5000);
$mark = $srv->log_mark('logs/error_log');
$srv->request("GET $long HTTP/1.1\r\nHost: evil.test\r\n\r\n");
($line) = grep { /PG0001/ } split /\n/, $srv->log_since('logs/error_log', $mark);
my ($logged_uri) = ($line // '') =~ /uri="([^"]*)"/;
is(length($logged_uri // ''), 203, 'a 5017-byte URI is logged as 200 bytes and "..."');
like($logged_uri // '', qr/^http:\/\/evil\.test\/A+\.\.\.$/, '... its first 200 bytes');

# Control bytes in a header value are escaped too.
$mark = $srv->log_mark('logs/error_log');
$srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: x\r\n\r\n");
$srv->request("GET / HTTP/1.1\r\nHost: evil.test\x01\x1b[31m\r\n\r\n");
$log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[proxyguard:info\].*reason=proxy-header/, 'proxy-header logged at info');
like($log, qr/\[proxyguard:info\].*reason=unknown-host.*host="evil\.test${bs}x01${bs}x1b\[31m"/,
     'unknown-host logged at info, control bytes escaped');
$srv->stop;

# With LogLevel warn the info hits are silent; rejections still log.
my $quiet = PGTest->new(name => 'log-warn', loglevel => 'warn',
                        conf => sub { $_[0]->standard_vhosts });
$quiet->start;
$quiet->request("GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n");
$quiet->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n");
$quiet->stop;
$log = $quiet->slurp('logs/error_log');
unlike($log, qr/reason=unknown-host/, 'LogLevel warn: unknown-host (info) not logged');
like($log, qr/\[proxyguard:warn\].*reason=connect/, 'LogLevel warn: connect (warn) logged');
like($quiet->slurp('logs/access_log'), qr/"GET \/ HTTP\/1\.1" 200 pg=unknown-host\/detect/,
     'LogLevel warn: the hit is still published as PROXYGUARD');

done_testing;
