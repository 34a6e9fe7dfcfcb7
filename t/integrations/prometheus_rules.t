#!/usr/bin/perl
# conf/prometheus/proxyguard.rules.yml, checked by its own tool: promtool
# check rules, then promtool test rules on series taken from real scrapes
# of the module.
#
# Three targets: A, an httpd under attack (a 16-row table that fills, bans
# on shmcb, CONNECTs to the mail ports, 72 refusals a round); B, an httpd
# whose memcache ban store is down (a closed loopback port), with one
# refusal a round; C, a closed port (its scrape fails: up 0).  Round 0 is
# scraped before any hit, rounds 1-21 after a round of real hits each,
# rounds 22-31 after none (the attack is over).  Every scrape's sample
# lines become the unit test's input series, round r at minute r (the
# interval Prometheus would scrape at); the alerts are asserted at minutes
# 1 and 3 (every `for` still holds them, but the mail-port alert's 1m from
# minute 3), 8, 21 (the attack: each alert fires on its target, and only
# there) and 31 (the rates are quiet again; the mail-port alert, over 15
# minutes, still fires: a burst of probes must not slip through); the
# annotations are rendered from the rules file and the scraped values; the
# recording rules are evaluated at minute 21 against the scraped deltas.
# Then the rules are broken one alert at a time (never firing, firing on
# every target, no `for`) and each broken file must fail the test.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use Time::HiRes qw(time);
use PGHttp;
use PGPrometheus;
use PGScan;
use PGTest;

my $t0 = time;
PGScan::need_tool('promtool', 'prometheus');
PGPrometheus::need_yaml();
my $RULES = $PGPrometheus::RULES;
my $dir = tempdir('pgt-rules-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PG_KEEP});

sub run {
    my (@cmd) = @_;
    my $out = `@cmd 2>&1`;
    return ($? >> 8, $out);
}

# --- promtool check rules, and what the rules file promises ------------
my ($rc, $out) = run('promtool', 'check', 'rules', $RULES);
is($rc, 0, 'promtool check rules: exit 0') or diag $out;
like($out, qr/SUCCESS: \d+ rules found/, '... SUCCESS');

my $rules = PGPrometheus::rules();
my %alert = %{ $rules->{alerts} };
my %record = %{ $rules->{records} };
for my $name (sort keys %alert) {
    my $r = $alert{$name};
    like($r->{for} // '', qr/^[1-9]\d*[smh]$/, "$name: a `for`");
    like($r->{labels}{severity} // '', qr/^(critical|warning|info)$/, "$name: a severity label");
    ok(length($r->{annotations}{summary} // '') && length($r->{annotations}{description} // ''),
       "$name: summary and description");
}
for my $name (sort keys %record) {
    # level:metric:operations; a rate's metric drops _total
    like($name, qr/^[a-z_]+:proxyguard_[a-z_]+(?<!_total):(rate5m|ratio)$/,
         "$name: named level:metric:operations");
    like($record{$name}{expr}, qr/\[5m\]|:rate5m\b/, "$name: ... over 5m, as it says")
        if $name =~ /:rate5m$/;
}

# --- real scrapes -----------------------------------------------------
my %srv = (A => PGPrometheus::attacked_server(), B => PGPrometheus::store_down_server());
my %port = (A => $srv{A}->port, B => $srv{B}->port, C => PGTest::free_port());
my %instance = map { $_ => "127.0.0.1:$port{$_}" } keys %port;
my $ATTACK = 21;
my $LAST = 31;

# $series{target}{selector} = [ value at round 0 .. $LAST ] (undef: absent)
my (%series, %up);
for my $round (0 .. $LAST) {
    if ($round >= 1 && $round <= $ATTACK) {
        PGPrometheus::attack($srv{A}, $round);
        PGPrometheus::trickle($srv{B}, $round);
    }
    for my $t (qw(A B C)) {
        my ($up, $m) = PGPrometheus::scrape($port{$t});
        $up{$t}[$round] = $up;
        for my $s (@{ $up ? $m->{samples} : [] }) {
            my %l = (%{ $s->{labels} }, job => 'proxyguard', instance => $instance{$t});
            $series{$t}{ PGPrometheus::selector($s->{name}, \%l) }[$round] = $s->{value};
        }
    }
}
$_->stop for values %srv;

# The value of one series of a target at a round (labels as in the module)
sub v {
    my ($t, $name, $labels, $round) = @_;
    my %l = (%{ $labels || {} }, job => 'proxyguard', instance => $instance{$t});
    my $v = $series{$t}{ PGPrometheus::selector($name, \%l) };
    return $v && $v->[$round];
}
sub delta5 { my ($t, $n, $l, $r) = @_; v($t, $n, $l, $r) - v($t, $n, $l, $r - 5) }

# The facts the expectations below rest on, from the scrapes.
is_deeply([ map { $up{A}[$_] . $up{B}[$_] . $up{C}[$_] } 0 .. $LAST ], [ ('110') x ($LAST + 1) ],
          'A and B answer every scrape; C (a closed port) none');
is_deeply([ grep { v('B', 'proxyguard_ban_store_up', {}, $_) ne '0' } 0 .. $LAST ], [],
          'B: proxyguard_ban_store_up 0 in every scrape');
is_deeply([ grep { v('A', 'proxyguard_ban_store_up', {}, $_) ne '1' } 0 .. $LAST ], [],
          'A: proxyguard_ban_store_up 1 in every scrape');
sub denies {
    my ($t, $r) = @_;
    my $n = 0;
    $n += v($t, 'proxyguard_reason_hits_total', { reason => $_, action => 'deny' }, $r) // 0
        for qw(connect absolute-uri unknown-host proxy-header connect-port proxy-port banned
               proxy-scheme dynamic-backend);
    return $n;
}
is_deeply([ map { denies('A', $_) - denies('A', $_ - 1) } 1 .. $LAST ],
          [ (72) x $ATTACK, (0) x ($LAST - $ATTACK) ],
          'A: 72 refusals in each attack round (1.2/s at a round a minute), none after');
is_deeply([ map { denies('B', $_) - denies('B', $_ - 1) } 1 .. $LAST ],
          [ (1) x $ATTACK, (0) x ($LAST - $ATTACK) ], 'B: 1 refusal a round');
# (the ban list's buckets are chosen by seeded hashes: the first refusal
# may come before the list is full, in round 2 or 3)
is_deeply([ grep { v('A', 'proxyguard_bans_active', {}, $_) / v('A', 'proxyguard_bans_capacity', {}, $_) <= 0.7 } 5 .. $LAST ],
          [], 'A: the ban list is over 70 % full from round 5 on');
my @refusing = map { v('A', 'proxyguard_bans_refused_total', {}, $_) > v('A', 'proxyguard_bans_refused_total', {}, $_ - 1) ? 1 : 0 } 1 .. $LAST;
$refusing[1] = 'either';
is_deeply(\@refusing, [ 0, 'either', (1) x ($ATTACK - 2), (0) x ($LAST - $ATTACK) ],
          'A: bans refused in every attack round from round 3 on, none after');
is_deeply([ grep { v('A', 'proxyguard_table_clients_used', {}, $_) != v('A', 'proxyguard_table_clients_capacity', {}, $_) } 1 .. $LAST ],
          [], 'A: the client table is full from round 1 on');
ok(v('A', 'proxyguard_connect_port_hits_total', { port => $_ }, $ATTACK) > 0, "A: CONNECTs to port $_")
    for 25, 465, 587;
is(v('B', 'proxyguard_connect_port_hits_total', { port => 25 }, $ATTACK), 0,
   'B: none to port 25 (its series is there from the start, 0)');

# --- the unit test file -------------------------------------------------
my @input;
for my $t (sort keys %series) {
    for my $sel (sort keys %{ $series{$t} }) {
        my $vals = $series{$t}{$sel};
        push @input, { series => $sel,
                       values => join ' ', map { $vals->[$_] // '_' } 0 .. $LAST };
    }
}
push @input, map { { series => PGPrometheus::selector('up', { job => 'proxyguard', instance => $instance{$_} }),
                     values => join ' ', @{ $up{$_} } } } qw(A B C);

# Go's template functions the annotations use, and only those
sub render {
    my ($text, $labels, $value) = @_;
    $text =~ s{\{\{\s*(.*?)\s*\}\}}{
        my $x = $1;
        $x =~ /^\$labels\.(\w+)$/ ? $labels->{$1}
      : $x =~ /^printf "(%\.\d+f)" \$value$/ ? sprintf($1, $value)
      : $x eq '$value | humanizePercentage' ? sprintf('%.4g%%', $value * 100)
      : die "the test does not render {{ $x }}\n"
    }ge;
    return $text;
}

# Which alert fires where, with what value: minute => alert => [ [target, value] ]
my $refused = sub { delta5($_[0], 'proxyguard_bans_refused_total', {}, $_[1]) / 300 };
my $bans_ratio = sub { v($_[0], 'proxyguard_bans_active', {}, $_[1]) / v($_[0], 'proxyguard_bans_capacity', {}, $_[1]) };
my $clients_ratio = sub { v($_[0], 'proxyguard_table_clients_used', {}, $_[1]) / v($_[0], 'proxyguard_table_clients_capacity', {}, $_[1]) };
my $deny_rate = sub { (denies($_[0], $_[1]) - denies($_[0], $_[1] - 5)) / 300 };
my %extra_labels = (ProxyGuardDenyRateHigh => { action => 'deny' });
# ProxyGuardMailPortConnects: over 15 minutes, so from minute 2 (its
# first hits at 1, then for: 1m) to well after the attack's end
my %expect = (
    1  => {},
    3  => { ProxyGuardMailPortConnects => [ [ 'A', 0 ] ] },
    8  => { ProxyGuardTargetDown => [ [ 'C', 0 ] ], ProxyGuardBanStoreDown => [ [ 'B', 0 ] ],
            ProxyGuardBansRefused => [ [ 'A', $refused->('A', 8) ] ],
            ProxyGuardMailPortConnects => [ [ 'A', 0 ] ] },
    21 => { ProxyGuardTargetDown => [ [ 'C', 0 ] ], ProxyGuardBanStoreDown => [ [ 'B', 0 ] ],
            ProxyGuardBansRefused => [ [ 'A', $refused->('A', 21) ] ],
            ProxyGuardBanListNearlyFull => [ [ 'A', $bans_ratio->('A', 21) ] ],
            ProxyGuardClientTableFull => [ [ 'A', $clients_ratio->('A', 21) ] ],
            ProxyGuardDenyRateHigh => [ [ 'A', $deny_rate->('A', 21) ] ],
            ProxyGuardMailPortConnects => [ [ 'A', 0 ] ] },
    31 => { ProxyGuardTargetDown => [ [ 'C', 0 ] ], ProxyGuardBanStoreDown => [ [ 'B', 0 ] ],
            ProxyGuardBanListNearlyFull => [ [ 'A', $bans_ratio->('A', 31) ] ],
            ProxyGuardMailPortConnects => [ [ 'A', 0 ] ] },
);
my (@alert_tests, %fires, %silent);
for my $minute (sort { $a <=> $b } keys %expect) {
    for my $name (sort keys %alert) {
        my @exp;
        for my $f (@{ $expect{$minute}{$name} || [] }) {
            my ($t, $value) = @$f;
            my %labels = (job => 'proxyguard', instance => $instance{$t}, %{ $alert{$name}{labels} },
                          %{ $extra_labels{$name} || {} });
            push @exp, { exp_labels => \%labels,
                         exp_annotations => { map { $_ => render($alert{$name}{annotations}{$_}, \%labels, $value) }
                                              keys %{ $alert{$name}{annotations} } } };
            $fires{$name}{$t}++;
        }
        $silent{$name}{$_}++ for grep { my $t = $_; !grep { $_->[0] eq $t } @{ $expect{$minute}{$name} || [] } } qw(A B C);
        push @alert_tests, { eval_time => "${minute}m", alertname => $name, exp_alerts => \@exp };
    }
}
for my $name (sort keys %alert) {
    ok(scalar(keys %{ $fires{$name} || {} }), "$name: a case where it fires (" . join(',', sort keys %{ $fires{$name} || {} }) . ')');
    ok(scalar(keys %{ $silent{$name} || {} }), "$name: a case where it stays silent");
}
my %known = map { $_ => 1 } map { keys %$_ } values %expect;
is_deeply([ grep { !$known{$_} } sort keys %alert ], [], 'every alert of the file fires somewhere in the expectations');

# The recording rules at minute 21, against the scraped values: a rate as
# its 5-minute increase (round(rule * 300): the scrapes are a minute
# apart, so the window holds exactly rounds 16-21), a ratio as it is.
sub canon { my ($l) = @_; join ',', map { "$_=$l->{$_}" } sort keys %$l }
my %recorded;    # name => { canon labels => [labels, value] }
sub series_of {
    my ($name, $round) = @_;
    return $recorded{$name} if $recorded{$name};
    my %out;
    for my $t (sort keys %series) {
        for my $sel (keys %{ $series{$t} }) {
            my ($n, $l) = $sel =~ /^([^{]+)\{(.*)\}$/ or next;
            next unless $n eq $name;
            my %l = $l =~ /(\w+)="((?:[^"\\]|\\.)*)"/g;
            $out{ canon(\%l) } = [ \%l, $series{$t}{$sel}[$round], $series{$t}{$sel}[$round - 5] ];
        }
    }
    return \%out;
}
my @expr_tests;
for my $name (@{ $rules->{recorded} }) {
    my $expr = $record{$name}{expr};
    my %out;
    if ($expr =~ /^rate\((\w+)\[5m\]\)$/) {
        my $in = series_of($1, $ATTACK);
        for my $k (keys %$in) {
            my ($l, $now, $then) = @{ $in->{$k} };
            die "$name: $k has no full window\n" unless defined $now && defined $then;
            $out{$k} = [ $l, $now - $then ];
        }
    }
    elsif ($expr =~ /^sum without \((\w+)\) \(([\w:]+)\)$/) {
        my ($drop, $from) = ($1, $2);
        for my $e (values %{ $recorded{$from} or die "$name: $from not recorded before it\n" }) {
            my %l = %{ $e->[0] };
            delete $l{$drop};
            $out{ canon(\%l) }[0] = \%l;
            $out{ canon(\%l) }[1] += $e->[1];
        }
    }
    elsif ($expr =~ /^(\w+) \/ (\w+)$/) {
        my ($num, $den) = (series_of($1, $ATTACK), series_of($2, $ATTACK));
        $out{$_} = [ $num->{$_}[0], $num->{$_}[1] / $den->{$_}[1] ] for grep { $den->{$_} } keys %$num;
    }
    else {
        fail("$name: the test has no oracle for `$expr`");
        next;
    }
    $recorded{$name} = \%out;
    ok(scalar(keys %out), "$name: series to expect at minute $ATTACK (" . scalar(keys %out) . ')');
    my $rate = $name =~ /:rate5m$/;
    push @expr_tests, {
        expr => $rate ? "round($name * 300)" : $name,
        eval_time => "${ATTACK}m",
        exp_samples => [ map { { labels => PGPrometheus::selector($rate ? '' : $name, $_->[0]),
                                 value => $_->[1] } } map { $out{$_} } sort keys %out ],
    };
}

my $unit = {
    rule_files => [ $RULES ],
    evaluation_interval => '1m',
    group_eval_order => $rules->{groups},
    tests => [ { interval => '1m', input_series => \@input,
                 alert_rule_test => \@alert_tests, promql_expr_test => \@expr_tests } ],
};
YAML::XS::DumpFile("$dir/proxyguard.test.yml", $unit);
($rc, $out) = run('promtool', 'test', 'rules', "$dir/proxyguard.test.yml");
is($rc, 0, 'promtool test rules on the real scrapes: '
           . @input . ' input series, ' . @alert_tests . ' alert cases, ' . @expr_tests . ' recording cases')
    or diag $out;
like($out, qr/SUCCESS/, '... SUCCESS');

# --- broken rules must fail it ---------------------------------------------
my %mutants = (
    'never fires'    => sub { $_[0]{expr} = 'vector(1) < 0' },
    'fires on every target' => sub { $_[0]{expr} = "($_[0]{expr}) or on (job, instance) (up * 0 + 1)" },
    'no for'         => sub { $_[0]{for} = '0s' },
);
for my $name (sort keys %alert) {
    for my $m (sort keys %mutants) {
        my $broken = YAML::XS::LoadFile($RULES);
        my ($r) = grep { ($_->{alert} // '') eq $name } map { @{ $_->{rules} } } @{ $broken->{groups} };
        $mutants{$m}->($r);
        YAML::XS::DumpFile("$dir/broken.rules.yml", $broken);
        my $t = { %$unit, rule_files => [ "$dir/broken.rules.yml" ] };
        YAML::XS::DumpFile("$dir/broken.test.yml", $t);
        my ($brc, $bout) = run('promtool', 'test', 'rules', "$dir/broken.test.yml");
        ok($brc != 0 && $bout =~ /\Q$name\E/, "$name broken ($m): promtool test rules fails on it")
            or diag $bout;
    }
}

# its time is printed, not asserted (speed goals live in benchmarks)
diag(sprintf('the whole test took %.1f s', time - $t0));
done_testing;
