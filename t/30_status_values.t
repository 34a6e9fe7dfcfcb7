#!/usr/bin/perl
# Every value the status page shows, in every format, after a known set of
# hits: each ?auto key (and no other), each Prometheus metric family (and
# no other), the JSON clients' first_seen/last_seen, networks, ports
# (connect-port hits included), bans, recent hits, timeline; the HTML
# tables; Cache-Control: no-store on every format; and a '\' in the
# attacker's text surviving the JSON escaper.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

my @REASONS = qw(connect absolute-uri unknown-host proxy-header connect-port proxy-port banned
                 proxy-scheme dynamic-backend);
my %CAMEL = ('connect' => 'Connect', 'absolute-uri' => 'AbsoluteUri', 'unknown-host' => 'UnknownHost',
             'proxy-header' => 'ProxyHeader', 'connect-port' => 'ConnectPort', 'proxy-port' => 'ProxyPort',
             'banned' => 'Banned', 'proxy-scheme' => 'ProxyScheme',
             'dynamic-backend' => 'DynamicBackend');
my @AUTO_KEYS = (qw(ProxyGuardVersion ProxyGuardTotal ProxyGuardDenied ProxyGuardDetected),
                 (map { "ProxyGuardHits$CAMEL{$_}" } @REASONS),
                 qw(ProxyGuardClientsTracked ProxyGuardClientsCapacity ProxyGuardClientsEvicted
                    ProxyGuardNetworksTracked ProxyGuardBansActive ProxyGuardBansStarted
                    ProxyGuardBansRefused ProxyGuardBansCapacity ProxyGuardNetworkBansActive
                    ProxyGuardNetworkBansStarted ProxyGuardDetailsSkipped
                    ProxyGuardStartTime ProxyGuardRestarts));
my %PROM_FAMILIES = (
    proxyguard_build_info => 'gauge', proxyguard_reason_hits_total => 'counter',
    proxyguard_hits_total => 'counter', proxyguard_connect_port_hits_total => 'counter',
    proxyguard_bans_active => 'gauge', proxyguard_bans_started_total => 'counter',
    proxyguard_bans_refused_total => 'counter', proxyguard_bans_capacity => 'gauge',
    proxyguard_network_bans_active => 'gauge', proxyguard_network_bans_started_total => 'counter',
    proxyguard_table_clients_capacity => 'gauge', proxyguard_table_clients_used => 'gauge',
    proxyguard_table_networks_used => 'gauge', proxyguard_table_evictions_total => 'counter',
    proxyguard_details_skipped_total => 'counter', proxyguard_ban_store_calls_total => 'counter',
    proxyguard_ban_store_failures_total => 'counter', proxyguard_ban_store_up => 'gauge',
    proxyguard_table_size_bytes => 'gauge', proxyguard_start_time_seconds => 'gauge',
    proxyguard_table_restarts_total => 'counter',
);

chomp(my $version = `sed -n 's/^#define PG_VERSION "\\(.*\\)"/\\1/p' '$PGTest::TOP/pg_version.h'`);

my $srv = PGTest->new(name => 'values', conf => sub {
    "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "ProxyGuardTableSize 16\nProxyGuardBan 3 60 600\nProxyGuardBanExempt 127.0.0.1\n"
    . "ProxyGuardProxyClients 127.0.0.40\nHttpProtocolOptions Unsafe\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
my $t_start = int time;
$srv->start;
my $t_up = int(time) + 1;

# Prometheus text: { families => {name => type}, samples => {"name{labels}" => value} }
sub prometheus {
    my $body = $srv->status('prometheus')->{body};
    my (%families, %samples);
    for (split /\n/, $body) {
        if (/^# TYPE (\S+) (\S+)$/) { $families{$1} = $2 }
        elsif (/^(\w+(?:\{[^}]*\})?) (\S+)$/) { $samples{$1} = $2 }
    }
    return { families => \%families, samples => \%samples };
}

sub hits_from {
    my ($from, $raw, $status, $what) = @_;
    is($srv->request($raw, from => $from)->{status}, $status, "$what: $status");
}

# --- before any hit ----------------------------------------------------
my $auto = $srv->status('auto');
is(join(' ', map { /^(\w+):/ ? $1 : "?$_" } split /\n/, $auto->{body}), join(' ', @AUTO_KEYS),
   '?auto: exactly the documented keys, in order');
my %a = map { /^(\w+): (.*)$/ } split /\n/, $auto->{body};
is($a{ProxyGuardVersion}, $version, "?auto: ProxyGuardVersion $version");
is($a{$_}, 0, "?auto: $_ 0 before any hit")
    for qw(ProxyGuardTotal ProxyGuardDenied ProxyGuardDetected ProxyGuardClientsTracked
           ProxyGuardClientsEvicted ProxyGuardNetworksTracked ProxyGuardBansActive
           ProxyGuardBansStarted ProxyGuardBansRefused ProxyGuardDetailsSkipped ProxyGuardRestarts),
           map { "ProxyGuardHits$CAMEL{$_}" } @REASONS;
is($a{ProxyGuardClientsCapacity}, 16, '?auto: ProxyGuardClientsCapacity is ProxyGuardTableSize');
is($a{ProxyGuardBansCapacity}, 16, '?auto: ProxyGuardBansCapacity is ProxyGuardTableSize');
ok($a{ProxyGuardStartTime} >= $t_start && $a{ProxyGuardStartTime} <= $t_up,
   "?auto: ProxyGuardStartTime is when the server started ($a{ProxyGuardStartTime})");

{
    my $s0 = prometheus()->{samples};
    is(scalar(grep { /^proxyguard_hits_total\{/ } keys %$s0), 0, '?prometheus before any hit: no per-vhost series');
    is(join(',', map { $s0->{$_} } grep { /^proxyguard_reason_hits_total\{/ } sort keys %$s0),
       join(',', (0) x (2 * @REASONS)), '?prometheus before any hit: every reason x action total, 0');
}

# --- a known set of hits -------------------------------------------------
my $connect = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
# 127.0.0.1 (never banned): 2 connect, 1 absolute-uri, 1 unknown-host, 1 proxy-header
hits_from('127.0.0.1', $connect, 405, 'connect') for 1 .. 2;
hits_from('127.0.0.1', "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", 403, 'absolute-uri');
hits_from('127.0.0.1', "GET / HTTP/1.1\r\nHost: 203.0.113.1\r\n\r\n", 200, 'unknown-host');
hits_from('127.0.0.1', "GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n", 200,
          'proxy-header');
# 127.0.0.40, a proxy client: a CONNECT to port 587 (connect-port), one to
# 443 (allowed: passes the module, no hit), later an absolute URI to port
# 25 (proxy-port)
my $t40_first = int time;
hits_from('127.0.0.40', "CONNECT mx.example.net:587 HTTP/1.1\r\nHost: mx.example.net:587\r\n\r\n", 403, 'connect-port');
my $t40_first_end = int time;
my $mark = $srv->log_mark('logs/error_log');
$srv->request("CONNECT www.example.net:443 HTTP/1.1\r\nHost: www.example.net:443\r\n\r\n", from => '127.0.0.40');
unlike($srv->log_since('logs/error_log', $mark), qr/PG0001/, 'a proxy client\'s CONNECT to 443 is no hit');
sleep 1.2;
my $t40_last = int time;
hits_from('127.0.0.40', "GET http://mx.example.net:25/ HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n", 403, 'proxy-port');
my $t40_last_end = int time;
# 127.0.0.50: 3 CONNECTs start a ban, then 2 requests are banned
my $t50 = int time;
hits_from('127.0.0.50', $connect, 405, 'connect (towards a ban)') for 1 .. 3;
hits_from('127.0.0.50', $page, 403, 'banned') for 1 .. 2;
my $t50_end = int time;

my %hits = (connect => 5, 'absolute-uri' => 1, 'unknown-host' => 1, 'proxy-header' => 1,
            'connect-port' => 1, 'proxy-port' => 1, banned => 2,
            'proxy-scheme' => 0, 'dynamic-backend' => 0);
# vhost => reason => [deny, detect]
my %by_vhost = (
    'default.test' => { connect => [5, 0], 'absolute-uri' => [1, 0], 'unknown-host' => [0, 1],
                        'connect-port' => [1, 0], 'proxy-port' => [1, 0] },
    'www.example.com' => { 'proxy-header' => [0, 1], banned => [2, 0] },
);

# --- ?auto ---------------------------------------------------------------
%a = %{ $srv->auto };
is($a{ProxyGuardTotal}, 12, '?auto: ProxyGuardTotal 12');
is($a{ProxyGuardDenied}, 10, '?auto: ProxyGuardDenied 10');
is($a{ProxyGuardDetected}, 2, '?auto: ProxyGuardDetected 2');
is($a{"ProxyGuardHits$CAMEL{$_}"}, $hits{$_}, "?auto: ProxyGuardHits$CAMEL{$_} $hits{$_}") for @REASONS;
is($a{ProxyGuardClientsTracked}, 3, '?auto: ProxyGuardClientsTracked 3');
is($a{ProxyGuardClientsCapacity}, 16, '?auto: ProxyGuardClientsCapacity 16');
is($a{ProxyGuardClientsEvicted}, 0, '?auto: ProxyGuardClientsEvicted 0');
is($a{ProxyGuardNetworksTracked}, 1, '?auto: ProxyGuardNetworksTracked 1');
is($a{ProxyGuardBansActive}, 1, '?auto: ProxyGuardBansActive 1');
is($a{ProxyGuardBansStarted}, 1, '?auto: ProxyGuardBansStarted 1');
is($a{ProxyGuardBansRefused}, 0, '?auto: ProxyGuardBansRefused 0');
is($a{ProxyGuardBansCapacity}, 16, '?auto: ProxyGuardBansCapacity 16');
is($a{ProxyGuardDetailsSkipped}, 0, '?auto: ProxyGuardDetailsSkipped 0 (one request at a time: the mutex was always free)');
is($a{ProxyGuardRestarts}, 0, '?auto: ProxyGuardRestarts 0');
my $start_time = $a{ProxyGuardStartTime};

# --- ?json ---------------------------------------------------------------
my $j = $srv->json;
is($j->{version}, $version, '?json: version');
is($j->{since}, $start_time, '?json: since = ?auto ProxyGuardStartTime');
is($j->{total}, 12, '?json: total');
is_deeply($j->{hits}, \%hits, '?json: hits by reason');
is_deeply($j->{actions}, { deny => 10, detect => 2 }, '?json: actions');
for my $vh (sort keys %by_vhost) {
    my ($row) = grep { $_->{vhost} eq $vh } @{ $j->{vhosts} };
    my %want = map { my $c = $by_vhost{$vh}{$_} || [0, 0]; ($_ => { deny => $c->[0], detect => $c->[1] }) } @REASONS;
    is_deeply($row && $row->{hits}, \%want, "?json: vhost $vh, every reason and action");
}
is_deeply($j->{ports}, { 25 => 5, 587 => 1 }, '?json: CONNECT ports, the connect-port hit (587) included');
my %client = map { $_->{address} => $_ } @{ $j->{clients} };
is_deeply([ sort keys %client ], [ qw(127.0.0.1 127.0.0.40 127.0.0.50) ], '?json: the three clients');
is($client{'127.0.0.1'}{total}, 5, '?json: 127.0.0.1 total 5');
my $c40 = $client{'127.0.0.40'};
is_deeply($c40->{hits}, { (map { ($_ => 0) } @REASONS), 'connect-port' => 1, 'proxy-port' => 1 },
          '?json: 127.0.0.40 hits by reason');
ok($c40->{first_seen} >= $t40_first && $c40->{first_seen} <= $t40_first_end,
   "?json: first_seen is the time of the client's first hit ($c40->{first_seen})");
ok($c40->{last_seen} >= $t40_last && $c40->{last_seen} <= $t40_last_end,
   "?json: last_seen is the time of its last hit ($c40->{last_seen})");
cmp_ok($c40->{last_seen}, '>', $c40->{first_seen}, '?json: last_seen after first_seen, 1.2 s apart');
my $c50 = $client{'127.0.0.50'};
is($c50->{total}, 3, '?json: 127.0.0.50: the 3 hits that started its ban (banned requests are not client hits)');
ok($c50->{first_seen} >= $t50 && $c50->{last_seen} <= $t50_end && $c50->{first_seen} <= $c50->{last_seen},
   '?json: 127.0.0.50 first_seen and last_seen within its burst');
is(scalar @{ $j->{networks} }, 1, '?json: one network');
is_deeply($j->{networks}[0], { network => '127.0.0.0/24', hits => 10, addresses => 3, last_seen => $c50->{last_seen} },
          '?json: 127.0.0.0/24, 10 hits, 3 addresses, last seen with the last hit');
is($j->{bans_started}, 1, '?json: bans_started');
is($j->{bans_refused}, 0, '?json: bans_refused');
is($j->{bans_active}, 1, '?json: bans_active');
is($j->{bans_capacity}, 16, '?json: bans_capacity');
my $ban = $j->{bans}[0] || {};
is($ban->{address}, '127.0.0.50', '?json: the ban\'s address');
is($ban->{hits}, 3, '?json: the ban\'s hits');
is($ban->{blocked}, 2, '?json: requests blocked since');
is($ban->{origin}, 'here', '?json: started here');
ok($ban->{started} >= $t50 && $ban->{started} <= $t50_end, '?json: the ban\'s start time');
is(($ban->{until} // 0) - ($ban->{started} // 0), 600, '?json: until = started + duration');
ok($ban->{remaining} > 590 && $ban->{remaining} <= 600, "?json: remaining ($ban->{remaining})");
is(scalar @{ $j->{recent} }, 10, '?json: 10 recent hits (banned requests are counted, not listed)');
is_deeply([ map { "$_->{client} $_->{reason} $_->{action}" } @{ $j->{recent} }[0 .. 2] ],
          [ '127.0.0.50 connect deny', '127.0.0.50 connect deny', '127.0.0.50 connect deny' ],
          '?json: recent hits, newest first');
my $r40 = (grep { $_->{reason} eq 'proxy-port' } @{ $j->{recent} })[0] || {};
is_deeply([ @$r40{qw(client vhost method target host)} ],
          [ '127.0.0.40', 'default.test', 'GET', 'http://mx.example.net:25/', 'mx.example.net:25' ],
          '?json: a recent hit\'s client, vhost, method, target and Host');
for my $series (qw(minutes hours)) {
    my $s = $j->{timeline}{$series};
    my %sum = map { my $t = 0; $t += $_ for @{ $s->{hits}{$_} }; ($_ => $t) } @REASONS;
    is_deeply(\%sum, { %hits, banned => 0 }, "?json: timeline $series: every recorded hit in the window");
    is($s->{step}, $series eq 'minutes' ? 60 : 3600, "?json: timeline $series step");
}
is_deeply($j->{table}, { capacity => 16, clients => 3, networks => 1, clients_evicted => 0,
                         networks_evicted => 0, details_skipped => 0, bytes => $j->{table}{bytes} },
          '?json: table');
is_deeply($j->{ban_store}, { calls => 0, failures => 0, down_since => 0, checks_dropped => 0 },
          '?json: ban_store: no shared store, nothing asked');
like($srv->slurp('logs/error_log'), qr/PG0002: hit table of $j->{table}{bytes} bytes: 16 client addresses/,
     "?json: table bytes ($j->{table}{bytes}) as the start-up line says");

# --- ?prometheus ----------------------------------------------------------
my $p = prometheus();
is_deeply($p->{families}, \%PROM_FAMILIES, '?prometheus: exactly the documented metric families and types');
my $s = $p->{samples};
is($s->{"proxyguard_build_info{version=\"$version\"}"}, 1, "?prometheus: proxyguard_build_info{version=\"$version\"} 1");
# Per vhost, only the pairs hit (the cardinality bound of docs/status.md);
# over all vhosts, every pair, zeros included.
my (@wrong, %want_total);
for my $vh (sort keys %by_vhost) {
    for my $r (@REASONS) {
        for my $ai (0, 1) {
            my $key = sprintf 'proxyguard_hits_total{vhost="%s",reason="%s",action="%s"}', $vh, $r, qw(deny detect)[$ai];
            my $want = $by_vhost{$vh}{$r} ? $by_vhost{$vh}{$r}[$ai] : 0;
            $want_total{$r}[$ai] += $want;
            if ($want) {
                push @wrong, "$key: got " . ($s->{$key} // 'none') . ", want $want" unless ($s->{$key} // -1) == $want;
            } else {
                push @wrong, "$key: got $s->{$key}, want no series" if exists $s->{$key};
            }
        }
    }
}
is_deeply(\@wrong, [], '?prometheus: proxyguard_hits_total, every vhost x reason x action hit, no zero series');
@wrong = ();
for my $r (@REASONS) {
    for my $ai (0, 1) {
        my $key = sprintf 'proxyguard_reason_hits_total{reason="%s",action="%s"}', $r, qw(deny detect)[$ai];
        my $want = $want_total{$r}[$ai] // 0;
        push @wrong, "$key: got " . ($s->{$key} // 'none') . ", want $want" unless ($s->{$key} // -1) == $want;
    }
}
is_deeply(\@wrong, [], '?prometheus: proxyguard_reason_hits_total, every reason x action, zeros included');
is(scalar(grep { /^proxyguard_reason_hits_total\{/ } keys %$s), 2 * @REASONS,
   '?prometheus: proxyguard_reason_hits_total has ' . 2 * @REASONS . ' series');
my $sum = 0;
$sum += $s->{$_} for grep { /^proxyguard_hits_total\{/ } keys %$s;
is($sum, 12, '?prometheus: proxyguard_hits_total sums to the total');
my %want_samples = (
    'proxyguard_connect_port_hits_total{port="25"}' => 5,
    'proxyguard_connect_port_hits_total{port="587"}' => 1,
    'proxyguard_connect_port_hits_total{port="465"}' => 0,
    'proxyguard_connect_port_hits_total{port="other"}' => 0,
    proxyguard_bans_active => 1, proxyguard_bans_started_total => 1, proxyguard_bans_refused_total => 0,
    proxyguard_bans_capacity => 16, proxyguard_table_clients_capacity => 16,
    proxyguard_network_bans_active => 0, proxyguard_network_bans_started_total => 0,
    proxyguard_table_clients_used => 3, proxyguard_table_networks_used => 1,
    'proxyguard_table_evictions_total{table="clients"}' => 0,
    'proxyguard_table_evictions_total{table="networks"}' => 0,
    proxyguard_details_skipped_total => 0, proxyguard_ban_store_calls_total => 0,
    proxyguard_ban_store_failures_total => 0, proxyguard_ban_store_up => 1,
    proxyguard_table_size_bytes => $j->{table}{bytes},
    proxyguard_start_time_seconds => $start_time, proxyguard_table_restarts_total => 0,
);
is($s->{$_}, $want_samples{$_}, "?prometheus: $_ $want_samples{$_}") for sort keys %want_samples;
is(scalar(grep { /^proxyguard_connect_port_hits_total/ } keys %$s), 4,
   '?prometheus: no other port (the mail ports always, 465 with 0)');

# --- HTML ---------------------------------------------------------------
my $html = $srv->status('')->{body};
like($html, qr/<td class="n" id="total">12<\/td>/, 'HTML: total 12');
for my $r (@REASONS) {
    my ($deny, $detect) = (0, 0);
    for my $vh (keys %by_vhost) {
        next unless $by_vhost{$vh}{$r};
        $deny += $by_vhost{$vh}{$r}[0];
        $detect += $by_vhost{$vh}{$r}[1];
    }
    my $total = $deny + $detect;
    like($html, qr{</span>\Q$r\E</td><td class="n">$deny</td><td class="n">$detect</td><td class="n">$total</td></tr>},
         "HTML: reasons table, $r: $deny deny, $detect detect");
}
like($html, qr/<p>3 addresses tracked of 16 \(0 replaced when the table was full\)\.<\/p>/, 'HTML: table use');
my $first = strftime('%Y-%m-%d %H:%M:%S', gmtime $c40->{first_seen});
my $last = strftime('%Y-%m-%d %H:%M:%S', gmtime $c40->{last_seen});
like($html, qr{<tr><td>127\.0\.0\.40</td><td class="n">2</td>(?:<td class="n">\d+</td>){9}<td>\Q$first\E</td><td>\Q$last\E</td></tr>},
     'HTML: the client row with its hits, first and last seen (UTC)');
like($html, qr{<tr><td>127\.0\.0\.0/24</td><td class="n">10</td><td class="n">3</td>}, 'HTML: the network row');
like($html, qr{<table id="ports">.*<tr><td>25</td><td class="n">5</td></tr>.*</table>}s, 'HTML: port 25');
like($html, qr{<table id="ports">.*<tr><td>587</td><td class="n">1</td></tr>.*</table>}s, 'HTML: port 587');
like($html, qr{<table id="bans">.*<tr><td>127\.0\.0\.50</td><td>address</td><td>[-0-9: ]+</td><td class="n">\d+ s</td><td class="n">3</td><td class="n">2</td></tr>}s,
     'HTML: the ban with its hits and blocked requests');
like($html, qr/<p>1 active of 16 rows \(0 of them IPv6 \/64 networks\); 1 started here since the table was created\.<\/p>/, 'HTML: bans summary');

# --- more clients than rows: evictions ------------------------------------
$srv->request($connect, from => "127.0.3.$_") for 1 .. 16;
%a = %{ $srv->auto };
is($a{ProxyGuardClientsTracked}, 16, '19 addresses in 16 rows: 16 tracked');
is($a{ProxyGuardClientsEvicted}, 3, '... 3 evicted');
is($a{ProxyGuardNetworksTracked}, 2, '... 2 networks');
$p = prometheus();
is($p->{samples}{'proxyguard_table_evictions_total{table="clients"}'}, 3, '?prometheus: client evictions 3');
is($p->{samples}{proxyguard_table_clients_used}, 16, '?prometheus: clients used 16');
is($p->{samples}{proxyguard_table_networks_used}, 2, '?prometheus: networks used 2');
is($srv->json->{table}{clients_evicted}, 3, '?json: clients_evicted 3');

# --- a restart is counted ---------------------------------------------------
$srv->restart('USR1');
is($srv->auto->{ProxyGuardRestarts}, 1, '?auto: ProxyGuardRestarts 1 after a graceful restart');
is(prometheus()->{samples}{proxyguard_table_restarts_total}, 1, '?prometheus: restarts 1');
is($srv->auto->{ProxyGuardStartTime}, $start_time, '?auto: the start time is kept');

# --- '\' in the attacker's text: JSON must escape it ------------------------
my $target = 'http://evil.test/a\b\q\"c\\\\d';
my $host = 'x\y\"z';
my $res = $srv->request("GET $target HTTP/1.1\r\nHost: $host\r\n\r\n");
is($res->{status}, 403, 'an absolute URI with backslashes: 403');
$res = $srv->status('json');
ok($res->{json}, '?json still parses') or diag $res->{json_error};
my $rec = $res->{json} ? $res->{json}{recent}[0] : {};
is($rec->{target}, $target, "?json: the target with its backslashes round-trips exactly");
is($rec->{host}, $host, "?json: the Host with its backslashes round-trips exactly");

# --- Cache-Control: no-store, every format, GET and HEAD ------------------
for my $q ('', 'auto', 'json', 'prometheus', 'refresh=5') {
    for my $method (qw(GET HEAD)) {
        my $r = $srv->request("$method /proxyguard-status" . ($q ? "?$q" : '') . " HTTP/1.0\r\n\r\n");
        is($r->{headers}{'cache-control'}, 'no-store', "$method ?$q: 200 with Cache-Control: no-store")
            or diag $r->{status_line};
    }
}

$srv->stop;
done_testing;
