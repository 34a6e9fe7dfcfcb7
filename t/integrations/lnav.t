#!/usr/bin/perl
# The lnav format conf/lnav/proxyguard_log.json, checked by lnav itself
# (Debian's lnav), on the error log of a real httpd (t/lib/PGLogLines.pm:
# every reason, deny and detect, [client] and [remote], IPv4 and IPv6,
# PG0010, PG0006, hostile URIs and Hosts carrying "[client 6.6.6.6:1]",
# "action=deny" and quotes, one of httpd's own lines).
#
# - lnav -I conf/lnav (conf/lnav/formats/proxyguard/ links to the file, the
#   layout lnav reads from a configuration directory) starts and prints
#   nothing but what it is asked: lnav checks every sample against the
#   patterns and levels and refuses to start when one fails; a format whose
#   pattern forgets [remote], and a sample of the wrong level, are refused.
# - Every sample has the shape of a line this run's httpd wrote.
# - Installed as an operator does (lnav -i, into a HOME of the test's own),
#   lnav reads the real error log with the format, every line of it, and
#   SQL on the proxyguard_log table gives each line's fields as the test
#   sent them, the client from httpd's prefix (never the hostile text's),
#   httpd's ", referer: ..." suffix (a hostile Referer's raw quotes, fake
#   backend= and [client] included) in referer and nowhere else,
#   and the hits by reason and action; a format that takes the line's last
#   "[client ...]" instead (its samples still pass lnav's check) is caught
#   reading the hostile Host's address.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use JSON::PP;
use Test::More;
use PGTest;
use PGScan;
use PGLogLines;

PGScan::need_tool('lnav', 'lnav');
PGScan::need_tool('node', 'nodejs');        # the HTTP/2 ([remote]) lines
my $top = $PGTest::TOP;
my $format = "$top/conf/lnav/proxyguard_log.json";
my $evil = PGLogLines::evil_address();

my $run = PGLogLines::run(name => 'lnav');
my $srv = $run->{srv};
my $dir = $srv->dir;
my $log = "$dir/logs/error_log";
# lnav keeps its state in ~/.lnav: a HOME of this test's own
local $ENV{HOME} = "$dir/home";
local $ENV{XDG_CONFIG_HOME} = "$dir/home/.config";
mkdir $ENV{HOME};

# (exit status, stdout and stderr) of lnav ARGS
sub lnav {
    my @args = @_;
    my $pid = open(my $fh, '-|') // die "fork: $!";
    if (!$pid) {
        open STDERR, '>&', \*STDOUT or die;
        exec 'lnav', @args or die "lnav: $!";
    }
    my $out = do { local $/; <$fh> } // '';
    close $fh;
    return ($? >> 8, $out);
}

# --- the format, as lnav checks it -----------------------------------------
my ($rc, $out) = lnav('-I', "$top/conf/lnav", '-n', '-N', '-c', ':echo ok');
is($rc, 0, 'lnav -I conf/lnav starts with the format');
is($out, "ok\n", '... and says nothing else: every sample matches one pattern, at its level') or diag $out;
my $json = JSON::PP->new->decode(PGTest->slurp_abs($format));
my $def = $json->{proxyguard_log};
my @samples = @{ $def->{sample} };

# (lnav globs "DIR/formats/*/*.json" with DIR unescaped: no brackets in DIR)
my $nbad = 0;
sub refused {
    my ($name, $edit, $reason) = @_;
    my $bad = JSON::PP->new->decode(PGTest->slurp_abs($format));
    $edit->($bad->{proxyguard_log});
    my $cfg = 'bad' . ++$nbad;
    $srv->write_file("$cfg/formats/proxyguard/proxyguard_log.json", JSON::PP->new->encode($bad));
    my ($rc, $out) = lnav('-I', "$dir/$cfg", '-n', '-N', '-c', ':echo ok');
    isnt($rc, 0, "lnav refuses a format with $name");
    like($out, $reason, '... and says why') or diag $out;
}
refused('a pattern that forgets [remote]',
        sub { $_[0]{regex}{pg_hit}{pattern} =~ s/\(\?<client_form>client\|remote\)/(?<client_form>client)/ or die },
        qr/sample does not match any patterns/);
refused('a sample of the wrong level', sub { $_[0]{sample}[0]{level} = 'error' },
        qr/does not match the expected level/);

# the samples are lines a real httpd writes: each has the shape of one of this run's
my %shapes = map { PGLogLines::shape($_) => 1 } split /\n/, $run->{log};
my @unreal = grep { !$shapes{ PGLogLines::shape($_->{line}) } } @samples;
is_deeply([ map { $_->{line} } @unreal ], [], 'every sample has the shape of a line this run\'s httpd wrote');
my %forms;
for (@samples) {
    $forms{"$1 IPv" . ($2 =~ /:/ ? 6 : 4)}++ if $_->{line} =~ /\] \[(client|remote) (\S+):\d+\] PG0001: /;
}
is_deeply([ sort keys %forms ], [ 'client IPv4', 'client IPv6', 'remote IPv4', 'remote IPv6' ],
          'samples of PG0001 lines: [client] and [remote], IPv4 and IPv6');
ok(grep({ $_->{line} =~ /\] PG0001: .*", referer: .*" backend="/ } @samples)
   && grep({ $_->{line} =~ /\] PG0010: .*, referer: / } @samples),
   'samples with httpd\'s ", referer: ..." suffix: a PG0001 line with a hostile one, a PG0010 line');

# --- installed as an operator does, on the real error log ------------------
($rc, $out) = lnav('-i', $format);
is($rc, 0, 'lnav -i installs the format') or diag $out;
ok(-f "$ENV{HOME}/.lnav/formats/installed/proxyguard_log.json", '... into ~/.lnav/formats/installed (the test\'s HOME)');

my @fields = qw(tag client_form client action reason vhost method uri host backend referer);
my %query = (
    file  => 'SELECT format, lines FROM lnav_file',
    lines => 'SELECT log_line, log_level, log_time, ' . join(', ', @fields) . ' FROM proxyguard_log ORDER BY log_line',
    # the smoke query: hits by reason and action, and who sent them
    hits  => "SELECT reason, action, count(*) AS hits, group_concat(DISTINCT client) AS clients"
             . " FROM proxyguard_log WHERE tag = 'PG0001' GROUP BY reason, action ORDER BY reason, action",
);
# (lnav's exit status and output, { query name => rows }) for the queries
# on the error log, lnav run with ARGS (and its HOME)
sub queries {
    my ($tag, @args) = @_;
    my @cmds = map { ('-c', ";$query{$_}", '-c', ":write-json-to $dir/$tag-$_.json") } sort keys %query;
    my ($rc, $out) = lnav('-n', '-q', @args, @cmds, $log);
    return ($rc, $out, { map { $_ => eval { JSON::PP->new->decode($srv->slurp("$tag-$_.json")) } || [] } keys %query });
}
my @file = split /\n/, $run->{log};
my %index;
@index{@file} = 0 .. $#file;
# each line the test's requests made: (what lnav read, what was sent)
sub as_sent {
    my ($res) = @_;
    my %row = map { $_->{log_line} => $_ } @{ $res->{lines} };
    my (@got, @want);
    for my $l (@{ $run->{lines} }) {
        my $r = $row{ $index{ $l->{line} } // -1 } || {};
        my $pg = $l->{tag} eq 'PG0001';
        push @want, { tag => $l->{tag} =~ /^PG/ ? $l->{tag} : undef, client_form => $l->{form}, client => $l->{from},
                      (map { $_ => $pg ? $l->{$_} : undef } qw(action reason vhost method uri host backend referer)) };
        push @got, { map { $_ => $r->{$_} } @fields };
    }
    return (\@got, \@want);
}

($rc, $out, my $res) = queries('installed');
my %res = %$res;
is($rc, 0, 'lnav -n runs the queries on the error log') or diag $out;
unlike($out, qr/error/i, '... without an error') or diag $out;
is_deeply($res{file}, [ { format => 'proxyguard_log', lines => scalar @file } ],
          'lnav reads the error log with the proxyguard_log format');
is(scalar @{ $res{lines} }, scalar @file, 'every line is a message of its own (each matched a pattern: '
                                          . scalar(@file) . ' lines)');
my ($got, $want) = as_sent(\%res);
is_deeply($got, $want, 'SQL: each line\'s tag, client (httpd\'s prefix), action, reason, vhost, method, uri, host, backend, referer'
                       . ' as the test sent them (' . scalar(@$want) . ' lines)');
my @hostile = grep { ($_->{uri} // '') =~ /\[client%20\Q$evil\E:1\]/ && ($_->{host} // '') =~ /\[client \Q$evil\E:1\] action=deny/ } @$got;
is(scalar @hostile, 2, 'two hostile lines (deny, detect) read, their fake [client] and action=deny kept in uri and host');
ok(!grep({ ($_->{client} // '') eq $evil } @{ $res{lines} }), "no line's client is $evil, the hostile text's");
# httpd's ", referer: ..." suffix: a hostile Referer's quotes and fake
# backend= stay in referer
my @ref = grep { defined $_->{referer} } @$got;
my @hostile_ref = grep { $_->{referer} =~ /" backend="http:\/\/\Q$evil\E:25\/ \[client \Q$evil\E:1\] action=deny$/ } @ref;
ok(@ref >= 4 && @hostile_ref == 1 && !defined $hostile_ref[0]{backend} && $hostile_ref[0]{host} eq 'evil.test',
   'lines with a Referer read (' . scalar(@ref) . '): the hostile one\'s fake backend= and [client] stay in referer');

my %sent = map { $_->{from} => 1 } @{ $run->{lines} };
my @clients = grep { defined } map { $_->{client} } @{ $res{lines} };
ok(@clients && !grep({ !$sent{$_} } @clients), 'every client lnav reads is an address the test sent from');

# the check can fail: a format that takes the line's last [client ...]
# (all its samples still match) reads the hostile Host's address
my $naive = JSON::PP->new->decode(PGTest->slurp_abs($format));
$naive->{proxyguard_log}{regex}{pg_hit}{pattern} =~ s{\\\[pid (.*?)\\\] \\\[\(\?<client_form>client\|remote\) \(\?<client>(.*?)\):\(\?<client_port>(.*?)\)\\\]}
    {(?=.*\\[(?<client_form>client|remote) (?<client>$2):(?<client_port>$3)\\])\\[pid $1\\] \\[(?:client|remote) [^\\]]+\\]}
    or die 'no [client] in pg_hit';
$srv->write_file('naive/formats/proxyguard/proxyguard_log.json', JSON::PP->new->encode($naive));
{
    local $ENV{HOME} = "$dir/home-naive";
    mkdir $ENV{HOME};
    my ($nrc, $nout, $nres) = queries('naive', '-I', "$dir/naive");
    my ($ngot) = as_sent($nres);
    ok(scalar(@{ $nres->{lines} }) == @file && grep({ ($_->{client} // '') eq $evil } @$ngot),
       "a format taking the line's last [client] loads, and this test sees it read $evil") or diag $nout;
}

# httpd's levels in lnav's names
my %level = (emerg => 'fatal', alert => 'critical', crit => 'critical', error => 'error', warn => 'warning',
             notice => 'notice', info => 'info', debug => 'debug');
my (@bad_level, %levels);
for my $r (@{ $res{lines} }) {
    my ($l) = $file[ $r->{log_line} ] =~ /^\[[^]]+\] \[(?:[^]:]+:)?(\w+)\]/;
    push @bad_level, $r if !$l || ($level{$l} // 'none') ne $r->{log_level};
    $levels{ $r->{log_level} } = 1;
}
is_deeply(\@bad_level, [], 'levels: httpd\'s, in lnav\'s names (' . join(', ', sort keys %levels) . ')');
ok($levels{$_}, "... $_ among them") for qw(warning info error notice);
my ($t) = $file[0] =~ /^\[\w{3} (\w{3} \d\d \d\d:\d\d:\d\d\.\d{3})/;
my %mon;
@mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = ('01' .. '12');
my ($mo, $d, $hms) = split ' ', $t;
like($res{lines}[0]{log_time}, qr/^\d{4}-\Q$mon{$mo}-$d $hms\E$/, "the time: $res{lines}[0]{log_time}");

# the smoke query against what was sent
my %hits;
for my $l (grep { $_->{tag} eq 'PG0001' } @{ $run->{lines} }) {
    my $h = $hits{"$l->{reason} $l->{action}"} //= { reason => $l->{reason}, action => $l->{action}, hits => 0, c => {} };
    $h->{hits}++;
    $h->{c}{ $l->{from} } = 1;
}
my @want_hits = map { my $h = $hits{$_}; { reason => $h->{reason}, action => $h->{action}, hits => $h->{hits},
                                           clients => join(',', sort keys %{ $h->{c} }) } } sort keys %hits;
my @got_hits = map { { %$_, clients => join(',', sort split /,/, $_->{clients}) } } @{ $res{hits} };
is_deeply(\@got_hits, \@want_hits, 'SQL: hits by reason and action, and their clients, as sent ('
                                   . scalar(@want_hits) . ' rows)');
done_testing;
