#!/usr/bin/perl
# CONNECT is answered 405 with a correct Allow header on every vhost, logged
# and published as PROXYGUARD=connect.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'connect', conf => sub { $_[0]->standard_vhosts });
$srv->start;

# The real lines from operators' logs and a honeypot, verbatim.
for my $line ('CONNECT 140.112.65.3:25 HTTP/1.0',
              'CONNECT maila.microsoft.com:25 HTTP/1.0',
              'CONNECT 59.124.98.13:25 HTTP/1.0',
              'CONNECT mx0.example.com.tw:25 HTTP/1.0') {
    my $res = $srv->request("$line\r\n\r\n");
    is($res->{status}, 405, "$line: 405");
    my $allow = $res->{headers}{allow} // '';
    like($allow, qr/\bGET\b/, "$line: Allow lists GET ($allow)");
    unlike($allow, qr/CONNECT/, "$line: Allow does not list CONNECT");
}

# CONNECT naming our own vhost, over HTTP/1.1 with a Host: still 405.
my $res = $srv->request("CONNECT www.example.com:443 HTTP/1.1\r\n"
                        . "Host: www.example.com:443\r\n\r\n");
is($res->{status}, 405, 'CONNECT to our own name over HTTP/1.1: 405');

# Proxy-Authorization on a CONNECT changes nothing: it counts as connect.
my $mark = $srv->log_mark('logs/error_log');
$res = $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n"
                     . "Proxy-Authorization: Basic Zm9vOmJhcg==\r\n\r\n");
is($res->{status}, 405, 'CONNECT with Proxy-Authorization: 405');
my $log = $srv->log_since('logs/error_log', $mark);
like($log, qr/\[proxyguard:warn\] .*\[client 127\.0\.0\.1:\d+\] PG0001: action=deny reason=connect vhost=default\.test method="CONNECT" uri="59\.124\.98\.13:25" host=""/,
     'one warn line: tag, action, reason, vhost, then the quoted request text');
my $n = () = $log =~ /PG0001/g;
is($n, 1, 'the request is logged once, under one reason');

# The access log carries PROXYGUARD, and the abuse log (env=PROXYGUARD) has
# only the hits.
$srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
$srv->stop;
my $access = $srv->slurp('logs/access_log');
like($access, qr/"CONNECT 140\.112\.65\.3:25 HTTP\/1\.0" 405 pg=connect\/deny note=connect/,
     'access log: %{PROXYGUARD}e, %{PROXYGUARD_ACTION}e and %{PROXYGUARD}n');
like($access, qr/"GET \/ HTTP\/1\.1" 200 pg=-\/- note=-/,
     'access log: a clean request has no PROXYGUARD');
my $abuse = $srv->slurp('logs/abuse_log');
my $abuse_lines = () = $abuse =~ /\n/g;
is($abuse_lines, 6, 'abuse log (env=PROXYGUARD) holds exactly the 6 CONNECTs');
unlike($abuse, qr/"GET \/ HTTP/, 'abuse log has no clean request');

done_testing;
