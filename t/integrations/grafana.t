#!/usr/bin/perl
# conf/grafana/proxyguard.json, every query of it evaluated by a real
# Prometheus (Debian's prometheus, on 127.0.0.1) that scrapes real httpd
# servers with the module, with the scrape configuration of docs/status.md
# and the recording rules of conf/prometheus/proxyguard.rules.yml loaded:
#   - the dashboard's shape: a fixed uid, a schema version of Grafana 9/10,
#     a datasource variable, job and instance variables from a metric the
#     module exports, every panel and target on the datasource variable;
#   - the variables' queries answered by the Prometheus API: the job, and
#     the instances that export the metric;
#   - every panel target's expr, with the variables put in as Grafana puts
#     them (a single instance, regex-escaped; All as .+; $__rate_interval
#     for a 1 s scrape), evaluated as an instant and as a range query: no
#     error, data for the attacked server, and a value above 0 where the
#     module counted something (0 where it cannot have: no IPv6 network
#     bans, no shared store on the attacked server; the ban store's down
#     server shows 0);
#   - every metric name the dashboard and the rules use is one the module
#     exports (read from a real scrape) or a rule records (the name check
#     flags a misspelt name, shown here);
#   - the rules are evaluated without error (/api/v1/rules health "ok"),
#     and the alerts that must be pending on these targets are, on the
#     right target only.
# Targets: A, under attack (PGPrometheus::attacked_server); B, its
# memcache ban store down; C, a closed port.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use PGPrometheus;
use PGScan;
use PGTest;

my $t0 = time;
PGScan::need_tool('prometheus', 'prometheus');
PGPrometheus::need_yaml();
my $file = "$PGTest::TOP/conf/grafana/proxyguard.json";
my $dash = JSON::PP->new->decode(PGTest->slurp_abs($file));
my $rules = PGPrometheus::rules();

# --- the dashboard's shape ----------------------------------------------
is($dash->{uid}, 'proxyguard', 'a fixed uid');
ok(!defined $dash->{id}, 'no id (Grafana assigns it at import)');
cmp_ok($dash->{schemaVersion}, '>=', 36, "schemaVersion $dash->{schemaVersion}: Grafana 9 or later");
cmp_ok($dash->{schemaVersion}, '<=', 39, '... and one Grafana 10 reads');
my %var = map { $_->{name} => $_ } @{ $dash->{templating}{list} };
is_deeply([ map { $_->{name} } @{ $dash->{templating}{list} } ], [qw(datasource job instance)],
          'variables: datasource, job, instance');
is($var{datasource}{type}, 'datasource', 'datasource: a datasource variable');
is($var{datasource}{query}, 'prometheus', '... of Prometheus');
my $DS = '${datasource}';
for my $v (qw(job instance)) {
    is($var{$v}{type}, 'query', "$v: a query variable");
    is($var{$v}{datasource}{uid}, $DS, "$v: ... on the datasource variable");
    like($var{$v}{query}, qr/^label_values\(proxyguard_build_info\b.*, $v\)$/, "$v: ... from proxyguard_build_info");
    is($var{$v}{definition}, $var{$v}{query}, "$v: ... definition as the query");
}

# the panels, rows' nested ones included
my @panels = map { $_, @{ $_->{panels} || [] } } @{ $dash->{panels} };
my @graphs = grep { $_->{type} ne 'row' } @panels;
my %ids;
$ids{ $_->{id} }++ for @panels;
is_deeply([ grep { $ids{$_} > 1 } sort keys %ids ], [], 'panel ids unique');
my %titles;
$titles{ $_->{title} }++ for @graphs;
is_deeply([ grep { $titles{$_} > 1 } sort keys %titles ], [], 'panel titles unique');
for my $p (@graphs) {
    is($p->{datasource}{uid}, $DS, "$p->{title}: on the datasource variable");
    ok(@{ $p->{targets} || [] }, "$p->{title}: targets");
    for my $t (@{ $p->{targets} || [] }) {
        ok(length($t->{expr} // '') && length($t->{refId} // '')
           && (!$t->{datasource} || $t->{datasource}{uid} eq $DS), "$p->{title} $t->{refId}: expr, refId, datasource");
    }
}
# as the mixins' dashboard linter asks: every selector filtered by the
# job and instance variables, every range of a raw rate()/increase() from
# Grafana ($__rate_interval, $__range), every panel described, with a unit
for my $p (@graphs) {
    ok(length($p->{description} // ''), "$p->{title}: a description");
    ok(length($p->{fieldConfig}{defaults}{unit} // '') || $p->{type} eq 'state-timeline', "$p->{title}: a unit");
    for my $t (@{ $p->{targets} || [] }) {
        my @sel = $t->{expr} =~ /[\w:]+\{([^}]*)\}/g;
        ok(@sel && !grep({ !/\bjob=~"\$job"/ || !/\binstance=~"\$instance"/ } @sel),
           "$p->{title} $t->{refId}: every selector has job=~\"\$job\" and instance=~\"\$instance\"");
        my @ranges = $t->{expr} =~ /\[([^\]]*)\]/g;
        is_deeply([ grep { !/^\$__(rate_interval|range)$/ } @ranges ], [], "$p->{title} $t->{refId}: ranges from Grafana");
    }
}
is($var{$_}{multi} && $var{$_}{includeAll} && $var{$_}{allValue}, '.+', "$_: multi, All as .+") for qw(job instance);
for my $want (qr/^Hits per second by reason$/, qr/^Deny vs detect$/, qr/^Mail-port CONNECTs$/, qr/^Bans in force$/,
              qr/^Ban store up$/, qr/^Table fill$/, qr/^Rows tracked$/, qr/^Evictions/) {
    ok(scalar(grep { $_->{title} =~ $want } @graphs), "a panel $want");
}

# --- a real Prometheus, real targets --------------------------------------
my %srv = (A => PGPrometheus::attacked_server(), B => PGPrometheus::store_down_server());
my %port = (A => $srv{A}->port, B => $srv{B}->port, C => PGTest::free_port());
my %instance = map { $_ => "127.0.0.1:$port{$_}" } keys %port;
my %target_of = reverse %instance;
my $prom = PGPrometheus->start(config => PGPrometheus::scrape_config(@port{qw(A B C)}),
                               interval => '1s', rules => [ $PGPrometheus::RULES ]);
my $start = int time;
my $health = PGPrometheus::poll(sub {
    my %h = map { $_->{labels}{instance} => $_->{health} } @{ $prom->targets('proxyguard') };
    return ($h{ $instance{A} } // '') eq 'up' && ($h{ $instance{B} } // '') eq 'up' && ($h{ $instance{C} } // '') eq 'down' ? \%h : undef;
}, 30);
ok($health, 'Prometheus scrapes A and B (up), C is down')
    or diag explain($prom->targets('proxyguard')), $prom->log_text;

# the attack, over several scrapes, so that the rates have increments
for my $round (1 .. 4) {
    PGPrometheus::attack($srv{A}, $round);
    PGPrometheus::trickle($srv{B}, $round);
    sleep 1.2;
}
sub value_of { my ($r) = @_; $r && $r->{status} eq 'success' && @{ $r->{data}{result} } ? $r->{data}{result}[0]{value}[1] : undef }
ok(PGPrometheus::poll(sub {
       value_of($prom->query(qq{instance_action:proxyguard_reason_hits:rate5m{instance="$instance{A}",action="deny"} > 0}))
   }, 20), 'the recorded deny rate of A is above 0');

# what A exports, read from a real scrape
my (undef, $scraped) = PGPrometheus::scrape($port{A});
my %exported = %{ $scraped->{types} };
ok(scalar(keys %exported) >= 20, scalar(keys %exported) . ' metric families in A\'s scrape');

# --- the variables ------------------------------------------------------------
# label_values(metric, label) as Grafana's Prometheus datasource asks it
sub label_values {
    my ($q, %vars) = @_;
    my ($match, $label) = $q =~ /^label_values\((?:(.+),\s*)?(\w+)\)$/ or die "not label_values: $q\n";
    $match =~ s/\$(\w+)/$vars{$1} \/\/ die "no value for \$$1\n"/ge if defined $match;
    my $r = $prom->api("/api/v1/label/$label/values"
                       . (defined $match ? '?match[]=' . PGPrometheus::uri_escape($match) : ''));
    return $r && $r->{status} eq 'success' ? [ sort @{ $r->{data} } ] : undef;
}
is_deeply(label_values($var{job}{query}), ['proxyguard'], "job: $var{job}{query} gives the scrape job");
is_deeply(label_values($var{instance}{query}, job => 'proxyguard'), [ sort @instance{qw(A B)} ],
          'instance: the two servers that answer, not the closed port');

# --- every target ---------------------------------------------------------------
# Grafana's interpolation for Prometheus: a multi-value or All variable
# is a regex, its values escaped (prometheusSpecialRegexEscape: a \\ before
# each special character, inside the PromQL string); All is allValue.
my $RATE_INTERVAL = '4s';          # max(4 x the 1 s scrape, $__interval + 1 s)
sub regex_escape { my ($s) = @_; $s =~ s/([\\^\$*+?.()|\[\]{}])/\\\\$1/g; $s }
sub interpolate {
    my ($expr, %v) = @_;
    my %val = (job => regex_escape('proxyguard'),
               instance => $v{instance} eq '.+' ? $var{instance}{allValue} : regex_escape($v{instance}),
               __rate_interval => $RATE_INTERVAL, __interval => '1s',
               __range => (int(time) - $start + 1) . 's');
    $expr =~ s/\$\{?(\w+)\}?/$val{$1} \/\/ die "the test has no value for \$$1 in $expr\n"/ge;
    return $expr;
}
is(interpolate('{instance=~"$instance"}', instance => '127.0.0.1:80'), '{instance=~"127\\\\.0\\\\.0\\\\.1:80"}',
   'a single instance interpolated as Grafana does (regex-escaped)');
is(value_of($prom->query(interpolate('count(proxyguard_build_info{instance=~"$instance"})', instance => $instance{A}))), 1,
   '... and Prometheus reads it as that one instance');
is($prom->query('sum(proxyguard_hits_total{')->{status}, 'error', 'a broken query is an error (so the checks below can fail)');

# What a target's series reach over the test: max over time, per instance.
sub range_max {
    my ($r) = @_;
    my %max;
    for my $s (@{ $r->{data}{result} || [] }) {
        my $inst = $s->{metric}{instance} // 'all';
        for my $v (@{ $s->{values} || [] }) {
            $max{$inst} = $v->[1] if !defined $max{$inst} || $v->[1] > $max{$inst};
        }
    }
    return \%max;
}
my $zero_for_A = qr/network_bans|ban_store_(?:calls|failures)|details_skipped/;
my $end = int time;
for my $p (@graphs) {
    for my $t (@{ $p->{targets} }) {
        my $what = "$p->{title} $t->{refId}";
        for my $inst ($instance{A}, $instance{B}, '.+') {
            my $expr = interpolate($t->{expr}, instance => $inst);
            my $label = $inst eq '.+' ? 'All' : $target_of{$inst};
            my $now = $prom->query($expr);
            is($now && $now->{status}, 'success', "$what ($label): the instant query runs")
                or diag "$expr\n", explain($now);
            my $r = $prom->query_range($expr, $start, $end, 1);
            is($r && $r->{status}, 'success', "$what ($label): the range query runs") or diag "$expr\n", explain($r);
            next if $label eq 'B';
            ok(@{ $r->{data}{result} || [] }, "$what ($label): data") or diag $expr;
            next unless $label eq 'A';
            my @max = values %{ range_max($r) };
            if ($t->{expr} =~ $zero_for_A) {
                is_deeply([ grep { $_ != 0 } @max ], [], "$what (A): 0, as A's scrape says (no IPv6, no shared store, no contention)");
            }
            else {
                ok(@max && !grep({ $_ <= 0 } @max), "$what (A): above 0 (@max)") or diag $expr;
            }
        }
    }
}
for my $p (grep { $_->{targets}[0]{expr} =~ /^\w*\(?proxyguard_ban_store_up\{/ } @graphs) {
    my $r = $prom->query(interpolate($p->{targets}[0]{expr}, instance => $instance{B}));
    is(value_of($r), 0, "$p->{title} (B): 0, its store is down");
}

# --- metric names ---------------------------------------------------------------
# The metric names of a PromQL expression: identifiers outside strings,
# label matchers, ranges, grouping lists, not called as functions and not
# keywords.
sub metric_names {
    my ($expr) = @_;
    $expr =~ s/"(?:[^"\\]|\\.)*"//g;
    $expr =~ s/\{[^}]*\}/ /g;
    $expr =~ s/\[[^\]]*\]/ /g;
    $expr =~ s/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/ /g;
    my %kw = map { $_ => 1 } qw(and or unless bool offset by without on ignoring group_left group_right inf nan);
    my %n;
    while ($expr =~ /(?<![\w:.])([a-zA-Z_:][\w:]*)(\s*\()?/g) {
        $n{$1}++ unless $2 || $kw{ lc $1 };
    }
    return sort keys %n;
}
sub unknown_names {
    my (@exprs) = @_;
    return grep { !$exported{$_} && !$rules->{records}{$_} && $_ ne 'up' } map { metric_names($_) } @exprs;
}
my @dash_exprs = ((map { $_->{expr} } map { @{ $_->{targets} } } @graphs),
                  map { $var{$_}{query} =~ /^label_values\((.+),\s*\w+\)$/ } qw(job instance));
my @rule_exprs = map { $_->{expr} } values(%{ $rules->{alerts} }), values(%{ $rules->{records} });
my @used = map { metric_names($_) } @dash_exprs;
ok(@used >= 20, scalar(@used) . ' metric names used in the dashboard');
is_deeply([ unknown_names(@dash_exprs) ], [], 'the dashboard uses only metrics the module exports or the rules record');
is_deeply([ unknown_names(@rule_exprs) ], [], 'the rules use only metrics the module exports, the rules record, or up');
is_deeply([ unknown_names('sum by (reason) (rate(proxyguard_hit_total{job=~"$job"}[5m])) / on (job) proxyguard_bans_capacity') ],
          [ 'proxyguard_hit_total' ], 'the name check flags a misspelt metric (and only it)');

# --- the rules, evaluated -------------------------------------------------------
my $groups = PGPrometheus::poll(sub {
    my $r = $prom->api('/api/v1/rules');
    my @rules = map { @{ $_->{rules} } } @{ $r->{data}{groups} || [] };
    return (@rules && !grep { $_->{health} eq 'unknown' } @rules) ? \@rules : undef;
}, 20) || [];
is(scalar(@$groups), scalar(keys %{ $rules->{alerts} }) + scalar(keys %{ $rules->{records} }),
   'Prometheus loaded every rule of the file');
is_deeply([ map { "$_->{name}: $_->{health} $_->{lastError}" } grep { $_->{health} ne 'ok' } @$groups ], [],
          'every rule evaluated without error (health ok)');

my %want = (ProxyGuardBanStoreDown => 'B', ProxyGuardTargetDown => 'C', ProxyGuardMailPortConnects => 'A',
            ProxyGuardBansRefused => 'A', ProxyGuardBanListNearlyFull => 'A', ProxyGuardClientTableFull => 'A');
my $alerts = PGPrometheus::poll(sub {
    my $r = $prom->api('/api/v1/alerts');
    my %got;
    push @{ $got{ $_->{labels}{alertname} } }, $target_of{ $_->{labels}{instance} } // '?' for @{ $r->{data}{alerts} || [] };
    return (grep { !$got{$_} } keys %want) ? undef : \%got;
}, 20) || {};
for my $name (sort keys %want) {
    is_deeply([ sort @{ $alerts->{$name} || [] } ], [ $want{$name} ], "$name: pending (or firing) for $want{$name} only");
}
is_deeply([ sort grep { !$want{$_} && $_ ne 'ProxyGuardDenyRateHigh' } keys %$alerts ], [], 'no other alert');

$prom->stop;
$_->stop for values %srv;
# its time is printed, not asserted (speed goals live in benchmarks)
diag(sprintf('the whole test took %.1f s', time - $t0));
done_testing;
