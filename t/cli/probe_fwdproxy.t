#!/usr/bin/perl
# proxyguard probe against a forward proxy done safely (mod_proxy with
# ProxyRequests On, guarded by ProxyGuardProxyClients 127.0.0.1):
#   from 127.0.0.2 (not a client) -> OK: every probe rejected, the canary
#     never reached, the authority tricks (own?@canary, own#@canary,
#     own\@canary, userinfo, the vhost's own name at the canary's port)
#     included -- what issue 9's fix must hold;
#   from 127.0.0.1 (a client)     -> CRITICAL: it is a proxy for that
#     client, and the output says so;
#   control: the same proxy with ProxyGuard Off -> CRITICAL from 127.0.0.2,
#     so the OK above means something.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use PGTest;
use PGProbe;

PGProbe::bin();
# the canary's ports are fixed here so that the config can name them
my $cport = PGTest::free_port();
my $cport_smtp = $cport + 1;
PGTest::free_port() for 1 .. 2;     # keep the random picks away from them
my $mods = join '', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
    qw(proxy proxy_http proxy_connect);

# ProxyGuardProxyPorts (where proxy clients' URIs may go, default 80 443)
# is set to the canary's ports when the module has it, so that the client
# run shows a real proxy at work.
sub config {
    my ($proxy_ports) = @_;
    return sub {
        my ($s) = @_;
        my ($guarded, $open) = ($s->port(0), $s->port(1));
        my $pp = $proxy_ports ? "    ProxyGuardProxyPorts $cport $cport_smtp\n" : '';
        return <<"CONF";
$mods<VirtualHost *:$guarded>
    ServerName proxy.test
    # the vhost's own names include its address: http://127.0.0.1:CANARYPORT/
    # is then "our name at a port we do not serve"
    ServerAlias 127.0.0.1
    ProxyRequests On
    AllowCONNECT 1024-65535
    ProxyGuardProxyClients 127.0.0.1 ::1
    ProxyGuardConnectPorts 443 $cport
$pp</VirtualHost>
<VirtualHost *:$open>
    ServerName open.test
    ProxyRequests On
    AllowCONNECT 1024-65535
    ProxyGuard Off
</VirtualHost>
CONF
    };
}

my $srv = PGTest->new(name => 'probe-fwd', ports => 2, conf => config(1));
my ($rc, $out) = $srv->configtest;
if ($rc && $out =~ /Invalid command 'ProxyGuardProxyPorts'/) {
    $srv = PGTest->new(name => 'probe-fwd', ports => 2, conf => config(0));
    note('this module has no ProxyGuardProxyPorts yet');
}
$srv->start;
my ($guarded, $open) = ($srv->port(0), $srv->port(1));
my @common = ('--timeout', 3, '--json', '--canary', "127.0.0.1:$cport");

# --- not a client: OK, the canary never reached ---------------------------
for my $case ([ "http://proxy.test:$guarded/", 'by name' ], [ "http://127.0.0.1:$guarded/", 'by address' ]) {
    my ($url, $how) = @$case;
    my $mark = $srv->log_mark('logs/error_log');
    my $r = PGProbe::run(@common, '--source', '127.0.0.2', '--address', '127.0.0.1', $url);
    my $j = $r->{json};
    is($j->{source}, '127.0.0.2', "non-client ($how): the probes come from 127.0.0.2");
    is($r->{exit}, 0, "non-client ($how): exit 0 (OK)") or PGProbe::show($r);
    is($j->{verdict}, 'ok', "non-client ($how): verdict ok");
    # report exactly which probe got through, if one did
    for my $p (@{ $j->{probes} }) {
        is($p->{verdict}, 'rejected', "non-client ($how): $p->{name} rejected ($p->{status})")
            or diag("$p->{request}\n-> $p->{verdict}: " . ($p->{note} // '') . "\ncanary got: "
                    . ($p->{canary_got} // '-'));
        ok(!$p->{canary_hit}, "non-client ($how): $p->{name}: the canary saw nothing");
    }
    my @names = map { $_->{name} } @{ $j->{probes} };
    for my $trick (qw(userinfo authority-query authority-fragment authority-backslash)) {
        ok((grep { $_ eq $trick } @names), "non-client ($how): the authority trick $trick was tried");
    }
    if ($how eq 'by address') {
        ok((grep { $_ eq 'own-name-port' } @names),
           "non-client ($how): own-name-port (http://127.0.0.1:CANARYPORT/, a name of the vhost) was tried");
    }
    like($j->{probes}[0]{request}, qr{^GET http://127\.0\.0\.1:$cport/}, "non-client ($how): --canary names the canary");
    unlike($srv->log_since('logs/error_log', $mark), qr/AH01114|AH00957|proxy: HTTP: attempt to connect/,
           "non-client ($how): mod_proxy never tried to connect anywhere");
}

# --- a proxy client: CRITICAL, and the output says for whom ------------------
{
    my $r = PGProbe::run(@common, '--source', '127.0.0.1', '--address', '127.0.0.1',
                         "http://proxy.test:$guarded/");
    my $j = $r->{json};
    is($r->{exit}, 2, 'proxy client 127.0.0.1: exit 2 (CRITICAL)') or PGProbe::show($r);
    like($j->{summary}, qr/^OPEN PROXY for this client \(127\.0\.0\.1\)/, 'proxy client: the summary names the client');
    is(PGProbe::probe($r, 'get')->{verdict}, 'proxied', 'proxy client: get proxied (it is a proxy for this client)');
    is(PGProbe::probe($r, 'connect')->{verdict}, 'tunneled', 'proxy client: CONNECT to a port in ProxyGuardConnectPorts tunneled');
    my $smtp = PGProbe::probe($r, 'connect-smtp');
    is($smtp->{verdict}, 'rejected', 'proxy client: CONNECT to a port not in ProxyGuardConnectPorts rejected');
    is($smtp->{status}, 403, 'proxy client: ... with 403 (connect-port)');
    ok(!$smtp->{canary_hit}, 'proxy client: ... and the SMTP-like canary saw nothing');
    $r = PGProbe::run('--timeout', 3, '--canary', "127.0.0.1:$cport", '--address', '127.0.0.1',
                      "http://proxy.test:$guarded/");
    like($r->{out}, qr/\nCRITICAL - OPEN PROXY for this client \(127\.0\.0\.1\), proven by the canary/,
         'proxy client, table: CRITICAL, for this client');
}

# --- control: the same proxy unguarded is open to 127.0.0.2 --------------
{
    my $r = PGProbe::run(@common, '--source', '127.0.0.2', "http://127.0.0.1:$open/");
    is($r->{exit}, 2, 'control, ProxyGuard Off: CRITICAL from 127.0.0.2') or PGProbe::show($r);
    is(PGProbe::probe($r, 'get')->{verdict}, 'proxied', 'control: get proxied');
    is(PGProbe::probe($r, 'connect-smtp')->{verdict}, 'tunneled', 'control: connect-smtp tunneled');
}

$srv->stop;
done_testing;
