#!/usr/bin/perl
# The status handler: HTML, ?auto, ?json, ?prometheus; GET and HEAD only;
# attacker-controlled text escaped in every format; the /server-status
# section through mod_status's hook.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'status', conf => sub {
    "LoadModule status_module $PGTest::MODULES/mod_status.so\n"
    . "HttpProtocolOptions Unsafe\n"
    . $_[0]->status_location
    . "<Location \"/server-status\">\n    SetHandler server-status\n    Require local\n</Location>\n"
    . $_[0]->standard_vhosts;
});
$srv->start;

# Before any hit: every reason present with 0.
my $res = $srv->status('json');
is($res->{status}, 200, '?json: 200');
is($res->{headers}{'content-type'}, 'application/json', '?json: application/json');
ok($res->{json}, '?json parses') or diag $res->{json_error};
is($res->{json}{total}, 0, '?json: total 0 before any hit');
is_deeply($res->{json}{hits},
          { connect => 0, 'absolute-uri' => 0, 'unknown-host' => 0, 'proxy-header' => 0,
            'connect-port' => 0, 'proxy-port' => 0, banned => 0, 'proxy-scheme' => 0,
            'dynamic-backend' => 0 },
          '?json: every reason present, 0');

# Hits, with hostile bytes where the attacker controls them (a control byte
# in the request line would get httpd's own 400 before any module runs).
my $evil_path = qq{/"><script>alert(1)</script>'\xff};
$srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n") for 1 .. 3;
$srv->request("CONNECT mx0.example.com.tw:587 HTTP/1.0\r\n\r\n");
$srv->request("GET http://evil.test$evil_path HTTP/1.1\r\nHost: <b>\"evil\"</b>\x02\xfe\r\n\r\n");
$srv->request("GET / HTTP/1.1\r\nHost: <img src=x onerror=alert(2)>\r\n\r\n");
$srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n");

$res = $srv->status('json');
ok($res->{json}, '?json parses with hostile strings inside') or diag $res->{json_error};
my $j = $res->{json} || {};
is($j->{total}, 7, '?json: total 7');
is_deeply($j->{hits}, { connect => 4, 'absolute-uri' => 1, 'unknown-host' => 1, 'proxy-header' => 1,
                        'connect-port' => 0, 'proxy-port' => 0, banned => 0, 'proxy-scheme' => 0,
                        'dynamic-backend' => 0 },
          '?json: hits by reason');
is_deeply($j->{actions}, { deny => 5, detect => 2 }, '?json: deny 5, detect 2');
my ($default) = grep { $_->{vhost} eq 'default.test' } @{ $j->{vhosts} || [] };
is($default->{hits}{connect}{deny}, 4, '?json: vhosts: default.test connect deny 4');
my ($www) = grep { $_->{vhost} eq 'www.example.com' } @{ $j->{vhosts} || [] };
is($www->{hits}{'proxy-header'}{detect}, 1, '?json: vhosts: www.example.com proxy-header detect 1');
is_deeply($j->{ports}, { 25 => 3, 587 => 1 }, '?json: CONNECT ports');
is($j->{clients}[0]{address}, '127.0.0.1', '?json: the client');
is($j->{clients}[0]{total}, 7, '?json: its hits');
is($j->{networks}[0]{network}, '127.0.0.0/24', '?json: its /24');
is(scalar @{ $j->{recent} || [] }, 7, '?json: 7 recent hits');
my ($abs) = grep { $_->{reason} eq 'absolute-uri' } @{ $j->{recent} || [] };
# JSON reads bytes >= 0x80 as Latin-1 (\u00NN): compare code points.
is($abs->{target}, "http://evil.test$evil_path", '?json: the attacker\'s target round-trips exactly');
is($abs->{host}, "<b>\"evil\"</b>\x02\xfe", '?json: the attacker\'s Host round-trips exactly');
unlike($res->{body}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, '?json: no raw control or high byte in the document');
ok(ref $j->{timeline}{minutes}{hits}{connect} eq 'ARRAY'
   && @{ $j->{timeline}{minutes}{hits}{connect} } == 60
   && $j->{timeline}{minutes}{hits}{connect}[-1] == 4,
   '?json: timeline, 60 minutes, this minute has the 4 CONNECTs');
ok(@{ $j->{timeline}{hours}{hits}{connect} || [] } == 48, '?json: timeline, 48 hours');
is($j->{table}{capacity}, 4096, '?json: table capacity (default ProxyGuardTableSize)');

# HTML
$res = $srv->status('');
is($res->{status}, 200, 'HTML: 200');
like($res->{headers}{'content-type'}, qr{^text/html}, 'HTML: text/html');
like($res->{body}, qr/<svg id="timeline-minutes"/, 'HTML: inline SVG timeline');
like($res->{body}, qr/<td class="n" id="total">7<\/td>/, 'HTML: total');
unlike($res->{body}, qr/<script|<img|<b>|onerror=alert\(2\)>/, 'HTML: no attacker markup survives');
like($res->{body}, qr/&lt;script&gt;alert\(1\)&lt;\/script&gt;&#39;\\xff/,
     'HTML: the target is entity-escaped, high bytes as \xNN');
like($res->{body}, qr/&lt;b&gt;&quot;evil&quot;&lt;\/b&gt;\\x02\\xfe/,
     'HTML: the Host is entity-escaped, control bytes as \xNN');
like($res->{body}, qr/&lt;img src=x onerror=alert\(2\)&gt;/, 'HTML: the Host is entity-escaped');
unlike($res->{body}, qr/https?:\/\/(?!evil\.test)[^"<]*\.(js|css)|<script\b|<link\b/i,
       'HTML: no external assets, no script');
$res = $srv->status('refresh=5');
like($res->{body}, qr/<meta http-equiv="refresh" content="5">/, 'HTML: ?refresh=5');

# ?auto
$res = $srv->status('auto');
like($res->{headers}{'content-type'}, qr{^text/plain}, '?auto: text/plain');
my @lines = split /\n/, $res->{body};
my @bad = grep { !/^[A-Za-z]+: \S+$/ } @lines;
ok(@lines > 5 && !@bad, '?auto: every line is "Key: value"') or diag "@bad";
my %auto = map { /^(\w+): (.*)$/ } @lines;
is($auto{ProxyGuardTotal}, 7, '?auto: ProxyGuardTotal');
is($auto{ProxyGuardHitsConnect}, 4, '?auto: ProxyGuardHitsConnect');
is($auto{ProxyGuardHitsAbsoluteUri}, 1, '?auto: ProxyGuardHitsAbsoluteUri');

# ?prometheus= (an empty value: what Prometheus sends for the documented
# params: {prometheus: [""]}) is the same format
like($srv->status('prometheus=')->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4},
     '?prometheus= (empty value): the Prometheus format');
like($srv->status('json=')->{headers}{'content-type'}, qr{^application/json}, '?json=: JSON');
like($srv->status('prometheusx=')->{headers}{'content-type'}, qr{^text/html}, '?prometheusx=: not a format word');

# ?prometheus
$res = $srv->status('prometheus');
like($res->{headers}{'content-type'}, qr{^text/plain; version=0\.0\.4}, '?prometheus: 0.0.4 content type');
like($res->{body}, qr/^proxyguard_hits_total\{vhost="default\.test",reason="connect",action="deny"\} 4$/m,
     '?prometheus: proxyguard_hits_total');
like($res->{body}, qr/^proxyguard_connect_port_hits_total\{port="25"\} 3$/m, '?prometheus: ports');
like($res->{body}, qr/^proxyguard_table_clients_capacity 4096$/m, '?prometheus: capacity gauge');
like($res->{body}, qr/^proxyguard_table_clients_used 1$/m, '?prometheus: use gauge');
unlike($res->{body}, qr/evil|script/, '?prometheus: no attacker text at all');
SKIP: {
    my $promtool = `command -v promtool 2>/dev/null`;
    chomp $promtool;
    # make test installs promtool and sets PG_REQUIRE_TOOLS: there a missing
    # tool is a failure, never a skip.
    if (!$promtool) {
        fail('promtool is installed') if $ENV{PG_REQUIRE_TOOLS};
        skip 'promtool not installed (make test installs it)', 1;
    }
    open my $pt, '|-', "$promtool check metrics > $srv->{dir}/promtool.out 2>&1" or die $!;
    print $pt $res->{body};
    close $pt;
    is($? >> 8, 0, '?prometheus: promtool check metrics passes')
        or diag $srv->slurp('promtool.out');
}

# Methods: GET and HEAD only.
$res = $srv->request("HEAD /proxyguard-status?json HTTP/1.0\r\n\r\n");
is($res->{status}, 200, 'HEAD: 200');
is($res->{body}, '', 'HEAD: no body');
$res = $srv->request("PUT /proxyguard-status HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
is($res->{status}, 405, 'PUT: 405');
like($res->{headers}{allow} // '', qr/GET/, 'PUT: Allow names GET');
$res = $srv->request("POST /proxyguard-status HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     . "Content-Length: 17\r\n\r\nunban=192.0.2.10\n");
is($res->{status}, 404, 'POST unban with ProxyGuardBan off: 404');

# mod_status's page carries our section.
$res = $srv->request("GET /server-status?auto HTTP/1.0\r\n\r\n");
like($res->{body}, qr/^ProxyGuardTotal: 7$/m, '/server-status?auto: ProxyGuardTotal line');
$res = $srv->request("GET /server-status HTTP/1.0\r\n\r\n");
like($res->{body}, qr/<h2>mod_proxyguard<\/h2>\n<p>7 hits \(5 denied, 2 detected\)/,
     '/server-status: mod_proxyguard section');

$srv->stop;
done_testing;
