#!/usr/bin/perl
# What a kept-alive connection remembers between its requests (issue 11):
# the verdict on its last origin-form request, reused by the next request
# only when it repeats what that verdict depends on (the vhost, the Host
# header, the proxy headers, the client being a proxy client).  Here one
# connection alternates between requests that must be decided differently;
# each must get its own verdict, answered and counted as if it were alone.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGHttp;
use PGTest;

my $srv = PGTest->new(name => 'kept-alive', conf => sub {
    "MaxKeepAliveRequests 0\n"
    . $_[0]->standard_vhosts(default_extra => 'ProxyGuardUnknownHost Deny')
    . PGTest::status_location();
})->start;

sub total { $srv->json->{total} }

my $c = PGHttp::Conn->new($srv->port);
# [ Host, extra header, expected status, hits it adds, what ]
my @steps = (
    [ 'www.example.com', '',                             200, 0, 'our name' ],
    [ 'www.example.com', '',                             200, 0, 'our name again (remembered)' ],
    [ 'unknown.test',    '',                             403, 1, 'an unknown name after ours' ],
    [ 'unknown.test',    '',                             403, 1, 'the unknown name again (remembered)' ],
    [ 'www.example.com', '',                             200, 0, 'our name after the unknown one' ],
    [ 'www.example.co',  '',                             403, 1, 'a name one byte shorter' ],
    [ 'www.example.comm', '',                            403, 1, 'a name one byte longer' ],
    [ 'WWW.EXAMPLE.COM', '',                             200, 0, 'our name in capitals' ],
    [ 'www.example.com', "Proxy-Connection: keep-alive", 200, 1, 'our name with a proxy header' ],
    [ 'www.example.com', '',                             200, 0, 'our name without it' ],
    [ 'default.test',    '',                             200, 0, 'the default vhost by its name' ],
    [ 'unknown.test',    '',                             403, 1, 'unknown again, after another vhost' ],
);
for my $step (@steps) {
    my ($host, $extra, $status, $hits, $what) = @$step;
    my $before = total();
    my $res = $c->request("GET / HTTP/1.1\r\nHost: $host\r\n" . ($extra ? "$extra\r\n" : '') . "\r\n");
    is($res->{status}, $status, "kept alive: $what: $status");
    is(total() - $before, $hits, "kept alive: $what: $hits hit(s) counted");
}
# the connection lived through all of them
my $res = $c->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
is($res->{status}, 200, 'kept alive: served at the end too');
is($c->{reconnects}, 0, 'kept alive: one connection carried every request');
$c->close;

# A request line that is not origin-form is decided on its own every time,
# between remembered ones.
$c = PGHttp::Conn->new($srv->port);
is($c->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")->{status}, 200,
   'kept alive: origin-form, our name');
is($c->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n")->{status}, 403,
   'kept alive: then an absolute URI for a foreign host, with our Host: refused');
is($c->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")->{status}, 200,
   'kept alive: then origin-form again: served');
is($c->{reconnects}, 0, 'kept alive: ... all on one connection');
$c->close;

$srv->stop;
done_testing;
