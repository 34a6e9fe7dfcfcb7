#!/usr/bin/perl
# Malformed traffic: request lines at and over LimitRequestLine, NUL bytes,
# bare LF, header floods, slowloris-style partial lines.  httpd answers what
# it answers; the module never crashes a child and never mis-decides: after
# every kind of garbage, probes are still rejected and the site still served.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep);
use PGTest;

# ProxyGuardLogLimit 0: every hit of this one client must have its line
my $srv = PGTest->new(name => 'malformed', conf => sub {
    "ProxyGuardLogLimit 0 60\n" . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

# The total of ?json, or -1 when the status page does not answer.
sub total {
    my $j = $srv->json or return -1;
    return $j->{total};
}

# Probes still rejected by the module (its counter and log line, not only
# the status: stock httpd answers CONNECT with 405 too), the site served.
sub still_sane {
    my ($what) = @_;
    my $before = $srv->json->{hits};
    my $mark = $srv->log_mark('logs/error_log');
    is($srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n")->{status}, 405, "after $what: CONNECT still 405");
    is($srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: x\r\n\r\n")->{status}, 403,
       "after $what: absolute URI still 403");
    my $after = $srv->json->{hits};
    ok($after->{connect} - $before->{connect} == 1 && $after->{'absolute-uri'} - $before->{'absolute-uri'} == 1,
       "after $what: the module counted both");
    my $log = $srv->log_since('logs/error_log', $mark);
    ok($log =~ /PG0001: action=deny reason=connect / && $log =~ /PG0001: action=deny reason=absolute-uri /,
       "after $what: and logged both");
    my $res = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
    ok($res->{status} == 200 && $res->{body} =~ /^site:www0$/, "after $what: the site still served");
}

# LimitRequestLine 8190 (the default): httpd takes request lines of up to
# 8191 bytes and answers 414 from 8192 on (measured on 2.4.71).
sub line_of {
    my ($len, $method, $prefix, $suffix) = @_;
    my $fixed = length("$method $prefix$suffix HTTP/1.1");
    return "$method $prefix" . ('a' x ($len - $fixed)) . "$suffix HTTP/1.1";
}
for my $case ([ 'absolute URI at the limit', 8191, 'GET', 'http://evil.test/', '', 403 ],
              [ 'absolute URI one byte over', 8192, 'GET', 'http://evil.test/', '', 414 ],
              [ 'CONNECT target at the limit', 8191, 'CONNECT', 'c', ':25', 405 ],
              [ 'CONNECT target one byte over', 8192, 'CONNECT', 'c', ':25', 414 ]) {
    my ($what, $len, $method, $prefix, $suffix, $want) = @$case;
    my $line = line_of($len, $method, $prefix, $suffix);
    is(length $line, $len, "$what: the line is $len bytes");
    is($srv->request("$line\r\nHost: www.example.com\r\n\r\n")->{status}, $want, "$what: $want");
}
# A long origin-form path: httpd's answer (403: the file name is too long),
# and no hit: the module has nothing to say about it.
my $mark = $srv->log_mark('logs/error_log');
my $res = $srv->request(line_of(8191, 'GET', '/', '') . "\r\nHost: www.example.com\r\n\r\n");
ok($res->{status} == 403 || $res->{status} == 404, "origin-form at the limit: httpd's $res->{status}");
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/, 'origin-form at the limit: no hit');
still_sane('request lines at the limit');

# Each kind of garbage with what it must get (measured on 2.4.71, the same
# under every MPM): httpd's own 400 and no hit; a connection closed with no
# answer at all ('closed'); an HTTP/0.9 answer, which has no status line
# ('0.9': the body alone, here the module's 403 page); or the module's
# answer with its hit.
my @garbage = (
    [ 'NUL in the request-target',      "GET http://evil.test/\0x HTTP/1.1\r\nHost: x\r\n\r\n", 400 ],
    [ 'NUL in the method',              "CONN\0ECT 1.2.3.4:25 HTTP/1.0\r\n\r\n", 400 ],
    [ 'NUL in Host',                    "GET / HTTP/1.1\r\nHost: www.example.com\0.evil\r\n\r\n", 400 ],
    [ 'bare LF line ends',              "GET http://evil.test/ HTTP/1.1\nHost: x\n\n", 400 ],
    [ 'bare CR',                        "GET / HTTP/1.1\rHost: x\r\r", 'closed' ],
    [ 'no version',                     "GET http://evil.test/\r\n\r\n", '0.9', 'absolute-uri' ],
    [ 'HTTP/0.9 absolute',              "GET http://evil.test/\r\n", '0.9', 'absolute-uri' ],
    [ 'spaces everywhere',              "GET   http://evil.test/   HTTP/1.1\r\nHost: x\r\n\r\n", 400 ],
    [ 'empty request',                  "\r\n\r\n", 'closed' ],
    [ 'binary noise',                   join('', map { chr(($_ * 37 + 11) % 256) } 1 .. 3000), 400 ],
    [ 'TLS ClientHello on a plain port', "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\x00" x 64), 'closed' ],
    [ '200 header lines',               "GET / HTTP/1.1\r\nHost: www.example.com\r\n" . join('', map { "X-$_: y\r\n" } 1 .. 200) . "\r\n", 400 ],
    [ 'one 20 KB header',               "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Big: " . ('b' x 20000) . "\r\n\r\n", 400 ],
    [ '5 KB Host',                      "GET / HTTP/1.1\r\nHost: " . ('h' x 5000) . "\r\n\r\n", 200, 'unknown-host' ],
    [ 'Host with a space and tabs',     "GET / HTTP/1.1\r\nHost: www.example.com \t evil\r\n\r\n", 400 ],
    [ 'two Host headers',               "GET / HTTP/1.1\r\nHost: www.example.com\r\nHost: evil.test\r\n\r\n", 400 ],
    [ 'CONNECT without a port',         "CONNECT evil.test HTTP/1.1\r\nHost: evil.test\r\n\r\n", 400 ],
    [ 'CONNECT to [v6 without ]',       "CONNECT [2001:db8::1:25 HTTP/1.1\r\nHost: x\r\n\r\n", 400 ],
    [ 'absolute URI with [v6 without ]', "GET http://[2001:db8::1/ HTTP/1.1\r\nHost: x\r\n\r\n", 400 ],
    [ 'absolute URI, port 99999',       "GET http://www.example.com:99999/ HTTP/1.1\r\nHost: x\r\n\r\n", 403, 'absolute-uri' ],
);
for my $g (@garbage) {
    my ($what, $raw, $want, $reason) = @$g;
    my $before = total();
    my $mark = $srv->log_mark('logs/error_log');
    my $res = eval { $srv->request($raw) };
    if (!$res) {
        fail("$what: the client could talk to the server") or diag $@;
        next;
    }
    if ($want eq 'closed') {
        is($res->{raw}, '', "$what: the connection is closed without an answer");
    }
    elsif ($want eq '0.9') {
        ok($res->{status} == 0 && $res->{raw} =~ /^<!DOCTYPE HTML.*<title>403 Forbidden<\/title>/s,
           "$what: an HTTP/0.9 answer, the 403 page alone")
            or diag substr($res->{raw}, 0, 200);
    }
    else {
        is($res->{status}, $want, "$what: $want");
    }
    my $log = $srv->log_since('logs/error_log', $mark);
    if ($reason) {
        is(total() - $before, 1, "$what: one hit counted");
        like($log, qr/PG0001: action=\w+ reason=\Q$reason\E /, "$what: logged as $reason");
    }
    else {
        is(total() - $before, 0, "$what: no hit (httpd decided before the module)");
        unlike($log, qr/PG0001/, "$what: nothing logged");
    }
}
still_sane('garbage');

# Slowloris: partial request lines left hanging while the site is used.
my @slow = map {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->port, Proto => 'tcp');
    print $s "GET http://evil.test/" . ('x' x $_);
    $s;
} 1 .. 6;
sleep 0.5;
print $_ "y" for @slow;
still_sane('6 hanging partial request lines');
close $_ for @slow;

$srv->stop;
done_testing;
