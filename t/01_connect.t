#!/usr/bin/perl
# CONNECT is answered 405 by the module on every vhost, with the Allow list
# it sets itself (GET, HEAD, POST, OPTIONS: pg_quick_handler), logged
# (PG0001), counted and published as PROXYGUARD=connect.
#
# A status of 405 alone proves nothing: stock httpd answers CONNECT on a
# static site with 405 and the same Allow methods (its default handler).
# So every CONNECT here must also leave the module's own trace: its log
# line, its counter, its PROXYGUARD variable; and a control server without
# the module shows where the answers differ: on a vhost whose "/" is
# closed (Require all denied) stock httpd answers 403, the module 405
# before access control runs; and where TraceEnable is off the module's
# Allow is exactly GET,HEAD,POST,OPTIONS.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $MODULE_ALLOW = 'GET,HEAD,OPTIONS,POST';         # sorted, as allow_set gives it

# Besides the standard vhosts: locked.test, whose every path is closed,
# and notrace.test with TraceEnable off.
sub extra_vhosts {
    my ($s) = @_;
    my $port = $s->port;
    my $locked = $s->docroot('locked');
    my $notrace = $s->docroot('notrace');
    return <<"VH";
<VirtualHost *:$port>
    ServerName locked.test
    DocumentRoot "$locked"
    <Location "/">
        Require all denied
    </Location>
</VirtualHost>
<VirtualHost *:$port>
    ServerName notrace.test
    DocumentRoot "$notrace"
    TraceEnable off
</VirtualHost>
VH
}

my $srv = PGTest->new(name => 'connect', conf => sub {
    $_[0]->status_location . $_[0]->standard_vhosts . extra_vhosts($_[0]);
});
$srv->start;

# One CONNECT and everything the module leaves behind: the answer, one
# PG0001 line with reason connect, the counter up by one.
sub connect_traced {
    my ($raw, $what, $vhost) = @_;
    my $mark = $srv->log_mark('logs/error_log');
    my $before = $srv->json->{hits}{connect};
    my $res = $srv->request($raw);
    is($res->{status}, 405, "$what: 405");
    my $log = $srv->log_since('logs/error_log', $mark);
    my @lines = $log =~ /(PG0001: action=deny reason=connect vhost=\Q$vhost\E .*)/g;
    is(scalar @lines, 1, "$what: one PG0001 line, reason connect, vhost $vhost")
        or diag $log;
    is($srv->json->{hits}{connect} - $before, 1, "$what: ?json hits.connect up by one");
    return $res;
}

# The real lines from operators' logs and a honeypot, verbatim.
for my $line ('CONNECT 140.112.65.3:25 HTTP/1.0',
              'CONNECT maila.microsoft.com:25 HTTP/1.0',
              'CONNECT 59.124.98.13:25 HTTP/1.0',
              'CONNECT mx0.example.com.tw:25 HTTP/1.0') {
    my $res = connect_traced("$line\r\n\r\n", $line, 'default.test');
    is(PGTest::allow_set($res->{headers}{allow}), "$MODULE_ALLOW,TRACE",
       "$line: Allow is the module's list plus httpd's TRACE ($res->{headers}{allow})");
}

# CONNECT naming our own vhost, over HTTP/1.1 with a Host: still 405.
connect_traced("CONNECT www.example.com:443 HTTP/1.1\r\nHost: www.example.com:443\r\n\r\n",
               'CONNECT to our own name over HTTP/1.1', 'www.example.com');

# Where TraceEnable is off, Allow is exactly what the module sets.
my $res = connect_traced("CONNECT notrace.test:443 HTTP/1.1\r\nHost: notrace.test:443\r\n\r\n",
                         'CONNECT to a TraceEnable off vhost', 'notrace.test');
is(PGTest::allow_set($res->{headers}{allow}), $MODULE_ALLOW,
   "TraceEnable off: Allow is exactly GET, HEAD, POST, OPTIONS ($res->{headers}{allow})");

# The module answers before access control: 405 on a closed vhost.
$res = connect_traced("CONNECT locked.test:443 HTTP/1.1\r\nHost: locked.test:443\r\n\r\n",
                      'CONNECT to a vhost closed by Require all denied', 'locked.test');
is(PGTest::allow_set($res->{headers}{allow}), "$MODULE_ALLOW,TRACE", '... with the module\'s Allow');

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

my $j = $srv->json;
is($j->{hits}{connect}, 8, '?json: 8 CONNECTs counted, nothing else');
is($j->{total}, 8, '?json: total 8');
is_deeply($j->{ports}, { 25 => 5, 443 => 3 }, '?json: their target ports');

# The access log carries PROXYGUARD, and the abuse log (env=PROXYGUARD) has
# only the hits.
$srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
$srv->stop;
my $access = $srv->slurp('logs/access_log');
like($access, qr/"CONNECT 140\.112\.65\.3:25 HTTP\/1\.0" 405 pg=connect\/deny note=connect/,
     'access log: %{PROXYGUARD}e, %{PROXYGUARD_ACTION}e and %{PROXYGUARD}n');
like($access, qr/"CONNECT locked\.test:443 HTTP\/1\.1" 405 pg=connect\/deny note=connect/,
     'access log: the closed vhost\'s CONNECT too');
like($access, qr/"GET \/ HTTP\/1\.1" 200 pg=-\/- note=-/,
     'access log: a clean request has no PROXYGUARD');
my $abuse = $srv->slurp('logs/abuse_log');
my $abuse_lines = () = $abuse =~ /\n/g;
is($abuse_lines, 8, 'abuse log (env=PROXYGUARD) holds exactly the 8 CONNECTs');
unlike($abuse, qr/"GET \//, 'abuse log has no clean request');

# The control: the same vhosts without the module.
my $stock = PGTest->new(name => 'connect-stock', load_module => 0, loglevel => 'warn',
                        conf => sub { $_[0]->standard_vhosts . extra_vhosts($_[0]) });
$stock->start;
$res = $stock->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n");
is($res->{status}, 405, 'control, no module: stock httpd answers CONNECT on a static site 405 too ...');
is(PGTest::allow_set($res->{headers}{allow}), "$MODULE_ALLOW,TRACE",
   '... with the same Allow methods: neither tells the module\'s answer from httpd\'s');
$res = $stock->request("CONNECT locked.test:443 HTTP/1.1\r\nHost: locked.test:443\r\n\r\n");
is($res->{status}, 403, 'control: on the closed vhost stock httpd answers 403 (access control), not 405');
ok(!exists $res->{headers}{allow}, 'control: ... and sends no Allow');
$stock->stop;
like($stock->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/1\.0" 405 pg=-\/- note=-/,
     'control: no PROXYGUARD without the module');
is($stock->slurp('logs/abuse_log'), '', 'control: nothing in the abuse log');

done_testing;
