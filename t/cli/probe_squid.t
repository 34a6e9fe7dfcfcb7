#!/usr/bin/perl
# proxyguard probe against Squid (Debian's squid), a real third-party
# forward proxy, on loopback:
#   http_access allow all       -> CRITICAL: proxied and tunneled
#   Debian's default rules      -> what it honestly is: a proxy for
#     localhost (127.0.0.1: CRITICAL, proxied, but CONNECT only to 443, so
#     nothing tunneled), and closed to everyone else (127.0.0.2: OK)
# Squid's own access log agrees with each verdict.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use PGTest;
use PGProbe;
use PGSquid;

PGProbe::bin();
unless (PGSquid::available()) {
    plan skip_all => 'squid not installed (./tools/deps.sh squid)' unless $ENV{PG_REQUIRE_TOOLS};
    fail('squid is required (PG_REQUIRE_TOOLS=1): ./tools/deps.sh squid');
    done_testing;
    exit;
}

my @common = ('--timeout', 3, '--json');

# --- http_access allow all -------------------------------------------------
{
    my $sq = PGSquid->new(access => 'allow all')->start;
    my $url = 'http://127.0.0.1:' . $sq->port . '/';
    my $r = PGProbe::run(@common, '--source', '127.0.0.2', $url);
    is($r->{exit}, 2, 'squid, allow all: exit 2 (CRITICAL)') or PGProbe::show($r);
    is($r->{json}{verdict}, 'critical', 'squid, allow all: verdict critical');
    for my $name (qw(get head post host-mismatch http10-no-host userinfo post-smtp)) {
        my $p = PGProbe::probe($r, $name);
        is($p->{verdict}, 'proxied', "squid, allow all: $name proxied");
        like($p->{canary_got} // '', qr/\Q$p->{token}\E/, "squid, allow all: $name: the canary got its token");
    }
    for my $name (qw(connect connect-smtp)) {
        is(PGProbe::probe($r, $name)->{verdict}, 'tunneled', "squid, allow all: $name tunneled");
    }
    ok(PGProbe::probe($r, 'connect-smtp')->{banner_back}, "squid, allow all: the canary's banner came back through the tunnel");
    like(PGProbe::probe($r, 'connect-smtp')->{note}, qr/banner came back through it, with this probe's proof/,
         "squid, allow all: ... carrying this probe's proof");
    # Squid tries TLS to the canary for https:// URLs: the handshake is the proof
    my $https = PGProbe::probe($r, 'https');
    is($https->{verdict}, 'proxied', 'squid, allow all: https proxied (Squid opened TLS to the canary)');
    is($https->{evidence}, 'tls', 'squid, allow all: ... proven by the TLS handshake in its window');
    my $log = $sq->access_log;
    like($log, qr{^\S+\s+\d+ 127\.0\.0\.2 TCP_MISS/200 \d+ GET http://127\.0\.0\.2:\d+/}m,
         'squid access log: it fetched the canary for 127.0.0.2');
    like($log, qr{TCP_TUNNEL/200 \d+ CONNECT 127\.0\.0\.2:\d+}, 'squid access log: and tunneled to it');
    $sq->stop;
}

# --- Debian's default configuration ---------------------------------------
{
    my $sq = PGSquid->new(access => 'default')->start;
    like($sq->config_text, qr/^http_access deny CONNECT !SSL_ports$/m, 'default config: Debian\'s rules are in it');
    like($sq->config_text, qr/^http_access allow localhost$/m, 'default config: ... allow localhost');
    my $url = 'http://127.0.0.1:' . $sq->port . '/';

    my $r = PGProbe::run(@common, '--source', '127.0.0.1', $url);
    is($r->{exit}, 2, 'squid, default, from 127.0.0.1 (localhost): CRITICAL, a proxy for localhost')
        or PGProbe::show($r);
    is(PGProbe::probe($r, 'get')->{verdict}, 'proxied', 'squid, default, localhost: get proxied');
    is(PGProbe::probe($r, 'post-smtp')->{verdict}, 'proxied',
       'squid, default, localhost: POST to the SMTP-like port proxied (Safe_ports has 1025-65535)');
    for my $name (qw(connect connect-smtp)) {
        my $p = PGProbe::probe($r, $name);
        is($p->{verdict}, 'rejected', "squid, default, localhost: $name rejected (CONNECT only to SSL_ports)");
        is($p->{status}, 403, "squid, default, localhost: $name 403");
    }
    like($r->{json}{summary}, qr/^OPEN PROXY for this client \(127\.0\.0\.1\), proven by the canary: \d+ proxied, 0 tunneled/,
         'squid, default, localhost: proxied, nothing tunneled');

    $r = PGProbe::run(@common, '--source', '127.0.0.2', $url);
    is($r->{exit}, 0, 'squid, default, from 127.0.0.2 (not localhost): OK') or PGProbe::show($r);
    is_deeply([ PGProbe::with_verdict($r, qw(local proxied tunneled suspect error)) ], [],
              'squid, default, 127.0.0.2: every probe rejected');
    ok(!grep({ $_->{canary_hit} } @{ $r->{json}{probes} }), 'squid, default, 127.0.0.2: the canary saw nothing');
    # Squid's error pages quote the URL they refuse, token and all: that is
    # no echo (only a 2xx repeating it would be)
    is_deeply([ map { $_->{name} } grep { $_->{echo} } @{ $r->{json}{probes} } ], [],
              'squid, default, 127.0.0.2: its 403 pages are not taken for echoes');
    like($sq->access_log, qr{ 127\.0\.0\.2 TCP_DENIED/403 \d+ GET http://127\.0\.0\.2:}, 'squid access log: denied 127.0.0.2');
    $sq->stop;
}

done_testing;
