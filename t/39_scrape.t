#!/usr/bin/perl
# Scraping by address (issue 18, 2): Prometheus sends Host: 127.0.0.1:PORT,
# which names no vhost of a <VirtualHost *:PORT> server.  A request the
# proxyguard-status handler answers, for a client its access rules admit,
# is never counted or refused, under every ProxyGuardUnknownHost mode; a
# stranger's by-address request elsewhere still is; a by-address request
# for the status page from a client the access rules refuse gets their
# 403 (and is counted: the handler did not take it).
#
# A real Prometheus (Debian's prometheus) scrapes with the scrape config
# of docs/status.md, taken from the document, under Detect and Deny.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use Time::HiRes qw(time sleep);
use PGTest;
use PGHttp;
use PGPrometheus;

if (!PGPrometheus::installed()) {
    fail('prometheus is installed') if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => 'prometheus not installed (make test installs it)';
}
my $have_node = `command -v node 2>/dev/null` ? 1 : 0;
fail('node is installed (HTTP/2 scrape)') if !$have_node && $ENV{PG_REQUIRE_TOOLS};

# The scrape config exactly as docs/status.md documents it.
my $scrape_doc = eval { PGPrometheus::doc_scrape_config() } or BAIL_OUT($@);
like($scrape_doc, qr/targets: \["127\.0\.0\.1:80"\]/, 'docs/status.md scrapes by address (127.0.0.1:80)');

# Default-style: the first <VirtualHost *:PORT> answers every Host, and
# the status page admits 127.0.0.1 only (Require local would admit every
# 127.x address, which this test's strangers come from).
sub server {
    my ($mode, $extra) = @_;
    my $srv = PGTest->new(name => "scrape-" . lc $mode, conf => sub {
        my ($s) = @_;
        my $port = $s->port;
        my $h2 = PGTest::mpm() eq 'prefork' ? ''
               : "LoadModule http2_module $PGTest::MODULES/mod_http2.so\nProtocols h2c http/1.1\n";
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n$h2"
        . "ProxyGuardBan 3 60 600\n" . ($extra // '')
        . "<VirtualHost *:$port>\n    ServerName default.test\n"
        . "    ProxyGuardUnknownHost $mode\n"
        . "    <Location \"/proxyguard-status\">\n        SetHandler proxyguard-status\n"
        . "        Require ip 127.0.0.1\n    </Location>\n</VirtualHost>\n";
    });
    $srv->start;
    return $srv;
}

sub unknown_hosts { ($_[0]->json->{hits} || {})->{'unknown-host'} }

sub by_address {
    my ($srv, $path, $from, %h) = @_;
    my $port = $srv->port;
    my $extra = join '', map { "$_: $h{$_}\r\n" } sort keys %h;
    return $srv->request("GET $path HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n${extra}Connection: close\r\n\r\n",
                         from => $from);
}

sub pg0001 { my @l = $_[0]->slurp('logs/error_log') =~ /PG0001: .*/g; scalar @l }

for my $mode (qw(Detect Deny)) {
    my $srv = server($mode);
    my $port = $srv->port;
    # short, but not so short that a loaded machine times the scrapes out
    my $prom = PGPrometheus->start(config => PGPrometheus::scrape_config($port), interval => '2s');
    my $up = PGPrometheus::poll(sub {
        my ($target) = @{ $prom->targets('proxyguard') };
        return $target && $target->{health} eq 'up' ? $target : undef;
    });
    ok($up, "$mode: Prometheus's target is up")
        or diag explain($prom->targets('proxyguard')), $prom->log_text;
    is($up && $up->{scrapeUrl}, "http://127.0.0.1:$port/proxyguard-status?prometheus=",
       "$mode: ... scraped by address, as documented");
    my $samples = PGPrometheus::poll(sub {
        my $q = $prom->query('count_over_time(proxyguard_bans_capacity[5m])');
        my $n = $q->{data}{result}[0]{value}[1] // 0;
        return $n >= 3 ? $n : undef;
    });
    ok($samples, "$mode: /api/v1/query has proxyguard_bans_capacity from 3 scrapes or more ("
                 . ($samples // 0) . ')')
        or diag explain($prom->targets('proxyguard'));
    $prom->stop;
    my $log = $srv->slurp('logs/access_log');
    my @scrapes = $log =~ m{^127\.0\.0\.1 "GET /proxyguard-status\?prometheus= HTTP/1\.1" (\d+) pg=(\S+) .*$}mg;
    ok(@scrapes >= 6, "$mode: the scrapes are in the access log (" . @scrapes / 2 . ')')
        or diag $prom->log_text;
    my %seen;
    while (my ($st, $pg) = splice @scrapes, 0, 2) { $seen{"$st $pg"}++ }
    is_deeply([ keys %seen ], [ '200 -/-' ], "$mode: every scrape answered 200, PROXYGUARD unset");
    is(unknown_hosts($srv), 0, "$mode: no scrape counted as unknown-host");
    is(pg0001($srv), 0, "$mode: no PG0001 line for the scrapes");
    ok(!@{ $srv->json->{bans} || [] }, "$mode: nobody banned by the scrapes (ProxyGuardBan 3)");

    # by address, kept alive: the status page, another URL, the page again
    my $c = PGHttp::Conn->new($port, '127.0.0.1');
    my $get = sub { $c->request("GET $_[0] HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n")->{status} };
    is($get->('/proxyguard-status?auto'), 200, "$mode, kept alive: the status page by address: 200");
    is($get->('/'), $mode eq 'Deny' ? 403 : 200, "$mode, kept alive: / by address: "
                                                . ($mode eq 'Deny' ? 'refused' : 'served'));
    is($get->('/proxyguard-status?auto'), 200, "$mode, kept alive: the status page again (decision remembered): 200");
    is($c->{reconnects}, 0, "$mode, kept alive: one connection");
    $c->close;
    is(unknown_hosts($srv), 1, "$mode, kept alive: only / counted");

    # a stranger by address elsewhere: counted (Detect), refused (Deny)
    my $res = by_address($srv, '/', '127.0.0.9');
    is($res->{status}, $mode eq 'Deny' ? 403 : 200, "$mode: a stranger's / by address: "
                                                   . ($mode eq 'Deny' ? '403' : '200'));
    is(unknown_hosts($srv), 2, "$mode: ... counted as unknown-host");
    like($srv->slurp('logs/error_log'),
         qr/\[client 127\.0\.0\.9:\d+\] PG0001: action=\Q@{[ $mode eq 'Deny' ? 'deny' : 'detect' ]}\E reason=unknown-host .*host="127\.0\.0\.1:$port"/,
         "$mode: ... and logged (PG0001)");
    like($srv->slurp('logs/access_log'),
         qr/^127\.0\.0\.9 "GET \/ HTTP\/1\.1" \d+ pg=unknown-host\/\Q@{[ $mode eq 'Deny' ? 'deny' : 'detect' ]}\E /m,
         "$mode: ... with PROXYGUARD in the access log");

    # the status page by address, from a client the access rules refuse
    my $mark = $srv->log_mark('logs/error_log');
    $res = by_address($srv, '/proxyguard-status?prometheus', '127.0.0.10');
    is($res->{status}, 403, "$mode: the status page by address from a refused client: 403");
    like($srv->log_since('logs/error_log', $mark), qr/AH01630: client denied by server configuration/,
         "$mode: ... refused by authz (AH01630)");
    unlike($res->{body} // '', qr/proxyguard_/, "$mode: ... nothing of the page");
    is(unknown_hosts($srv), 3, "$mode: ... counted: the handler did not take it");

    # a request that ends before translate_name (httpd's 400 for a path
    # above the root) is counted all the same
    $res = by_address($srv, '/../etc/passwd', '127.0.0.11');
    is($res->{status}, 400, "$mode: a path above the root by address: httpd's 400");
    is(unknown_hosts($srv), 4, "$mode: ... counted when it ended");

    # ProxyGuardBan counts deferred hits: 3 refused by-address requests of
    # a stranger ban it (under Detect they are not refusals, and ban nobody)
    by_address($srv, '/', '127.0.0.12') for 1 .. 3;
    my $named = $srv->request("GET / HTTP/1.1\r\nHost: default.test\r\n\r\n", from => '127.0.0.12');
    my ($ban) = grep { $_->{address} eq '127.0.0.12' } @{ $srv->json->{bans} || [] };
    if ($mode eq 'Deny') {
        is($named->{status}, 403, "$mode: 3 refused by-address hits of a stranger: banned");
        ok($ban, "$mode: ... listed in ?json's bans");
    }
    else {
        is($named->{status}, 200, "$mode: 3 counted by-address hits of a stranger: not banned");
        ok(!$ban, "$mode: ... no ban listed");
    }
    is(by_address($srv, '/proxyguard-status?auto', '127.0.0.1')->{status}, 200,
       "$mode: the monitoring address is not banned however often it scraped");

    # HTTP/2 (h2c prior knowledge): a stream for the status page by
    # address is not counted; one for / is
    SKIP: {
        skip 'prefork: mod_http2 inactive', 3 if PGTest::mpm() eq 'prefork';
        skip 'node not installed', 3 unless $have_node;
        my $before = unknown_hosts($srv);
        my $out = `node '$FindBin::Bin/h2request.js' $port GET 127.0.0.1:$port '/proxyguard-status?auto' 2>&1`;
        like($out, qr/^status 200/, "$mode, HTTP/2: the status page by address: 200");
        is(unknown_hosts($srv), $before, "$mode, HTTP/2: ... not counted");
        $out = `node '$FindBin::Bin/h2request.js' $port GET 127.0.0.1:$port / 2>&1`;
        is(unknown_hosts($srv), $before + 1, "$mode, HTTP/2: / by address: counted");
    }
    $srv->stop;
}

# Allow: nothing by address is counted, the page is served.
{
    my $srv = server('Allow');
    is(by_address($srv, '/proxyguard-status?auto', '127.0.0.1')->{status}, 200, 'Allow: the page by address: 200');
    is(by_address($srv, '/', '127.0.0.9')->{status}, 200, 'Allow: / by address: 200');
    is(unknown_hosts($srv), 0, 'Allow: nothing counted');
    $srv->stop;
}

# A request that a quick handler answers before translate_name (mod_cache
# serving a cached page) is counted all the same, when it ends.
for my $mode (qw(Detect Deny)) {
    my $srv = PGTest->new(name => 'scrape-cache-' . lc $mode, conf => sub {
        my $port = $_[0]->port;
        join('', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
                 qw(cache cache_socache socache_shmcb))
        . "CacheSocache shmcb\nCacheEnable socache /\nCacheHeader on\nCacheIgnoreNoLastMod On\n"
        . "CacheDefaultExpire 600\nCacheQuickHandler on\n"
        . $_[0]->status_location
        . "<VirtualHost *:$port>\n    ServerName default.test\n    ProxyGuardUnknownHost $mode\n</VirtualHost>\n";
    });
    # a day old: mod_cache's heuristic keeps it fresh for a tenth of that
    utime(time - 86400, time - 86400, $srv->dir . '/htdocs/index.html');
    $srv->start;
    my @got = map { by_address($srv, '/index.html', '127.0.0.20') } 1 .. 3;
    my $auto = $srv->auto;
    if ($mode eq 'Detect') {
        is_deeply([ map { $_->{status} } @got ], [ 200, 200, 200 ], "cache, Detect: three by-address GETs served");
        is($got[2]{headers}{'x-cache'} // '', 'HIT from ' . 'default.test', "cache, Detect: the last one by mod_cache's quick handler")
            or diag explain [ map { $_->{headers} } @got ];
    }
    else {
        is_deeply([ map { $_->{status} } @got ], [ 403, 403, 403 ], 'cache, Deny: three by-address GETs refused (a 403 is not cached)');
    }
    is($auto->{ProxyGuardHitsUnknownHost}, 3, "cache, $mode: each of them counted");
    my @lines = $srv->slurp('logs/error_log') =~ /\[client 127\.0\.0\.20:\d+\] PG0001: action=\w+ reason=unknown-host/g;
    is(scalar @lines, 3, "cache, $mode: each of them logged");
    $srv->stop;
}

# A proxy header is still a hit on the status page (only the Host is
# forgiven), and a SetHandler written as an expression is evaluated.
{
    my $srv = server('Deny');
    my $res = by_address($srv, '/proxyguard-status?auto', '127.0.0.1', 'Proxy-Connection' => 'keep-alive');
    is($res->{status}, 200, 'a proxy header on the page by address: served');
    is($srv->json->{hits}{'proxy-header'}, 1, '... counted as proxy-header');
    is($srv->json->{hits}{'unknown-host'}, 0, '... not as unknown-host');
    # no other verdict waits for the handler
    my $port = $srv->port;
    is($srv->request("GET http://foreign.test/proxyguard-status?auto HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n")->{status},
       403, 'an absolute URI for the status page naming another host: 403 at once');
    is($srv->request("CONNECT 127.0.0.1:$port HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n\r\n")->{status},
       405, 'CONNECT to the status page\'s server: 405');
    my $hits = $srv->json->{hits};
    is_deeply([ @$hits{qw(absolute-uri connect unknown-host)} ], [ 1, 1, 0 ], '... each counted under its own reason');
    $srv->stop;
}
{
    my $srv = PGTest->new(name => 'scrape-expr', conf => sub {
        my $port = $_[0]->port;
        "<VirtualHost *:$port>\n    ServerName default.test\n    ProxyGuardUnknownHost Deny\n"
        . "    <Location \"/pg\">\n        SetHandler \"%{tolower:PROXYGUARD-STATUS}\"\n"
        . "        Require ip 127.0.0.1\n    </Location>\n"
        . "    <Location \"/dh\">\n        SetHandler default-handler\n    </Location>\n</VirtualHost>\n";
    });
    $srv->start;
    is(by_address($srv, '/pg?auto', '127.0.0.1')->{status}, 200,
       'SetHandler as an expression (evaluated): the page by address, Deny: 200');
    is(by_address($srv, '/', '127.0.0.1')->{status}, 403, '... / by address: 403');
    is(by_address($srv, '/dh', '127.0.0.1')->{status}, 403,
       'a <Location> with another SetHandler, by address, Deny: 403');
    $srv->stop;
}

done_testing;
