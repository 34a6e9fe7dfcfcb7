#!/usr/bin/perl
# proxyguard probe --h2c: the same questions over HTTP/2 cleartext (prior
# knowledge, nghttp2), against httpd with mod_http2 (Protocols h2c
# http/1.1):
#   mod_proxy open (ProxyRequests On, mod_proxy_connect): an h2 CONNECT to
#     the canary is tunneled, proven through the stream -> CRITICAL;
#   mod_proxyguard: the h2 CONNECT is 405 and counted as connect; an h2 GET
#     naming the canary as :authority is an origin-form request with a
#     foreign Host to httpd (local: unknown-host, Detect by default), and
#     rejected under ProxyGuardUnknownHost Deny -> OK.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use PGTest;
use PGProbe;

PGProbe::bin();
my $h2 = "LoadModule http2_module $PGTest::MODULES/mod_http2.so\nProtocols h2c http/1.1\n";
my $mods = join '', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
    qw(proxy proxy_http proxy_connect);
my $open = PGTest->new(name => 'probe-h2-open', load_module => 0, loglevel => 'warn', conf => sub {
    "$h2${mods}ProxyRequests On\nAllowCONNECT 1024-65535\n";
});
my $guard = PGTest->new(name => 'probe-h2-guard', conf => sub {
    $h2 . $_[0]->status_location . $_[0]->standard_vhosts;
});
my $strict = PGTest->new(name => 'probe-h2-deny', conf => sub {
    "${h2}ProxyGuardUnknownHost Deny\n" . $_[0]->standard_vhosts;
});
$_->start for $open, $guard, $strict;
my @h2 = ('--timeout', 3, '--json', '--h2c');

# without --h2c there is no h2 probe
my $r = PGProbe::run('--timeout', 3, '--json', 'http://127.0.0.1:' . $open->port . '/');
ok(!grep({ $_->{name} =~ /^h2-/ } @{ $r->{json}{probes} }), 'without --h2c: no h2 probe');

# --- open proxy -------------------------------------------------------------
$r = PGProbe::run(@h2, 'http://127.0.0.1:' . $open->port . '/');
is($r->{exit}, 2, 'h2c, open proxy: CRITICAL') or PGProbe::show($r);
my $c = PGProbe::probe($r, 'h2-connect');
is($c->{transport}, 'h2c', 'h2-connect went over h2c');
is($c->{status}, 200, 'h2c, open proxy: h2 CONNECT answered 200');
is($c->{verdict}, 'tunneled', 'h2c, open proxy: h2 CONNECT tunneled');
ok($c->{canary_hit} && $c->{reply_back}, "h2c, open proxy: the token reached the canary and its reply came back");
my $g = PGProbe::probe($r, 'h2-get');
is($g->{status}, 200, 'h2c, open proxy: h2 GET answered 200');
is($g->{verdict}, 'local', 'h2c, open proxy: h2 GET with the canary as :authority is served locally (no absolute form in h2)');
like($open->slurp('logs/access_log'), qr/"CONNECT 127\.0\.0\.1:\d+ HTTP\/2\.0" 200/, 'httpd logged the h2 CONNECT');

# --- mod_proxyguard ---------------------------------------------------------
$r = PGProbe::run(@h2, '--address', '127.0.0.1', '--status', 'http://localhost:' . $guard->port . '/proxyguard-status',
                  'http://www.example.com:' . $guard->port . '/');
$c = PGProbe::probe($r, 'h2-connect');
is($c->{status}, 405, 'h2c, mod_proxyguard: h2 CONNECT 405');
is($c->{verdict}, 'rejected', 'h2c, mod_proxyguard: rejected');
is($c->{guard}{reason}, 'connect', 'h2c, mod_proxyguard: counted as connect');
$g = PGProbe::probe($r, 'h2-get');
is($g->{verdict}, 'local', 'h2c, mod_proxyguard: h2 GET with a foreign :authority served locally (Detect)');
is($g->{guard}{reason}, 'unknown-host', 'h2c, mod_proxyguard: ... and counted as unknown-host');
is($g->{guard}{action}, 'detect', 'h2c, mod_proxyguard: ... detect');
is($r->{exit}, 1, 'h2c, mod_proxyguard (ProxyGuardUnknownHost Detect): WARNING') or PGProbe::show($r);

$r = PGProbe::run(@h2, '--address', '127.0.0.1', 'http://www.example.com:' . $strict->port . '/');
is(PGProbe::probe($r, 'h2-get')->{verdict}, 'rejected', 'h2c, ProxyGuardUnknownHost Deny: h2 GET rejected');
is(PGProbe::probe($r, 'h2-get')->{status}, 403, 'h2c, ProxyGuardUnknownHost Deny: 403');
is($r->{exit}, 0, 'h2c, ProxyGuardUnknownHost Deny: OK') or PGProbe::show($r);

# --- a server without h2c: an error, not a verdict ----------------------------
my $plain = PGTest->new(name => 'probe-h2-none', load_module => 0, loglevel => 'warn');
$plain->start;
$r = PGProbe::run(@h2, '--only', 'get,h2-get', 'http://127.0.0.1:' . $plain->port . '/');
is(PGProbe::probe($r, 'h2-get')->{verdict}, 'error', 'no h2c on the server: h2-get is an error');
ok($r->{seconds} < 9, sprintf('no h2c on the server: over in %.2f s', $r->{seconds}));

$_->stop for $open, $guard, $strict, $plain;
done_testing;
