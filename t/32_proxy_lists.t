#!/usr/bin/perl
# ProxyGuardProxyClients, ProxyGuardConnectPorts and ProxyGuardProxyPorts:
# the defaults (CONNECT to 443 only; URLs to 80 and 443 only), ranges, and
# a vhost's own lists replacing the main server's (not adding to them), so
# that one vhost can be stricter.  Every refused request is counted under
# its reason, CONNECT target ports included; every allowed one passes the
# module without a trace (no log line, no count).
#
# No mod_proxy is loaded: what passes the module is answered by httpd
# itself (405 for CONNECT, the default site for an absolute URI), so a
# CONNECT's fate is read from the module's trace, not from its status.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# port 0: the standard vhosts, inheriting the main server's lists;
# port 1: strict.test, with lists of its own
my $srv = PGTest->new(name => 'proxylists', ports => 2, conf => sub {
    my ($s) = @_;
    my $port = $s->port(1);
    my $root = $s->docroot('strict');
    return "ProxyGuardProxyClients 127.0.0.21 127.0.0.22\n"
         . $s->status_location
         . "<VirtualHost *:$port>\n    ServerName strict.test\n    DocumentRoot \"$root\"\n"
         . "    ProxyGuardProxyClients 127.0.0.23\n"
         . "    ProxyGuardConnectPorts 8443 9000-9010\n"
         . "    ProxyGuardProxyPorts 8080\n</VirtualHost>\n"
         . $s->standard_vhosts;
});
$srv->start;

# (what, port index, from, request, reason or '' for a pass, status)
my @cases = (
    # the main server's lists, inherited: clients .21 and .22, the defaults
    [ 'default ConnectPorts: 443 allowed', 0, '127.0.0.21', 'CONNECT a.example.net:443', '', 405 ],
    [ 'default ConnectPorts: 25 refused', 0, '127.0.0.21', 'CONNECT a.example.net:25', 'connect-port', 403 ],
    [ 'default ConnectPorts: 8443 refused', 0, '127.0.0.22', 'CONNECT a.example.net:8443', 'connect-port', 403 ],
    [ 'not a proxy client of the main server: CONNECT', 0, '127.0.0.23', 'CONNECT a.example.net:443', 'connect', 405 ],
    [ 'default ProxyPorts: 80 allowed', 0, '127.0.0.21', 'GET http://a.example.net/', '', 200 ],
    [ 'default ProxyPorts: 443 allowed', 0, '127.0.0.21', 'GET http://a.example.net:443/', '', 200 ],
    [ 'default ProxyPorts: 25 refused', 0, '127.0.0.21', 'GET http://a.example.net:25/', 'proxy-port', 403 ],
    [ 'not a proxy client of the main server: URL', 0, '127.0.0.23', 'GET http://a.example.net/', 'absolute-uri', 403 ],
    # strict.test: its own lists replace the main server's
    [ 'vhost ProxyClients replace: .21 is no client there', 1, '127.0.0.21', 'CONNECT a.example.net:443', 'connect', 405 ],
    [ 'vhost ProxyClients replace: .21\'s URL is refused', 1, '127.0.0.21', 'GET http://a.example.net:8080/', 'absolute-uri', 403 ],
    [ 'vhost ConnectPorts: 8443 allowed', 1, '127.0.0.23', 'CONNECT a.example.net:8443', '', 405 ],
    [ 'vhost ConnectPorts: a range, 9005 allowed', 1, '127.0.0.23', 'CONNECT a.example.net:9005', '', 405 ],
    [ 'vhost ConnectPorts: 9011 is outside the range', 1, '127.0.0.23', 'CONNECT a.example.net:9011', 'connect-port', 403 ],
    [ 'vhost ConnectPorts replace: 443 refused there', 1, '127.0.0.23', 'CONNECT a.example.net:443', 'connect-port', 403 ],
    [ 'vhost ProxyPorts: 8080 allowed', 1, '127.0.0.23', 'GET http://a.example.net:8080/', '', 200 ],
    [ 'vhost ProxyPorts replace: 80 refused there', 1, '127.0.0.23', 'GET http://a.example.net/', 'proxy-port', 403 ],
);
my (%want_hits, %want_ports);
for my $case (@cases) {
    my ($what, $port, $from, $line, $reason, $status) = @$case;
    my ($host) = $line =~ m{^(?:CONNECT |GET http://)([^/ ]+)};
    my $before = $srv->json->{total};
    my $mark = $srv->log_mark('logs/error_log');
    my $res = $srv->request("$line HTTP/1.1\r\nHost: $host\r\n\r\n", port => $port, from => $from);
    is($res->{status}, $status, "$what: $status");
    my $log = $srv->log_since('logs/error_log', $mark);
    if ($reason) {
        is($srv->json->{total} - $before, 1, "$what: counted");
        like($log, qr/\[client \Q$from\E:\d+\] PG0001: action=deny reason=\Q$reason\E /, "$what: logged as $reason");
        $want_hits{$reason}++;
        $want_ports{$1}++ if $line =~ /^CONNECT \S+:(\d+)$/;
    }
    else {
        is($srv->json->{total} - $before, 0, "$what: not counted");
        unlike($log, qr/PG0001/, "$what: not logged");
        my $site = $port ? 'strict' : 'default0';
        like($res->{body}, qr/^site:$site$/m, "$what: served by the port's default site ($site)") if $status == 200;
    }
}

my $j = $srv->json;
is_deeply({ map { ($_ => $j->{hits}{$_}) } grep { $j->{hits}{$_} } keys %{ $j->{hits} } }, \%want_hits,
          '?json: hits by reason (' . join(', ', map { "$_ $want_hits{$_}" } sort keys %want_hits) . ')');
is_deeply($j->{ports}, \%want_ports,
          '?json: CONNECT target ports of every CONNECT hit, connect-port ones included');
my %prom = $srv->status('prometheus')->{body} =~ /^proxyguard_connect_port_hits_total\{port="(\w+)"\} (\d+)$/mg;
# the mail ports' series are always there (their rows are reserved), 0 if never hit
is_deeply(\%prom, { 25 => 0, 465 => 0, 587 => 0, %want_ports, other => 0 },
          '?prometheus: the same ports, and the mail ports');
$srv->stop;
unlike($srv->slurp('logs/error_log'), qr/PG0005/, 'no mail port allowed, no PG0005 warning');

done_testing;
