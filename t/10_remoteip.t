#!/usr/bin/perl
# The hook runs after mod_remoteip: behind a trusted balancer the hit is
# attributed to the forwarded client, never to the balancer; a forged
# X-Forwarded-For from an untrusted peer changes nothing.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'remoteip', conf => sub {
    "LoadModule remoteip_module $PGTest::MODULES/mod_remoteip.so\n"
    . "RemoteIPHeader X-Forwarded-For\n"
    . "RemoteIPTrustedProxy 127.0.0.1\n"
    . $_[0]->standard_vhosts;
});
$srv->start;

my $mark = $srv->log_mark('logs/error_log');
my $res = $srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n"
                        . "X-Forwarded-For: 203.0.113.7\r\n\r\n");
is($res->{status}, 403, 'forwarded absolute-URI probe: 403');
my $log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[client 203\.0\.113\.7:\d+\] PG0001: action=deny reason=absolute-uri/,
     'trusted balancer: the hit is logged with the forwarded client address');
unlike($log, qr/\[client 127\.0\.0\.1:\d+\] PG0001/, '... not with the balancer\'s');

# 127.0.0.2 is not a trusted proxy: its X-Forwarded-For is ignored.
$mark = $srv->log_mark('logs/error_log');
$srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\nX-Forwarded-For: 198.51.100.99\r\n\r\n",
              from => '127.0.0.2');
$log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[client 127\.0\.0\.2:\d+\] PG0001: action=deny reason=connect/,
     'untrusted peer: logged with its own address');
unlike($log, qr/198\.51\.100\.99/, 'untrusted peer: the forged address appears nowhere');

$srv->stop;
done_testing;
