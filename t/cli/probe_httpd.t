#!/usr/bin/perl
# proxyguard probe against real httpd on loopback, three ways:
#   stock httpd              -> WARNING: it serves its home page for foreign
#                               absolute URIs (local), proxies nothing
#   mod_proxy, ProxyRequests On, mod_proxy_connect, AllowCONNECT
#                            -> CRITICAL, proven by the canary: proxied and
#                               tunneled (HTTPS-style and SMTP-style)
#   mod_proxyguard           -> OK, and --status shows what it counted
# plus the three output forms and several targets in one run.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use JSON::PP;
use Test::More;
use PGTest;
use PGProbe;

PGProbe::bin();
my $proxy_mods = join '', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
    qw(proxy proxy_http proxy_connect proxy_ftp);

my $stock = PGTest->new(name => 'probe-stock', load_module => 0, loglevel => 'warn');
my $open = PGTest->new(name => 'probe-open', load_module => 0, loglevel => 'warn', conf => sub {
    "${proxy_mods}ProxyRequests On\nAllowCONNECT 1024-65535\n";
});
my $guard = PGTest->new(name => 'probe-guard', conf => sub {
    $_[0]->status_location . $_[0]->standard_vhosts;
});
my $unsafe = PGTest->new(name => 'probe-guard-unsafe', conf => sub {
    "HttpProtocolOptions Unsafe\n" . $_[0]->status_location . $_[0]->standard_vhosts;
});
$_->start for $stock, $open, $guard, $unsafe;
my $url = sub { 'http://127.0.0.1:' . $_[0]->port . '/' };
my @common = ('--timeout', 3);

# --- stock httpd: WARNING, nothing proxied -----------------------------
my $r = PGProbe::run(@common, '--json', $url->($stock));
is($r->{exit}, 1, 'stock httpd: exit 1 (WARNING)') or PGProbe::show($r);
my $j = $r->{json};
ok($j, 'stock: --json parses') or diag $r->{json_error};
is($j->{verdict}, 'warning', 'stock: verdict warning');
is($j->{exit}, 1, 'stock: "exit" says 1');
is($j->{target}, $url->($stock), 'stock: "target" is the URL');
like($j->{canary}{address}, qr/^127\.0\.0\.1:\d+$/, 'stock: the canary listens on our address to it');
ok(@{ $j->{probes} } >= 18, 'stock: the whole matrix ran (' . scalar(@{ $j->{probes} }) . ' probes)');
for my $p (@{ $j->{probes} }) {
    my @missing = grep { !exists $p->{$_} } qw(name request status verdict canary_hit);
    ok(!@missing, "stock: probe $p->{name} has every contract field") or diag "@missing";
    like($p->{verdict}, qr/^(rejected|local|proxied|tunneled|suspect|error)$/, "stock: $p->{name}: a contract verdict");
}
is_deeply([ PGProbe::with_verdict($r, 'proxied', 'tunneled', 'suspect', 'error') ], [],
          'stock: nothing proxied, tunneled, suspect or failed');
ok(!grep({ $_->{canary_hit} } @{ $j->{probes} }), 'stock: the canary was never hit');
is_deeply([ map { $_->{name} } grep { $_->{echo} || $_->{stray_from} } @{ $j->{probes} } ], [],
          'stock: no reply taken for an echo, no stray token');
for my $name (qw(get head post host-mismatch http10-no-host mixed-case-scheme leading-crlf)) {
    is(PGProbe::probe($r, $name)->{verdict}, 'local', "stock: $name answered with its own home page (local)");
}
is(PGProbe::probe($r, 'get')->{status}, 200, 'stock: GET http://canary/ is 200');
is(PGProbe::probe($r, 'connect')->{verdict}, 'rejected', 'stock: CONNECT rejected');
is(PGProbe::probe($r, 'connect')->{status}, 405, 'stock: ... with 405');
like(PGProbe::probe($r, 'get')->{request}, qr{^GET http://127\.0\.0\.1:\d+/\?proxyguard=pgc[0-9a-f]{10}n00 HTTP/1\.1$},
     'stock: the request names the canary and carries the token');
is(scalar(@{ $j->{baseline} }), 3, 'stock: three baseline requests');
is($j->{baseline}[0]{status}, 200, 'stock: baseline GET / 200');

# the table: escaped, with the verdict line last
$r = PGProbe::run(@common, $url->($stock));
is($r->{exit}, 1, 'stock, table: exit 1');
like($r->{out}, qr/^get\s+200\s+local\s/m, 'stock, table: get 200 local');
like($r->{out}, qr/\\x0d\\x0aGET http:/, 'stock, table: the leading CRLF shown escaped');
like($r->{out}, qr/\nWARNING - not a proxy, but \d+ probe\(s\) answered 2xx .*scanners will list it/,
     'stock, table: the WARNING line says why');
unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'stock, table: no raw control byte in the output');

# the plugin line
$r = PGProbe::run(@common, '--plugin', $url->($stock));
is($r->{exit}, 1, 'stock, --plugin: exit 1');
like($r->{out}, qr/\APROXYGUARD WARNING - \S+: not a proxy, .* \| probes=\d+ rejected=\d+ local=\d+ proxied=0 tunneled=0 suspect=0 error=0 time=[\d.]+s\n\z/,
     'stock, --plugin: one status line with performance data');

# --- an open forward proxy: CRITICAL, proven -----------------------------
$r = PGProbe::run(@common, '--json', $url->($open));
is($r->{exit}, 2, 'open proxy: exit 2 (CRITICAL)') or PGProbe::show($r);
$j = $r->{json};
is($j->{verdict}, 'critical', 'open proxy: verdict critical');
for my $name (qw(get head post host-mismatch http10-no-host mixed-case-scheme leading-crlf post-smtp ftp)) {
    my $p = PGProbe::probe($r, $name);
    is($p->{verdict}, 'proxied', "open proxy: $name proxied");
    ok($p->{canary_hit}, "open proxy: $name: canary_hit");
    like($p->{canary_got} // '', qr/\Q$p->{token}\E/, "open proxy: $name: the canary got its own token");
}
like(PGProbe::probe($r, 'ftp')->{canary_got}, qr/^CWD pgc/, 'open proxy: ftp: mod_proxy_ftp logged in to the canary and sent CWD token');
like(PGProbe::probe($r, 'post-smtp')->{canary_got}, qr/pgc/, 'open proxy: post-smtp reached the SMTP-like listener');
for my $name (qw(connect connect-smtp)) {
    my $p = PGProbe::probe($r, $name);
    is($p->{verdict}, 'tunneled', "open proxy: $name tunneled");
    is($p->{status}, 200, "open proxy: $name answered 200");
    ok($p->{tunnel} && $p->{canary_hit}, "open proxy: $name: bytes through the tunnel reached the canary");
}
ok(PGProbe::probe($r, 'connect-smtp')->{banner_back}, "open proxy: connect-smtp: the canary's SMTP banner came back through the tunnel");
like(PGProbe::probe($r, 'connect-smtp')->{canary_got}, qr/^EHLO pgc/, 'open proxy: connect-smtp: EHLO token reached the canary');
ok(PGProbe::probe($r, 'connect')->{reply_back}, "open proxy: connect: the canary's reply came back through the tunnel");
for my $name (qw(connect connect-smtp)) {
    like(PGProbe::probe($r, $name)->{note}, qr/came back through it, with this probe's proof/,
         "open proxy: $name: what came back carried this probe's proof");
}
is_deeply([ map { $_->{name} } grep { $_->{echo} } @{ $j->{probes} } ], [],
          'open proxy: a relayed canary answer is not an echo');
like($j->{summary}, qr/^OPEN PROXY for this client \(127\.0\.0\.1\)/, 'open proxy: the summary says for which client');
# the access log agrees: the canary's address in the absolute URIs
like($open->slurp('logs/access_log'), qr{"GET http://127\.0\.0\.1:\d+/\?proxyguard=pgc}, 'open proxy: httpd logged the probe');

$r = PGProbe::run(@common, '--plugin', $url->($open));
is($r->{exit}, 2, 'open proxy, --plugin: exit 2');
like($r->{out}, qr/\APROXYGUARD CRITICAL - \S+: OPEN PROXY for this client \(127\.0\.0\.1\).* \| probes=\d+ .*proxied=[1-9]\d* tunneled=[1-9]/,
     'open proxy, --plugin: CRITICAL with proxied and tunneled counts');

$r = PGProbe::run(@common, $url->($open));
like($r->{out}, qr/^connect-smtp\s+200\s+tunneled\s+token\s/m, 'open proxy, table: connect-smtp tunneled, by token');
like($r->{out}, qr/canary got: EHLO pgc/, 'open proxy, table: shows what the canary got');
like($r->{out}, qr/\nCRITICAL - OPEN PROXY/, 'open proxy, table: CRITICAL line');

# --- mod_proxyguard: OK, and what it counted -----------------------------
sub guard_run {
    my ($srv, $host) = @_;
    my $port = $srv->port;
    # by name, as a client would, so the baseline's own Host is a vhost
    return PGProbe::run(@common, '--json', '--address', '127.0.0.1',
                        '--status', "http://$host:$port/proxyguard-status",
                        "http://www.example.com:$port/");
}

for my $case ([ $unsafe, 'HttpProtocolOptions Unsafe' ], [ $guard, 'default protocol options' ]) {
    my ($srv, $what) = @$case;
    my $before = $srv->status('json')->{json};
    my $mark = $srv->log_mark('logs/access_log');
    $r = guard_run($srv, 'localhost');
    is($r->{exit}, 0, "mod_proxyguard ($what): exit 0 (OK)") or PGProbe::show($r);
    $j = $r->{json};
    is($j->{verdict}, 'ok', "mod_proxyguard ($what): verdict ok");
    is_deeply([ PGProbe::with_verdict($r, qw(local proxied tunneled suspect error)) ], [],
              "mod_proxyguard ($what): every probe rejected");
    my $g = $j->{guard} || {};
    is($g->{error}, undef, "mod_proxyguard ($what): --status read the page") or diag explain $g;
    is($g->{unattributed}, 0, "mod_proxyguard ($what): every hit of the run is one of our requests");
    # a request the status handler answers is no hit (issue 18), even by
    # a Host that is none of the vhosts' names
    is($g->{status_requests}, 0, "mod_proxyguard ($what): ... the status page's own read (Host localhost) not counted");
    # every probe that reached the module was counted; the others were
    # refused by httpd itself (400) before any module ran
    my @not_seen = @{ $g->{probes_not_seen} || [] };
    my @counted = grep { $_->{guard} } @{ $j->{probes} };
    is($g->{probes_counted}, scalar(@counted), "mod_proxyguard ($what): probes_counted matches the probes");
    is($g->{probes_counted} + @not_seen, scalar(@{ $j->{probes} }), "mod_proxyguard ($what): counted + not seen = all");
    for my $name (@not_seen) {
        is(PGProbe::probe($r, $name)->{status}, 400, "mod_proxyguard ($what): $name not counted: httpd answered 400 itself");
    }
    my $log = $srv->log_since('logs/access_log', $mark);
    for my $p (@{ $j->{probes} }) {
        next unless $p->{guard};
        my $reason = $p->{guard}{reason};
        like($reason, $p->{name} =~ /^connect/ ? qr/^connect$/ : qr/^absolute-uri$/,
             "mod_proxyguard ($what): $p->{name} counted as $reason");
        is($p->{guard}{action}, 'deny', "mod_proxyguard ($what): $p->{name}: deny");
    }
    # the counts by reason agree with the page itself
    my $after = $srv->status('json')->{json};
    for my $reason (qw(connect absolute-uri)) {
        my $n = grep { $_->{guard} && $_->{guard}{reason} eq $reason } @{ $j->{probes} };
        is($g->{counted}{$reason}, $n, "mod_proxyguard ($what): counted.$reason = $n, one per probe");
        # our own status read after the run is one more request, never a
        # connect or absolute-uri hit
        is($after->{hits}{$reason} - $before->{hits}{$reason}, $n,
           "mod_proxyguard ($what): the page's own $reason total grew by exactly $n");
    }
    if ($what =~ /Unsafe/) {
        # only a method httpd itself cannot parse with an authority-form
        # target stays unseen once the core's strict checks are off
        is_deeply([ sort @not_seen ], [ 'connect-mixed-case' ],
                  'mod_proxyguard (Unsafe): all but connect-mixed-case reached the module and were counted');
        for my $name (qw(userinfo authority-query authority-fragment authority-backslash)) {
            is(PGProbe::probe($r, $name)->{guard}{reason}, 'absolute-uri',
               "mod_proxyguard (Unsafe): authority trick $name counted as absolute-uri");
        }
    }
    $r = PGProbe::run(@common, '--address', '127.0.0.1', '--status',
                      'http://localhost:' . $srv->port . '/proxyguard-status',
                      'http://www.example.com:' . $srv->port . '/');
    like($r->{out}, qr/^mod_proxyguard \(http:\/\/localhost:\d+\/proxyguard-status\): counted \d+ of \d+ probes; hits during the run: \d+ connect, \d+ absolute-uri/m,
         "mod_proxyguard ($what), table: the module's account");
    like($r->{out}, qr/\nOK - not an open proxy for this client \(127\.0\.0\.1\): all \d+ probes rejected/,
         "mod_proxyguard ($what), table: OK line");
}

# --status elsewhere than the target is refused (we talk to nobody else)
$r = PGProbe::run(@common, '--json', '--status', 'http://127.0.0.2:' . $guard->port . '/proxyguard-status',
                  $url->($guard));
like($r->{json}{guard}{error}, qr/not on the target's address/, '--status on another address: refused, not fetched');

# --- several targets: one JSON line each, the worst exit ---------------
$r = PGProbe::run(@common, '--json', $url->($guard), $url->($stock), $url->($open));
is($r->{exit}, 2, 'three targets: exit is the worst (CRITICAL)');
is(scalar(@{ $r->{jsons} }), 3, 'three targets: three JSON lines');
is_deeply([ map { $_->{verdict} } @{ $r->{jsons} } ], [qw(ok warning critical)], 'three targets: each its own verdict');
$r = PGProbe::run(@common, '--plugin', $url->($guard), $url->($stock));
is($r->{exit}, 1, 'guard + stock: WARNING wins over OK');
like($r->{out}, qr/\APROXYGUARD WARNING - [^\n]*; [^\n]* \| probes=\d+/, 'guard + stock, --plugin: one line, both targets');

$_->stop for $stock, $open, $guard, $unsafe;
done_testing;
