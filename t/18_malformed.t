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

my $srv = PGTest->new(name => 'malformed', conf => sub {
    $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

sub still_sane {
    my ($what) = @_;
    is($srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n")->{status}, 405, "after $what: CONNECT still 405");
    is($srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: x\r\n\r\n")->{status}, 403,
       "after $what: absolute URI still 403");
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

my @garbage = (
    [ 'NUL in the request-target',      "GET http://evil.test/\0x HTTP/1.1\r\nHost: x\r\n\r\n" ],
    [ 'NUL in the method',              "CONN\0ECT 1.2.3.4:25 HTTP/1.0\r\n\r\n" ],
    [ 'NUL in Host',                    "GET / HTTP/1.1\r\nHost: www.example.com\0.evil\r\n\r\n" ],
    [ 'bare LF line ends',              "GET http://evil.test/ HTTP/1.1\nHost: x\n\n" ],
    [ 'bare CR',                        "GET / HTTP/1.1\rHost: x\r\r" ],
    [ 'no version',                     "GET http://evil.test/\r\n\r\n" ],
    [ 'HTTP/0.9 absolute',              "GET http://evil.test/\r\n" ],
    [ 'spaces everywhere',              "GET   http://evil.test/   HTTP/1.1\r\nHost: x\r\n\r\n" ],
    [ 'empty request',                  "\r\n\r\n" ],
    [ 'binary noise',                   join('', map { chr(($_ * 37 + 11) % 256) } 1 .. 3000) ],
    [ 'TLS ClientHello on a plain port', "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" . ("\x00" x 64) ],
    [ '200 header lines',               "GET / HTTP/1.1\r\nHost: www.example.com\r\n" . join('', map { "X-$_: y\r\n" } 1 .. 200) . "\r\n" ],
    [ 'one 20 KB header',               "GET / HTTP/1.1\r\nHost: www.example.com\r\nX-Big: " . ('b' x 20000) . "\r\n\r\n" ],
    [ '5 KB Host',                      "GET / HTTP/1.1\r\nHost: " . ('h' x 5000) . "\r\n\r\n" ],
    [ 'Host with a space and tabs',     "GET / HTTP/1.1\r\nHost: www.example.com \t evil\r\n\r\n" ],
    [ 'two Host headers',               "GET / HTTP/1.1\r\nHost: www.example.com\r\nHost: evil.test\r\n\r\n" ],
    [ 'CONNECT without a port',         "CONNECT evil.test HTTP/1.1\r\nHost: evil.test\r\n\r\n" ],
    [ 'CONNECT to [v6 without ]',       "CONNECT [2001:db8::1:25 HTTP/1.1\r\nHost: x\r\n\r\n" ],
    [ 'absolute URI with [v6 without ]', "GET http://[2001:db8::1/ HTTP/1.1\r\nHost: x\r\n\r\n" ],
    [ 'absolute URI, port 99999',       "GET http://www.example.com:99999/ HTTP/1.1\r\nHost: x\r\n\r\n" ],
);
for my $g (@garbage) {
    my ($what, $raw) = @$g;
    my $res = eval { $srv->request($raw) };
    ok(defined $res, "$what: the connection was answered or closed cleanly")
        or diag $@;
    isnt($res && $res->{status}, 200, "$what: not answered 200 by the default site")
        if $raw =~ /evil\.test\/|CONNECT|\[2001/ && $raw !~ /^GET \/ /;
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
