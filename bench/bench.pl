#!/usr/bin/perl
# make bench, the timings: mod_proxyguard against stock httpd and
# ModSecurity+CRS, on loopback, in one run.  Configurations are measured
# alternately (A B C A B C ...) so that drift on a shared 2-core machine
# hits all of them alike; the table shows medians and ratios, and CPU per
# request from the httpd processes' own accounting (/proc), since wrk
# competes for the same cores.  Also: legitimate throughput with the ban
# store on memcached and redis against the local store, a flood by IP
# address (counted only) against stock, and the latency of counted hits
# while four readers poll the status page of a 1,048,576-entry table.
# Instruction counts, repeatable where timings are not, are
# bench/callgrind.pl's.
#
#   BENCH_SECS=10 BENCH_ROUNDS=5 perl bench/bench.pl
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use List::Util qw(sum);
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(sleep time);
use PGDaemon;
use PGHttp;
use PGTest;

# PGTest speaks TAP; a benchmark prints a table instead.
Test::More->builder->output('/dev/null');
Test::More->builder->failure_output('/dev/null');
Test::More->builder->no_ending(1);

my $secs = $ENV{BENCH_SECS} || 10;
my $rounds = $ENV{BENCH_ROUNDS} || 5;
my $clk = POSIX::sysconf(POSIX::_SC_CLK_TCK()) || 100;
$ENV{PG_MPM} = 'event';

my $page = 'x' x 130 . "\n";    # a 131-byte static page
my $mpm_conf = "StartServers 2\nServerLimit 16\nThreadLimit 64\nThreadsPerChild 25\n"
             . "MinSpareThreads 25\nMaxSpareThreads 75\nMaxRequestWorkers 150\n"
             . "KeepAliveTimeout 5\nMaxKeepAliveRequests 0\n";

sub vhosts {
    my ($s) = @_;
    my $port = $s->port;
    $s->write_file('htdocs/site/index.html', $page);
    return "LogLevel warn\n<VirtualHost *:$port>\n    ServerName www.example.com\n"
         . "    DocumentRoot \"$s->{dir}/htdocs/site\"\n</VirtualHost>\n";
}

sub modsec_conf {
    my ($s) = @_;
    open my $in, '<', '/etc/modsecurity/modsecurity.conf-recommended' or die $!;
    my $text = do { local $/; <$in> };
    $text =~ s{^SecAuditLog\s+\S+}{SecAuditLog "$s->{dir}/logs/modsec_audit.log"}m;
    $text =~ s{^SecUnicodeMapFile\s+(\S+)}{SecUnicodeMapFile /etc/modsecurity/$1}m;
    return $s->write_file('modsecurity.conf', $text);
}

sub modsecurity_available {
    return -f '/usr/lib/apache2/modules/mod_security2.so'
        && -f '/usr/share/modsecurity-crs/owasp-crs.load';
}

# "stock again" is a second server configured exactly as "stock": what
# its ratio to stock shows is this machine's noise, not a difference.
my %server = (
    stock => PGTest->new(plain_logs => 1, name => 'bench-stock', load_module => 0, mpm_conf => $mpm_conf,
                         loglevel => 'warn', conf => \&vhosts),
    'stock again' => PGTest->new(plain_logs => 1, name => 'bench-stock2', load_module => 0,
                                 mpm_conf => $mpm_conf, loglevel => 'warn', conf => \&vhosts),
    module => PGTest->new(plain_logs => 1, name => 'bench-module', mpm_conf => $mpm_conf, loglevel => 'warn',
                          conf => \&vhosts),
);
my @legit_configs = ('stock', 'stock again', 'module');

# ProxyGuardBan with the local store, and with each shared store that is
# installed: legitimate requests never wait on the network.
my %daemon;
my @ban_configs = ('ban-local');
$server{'ban-local'} = PGTest->new(plain_logs => 1, name => 'bench-ban-local', mpm_conf => $mpm_conf, loglevel => 'warn',
    conf => sub { "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
                  . "ProxyGuardBan 10 60 600\n" . vhosts($_[0]) });
for my $kind (PGDaemon::kinds()) {
    my $d = PGDaemon->new($kind);
    if (!$d->installed) {
        print "ban store on $kind skipped: " . $d->bin . " not installed\n";
        next;
    }
    $daemon{$kind} = $d->start;
    $server{"ban-$kind"} = PGTest->new(plain_logs => 1, name => "bench-ban-$kind", mpm_conf => $mpm_conf,
        loglevel => 'warn', conf => sub { "ProxyGuardBan 10 60 600\n" . $d->config . vhosts($_[0]) });
    push @ban_configs, "ban-$kind";
}

# ProxyGuardTableSize 1048576, clients told apart by X-Forwarded-For
# (mod_remoteip) so that the hits fill the table, and the status page.
$server{big} = PGTest->new(plain_logs => 1, name => 'bench-big', mpm_conf => $mpm_conf, loglevel => 'warn',
    conf => sub {
        my ($s) = @_;
        "LoadModule remoteip_module $PGTest::MODULES/mod_remoteip.so\n"
        . "RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n"
        . "ProxyGuardTableSize 1048576\n" . $s->status_location . vhosts($s);
    });
if (modsecurity_available()) {
    $server{modsecurity} = PGTest->new(plain_logs => 1, name => 'bench-modsec', load_module => 0,
        mpm_conf => $mpm_conf, loglevel => 'warn', conf => sub {
            my ($s) = @_;
            mkdir "$s->{dir}/modsec";
            return "LoadModule unique_id_module $PGTest::MODULES/mod_unique_id.so\n"
                 . "LoadModule security2_module $PGTest::MODULES/mod_security2.so\n"
                 # the recommended file names /var/log/apache2 for its audit log:
                 # a copy with our path, then the rule engine on and no audit log
                 . "Include \"" . modsec_conf($s) . "\"\n"
                 . "SecRuleEngine On\nSecAuditEngine Off\n"
                 . "SecDataDir \"$s->{dir}/modsec\"\nSecTmpDir \"$s->{dir}/modsec\"\n"
                 . "Include /usr/share/modsecurity-crs/owasp-crs.load\n" . vhosts($s);
        });
    push @legit_configs, 'modsecurity';
}
else {
    print "ModSecurity+CRS column skipped: libapache2-mod-security2 / modsecurity-crs not installed\n";
}
$_->start for values %server;

# CPU seconds (user + system) of httpd's parent and children so far.
sub httpd_cpu {
    my ($srv) = @_;
    my $ticks = 0;
    for my $pid ($srv->{pid}, split ' ', `pgrep -P $srv->{pid}`) {
        my $stat = $srv->slurp_abs("/proc/$pid/stat");
        my @f = split ' ', substr($stat, rindex($stat, ')') + 2);
        $ticks += $f[11] + $f[12] if @f > 12;     # utime, stime
    }
    return $ticks / $clk;
}

# A wrk script sending one raw request, or (a Lua function's body) what
# it returns.
sub wrk_script {
    my ($srv, $name, $raw, $lua_body) = @_;
    if (defined $raw) {
        (my $lua = $raw) =~ s/\r/\\r/g;
        $lua =~ s/\n/\\n/g;
        $lua_body = "return \"$lua\"";
    }
    return $srv->write_file("$name.lua", "request = function() $lua_body end\n");
}

# One wrk run; returns requests/s, CPU us per request, error_log bytes per
# request and the latency percentiles (ms).
sub wrk_run {
    my ($srv, $script, $conns, $path) = @_;
    my $log0 = -s "$srv->{dir}/logs/error_log";
    my $cpu0 = httpd_cpu($srv);
    my $out = `wrk -t2 -c$conns -d${secs}s --latency -s $script http://127.0.0.1:@{[ $srv->port ]}${\ ($path // '/')} 2>&1`;
    my $cpu = httpd_cpu($srv) - $cpu0;
    my $log = (-s "$srv->{dir}/logs/error_log") - $log0;
    my ($requests) = $out =~ /(\d+) requests in/;
    my ($rps) = $out =~ /Requests\/sec:\s+([\d.]+)/;
    die "wrk failed:\n$out" unless $requests;
    my %ms;
    while ($out =~ /^\s+(50|99)%\s+([\d.]+)(us|ms|s)$/mg) {
        $ms{$1} = $2 * { us => 0.001, ms => 1, s => 1000 }->{$3};
    }
    return { rps => $rps, cpu_us => 1e6 * $cpu / $requests, log_bytes => $log / $requests,
             requests => $requests, p50 => $ms{50}, p99 => $ms{99} };
}

sub measure {
    my ($srv, $raw) = @_;
    return wrk_run($srv, wrk_script($srv, 'bench', $raw), 50);
}

sub median {
    my @v = sort { $a <=> $b } @_;
    return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

my %raw = (
    legit    => "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
    absolute => "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n",
    connect  => "CONNECT 59.124.98.13:25 HTTP/1.1\r\nHost: 59.124.98.13:25\r\n\r\n",
    # what every scanner sends: the server's address as Host (unknown-host,
    # counted under Detect, answered as stock httpd answers it)
    byip     => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
);

# What each configuration answers, so the table says what it measured.
my %answer;
for my $name (grep { $_ ne 'big' } sort keys %server) {
    for my $kind (sort keys %raw) {
        $answer{$name}{$kind} = PGHttp::raw_request($server{$name}->port, $raw{$kind})->{status};
    }
}

my %runs;
my @plan = ((map { [ 'legit', $_ ] } @legit_configs, @ban_configs),
            (map { [ $_->[0], $_->[1] ] } [ 'absolute', 'stock' ], [ 'absolute', 'module' ],
                                          [ 'connect', 'stock' ], [ 'connect', 'module' ],
                                          [ 'byip', 'stock' ], [ 'byip', 'module' ]));
print "mod_proxyguard benchmark: $rounds rounds x @{[ scalar @plan ]} runs of ${secs} s, alternating\n";
for my $round (1 .. $rounds) {
    for my $p (@plan) {
        my ($kind, $name) = @$p;
        push @{ $runs{$kind}{$name} }, measure($server{$name}, $raw{$kind});
        printf "  round %d %-9s %-12s %9.0f req/s %7.1f us/req\n", $round, $kind, $name,
               $runs{$kind}{$name}[-1]{rps}, $runs{$kind}{$name}[-1]{cpu_us};
    }
}

# Hits from ever new client addresses (so that they fill the table) while
# four readers read the status page's HTML view (the heaviest: lists, top
# clients): none; each polling every 100 ms; back to back.  Throughput of
# counted hits (unknown-host) from wrk; latency of rejected hits (an
# absolute URI: 403, counted with every detail, so each waits for the
# table's mutex) from a paced client, one request every 2 ms on a
# kept-alive connection, each timed: wrk's closed loop saturates the two
# cores and would time its own queueing.
my $big = $server{big};
my $hits = wrk_script($big, 'hits', undef,
    'return wrk.format(nil, "/", { ["Host"] = "127.0.0.1", ["X-Forwarded-For"] = '
    . 'string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254)) })');
my $poll = wrk_script($big, 'poll', "GET /proxyguard-status HTTP/1.1\r\nHost: www.example.com\r\n\r\n");

# Latencies (ms) of paced rejected hits for $secs seconds.
sub paced_hits {
    my ($srv) = @_;
    my $c = PGHttp::Conn->new($srv->port);
    my ($next, $end, @ms) = (time, time + $secs);
    while ($next < $end) {
        my $xff = join '.', 10, map { int rand 256 } 1 .. 3;
        my $t0 = time;
        my $res = $c->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n"
                              . "X-Forwarded-For: $xff\r\n\r\n");
        die "paced hit: status $res->{status}\n" unless $res->{status} == 403;
        push @ms, 1000 * (time - $t0);
        $next += 0.002;
        my $wait = $next - time;
        sleep($wait) if $wait > 0;
    }
    $c->close;
    my @sorted = sort { $a <=> $b } @ms;
    return { p50 => $sorted[int(@sorted * 0.50)], p99 => $sorted[int(@sorted * 0.99)],
             max => $sorted[-1] };
}

# Runs $code while four readers read the status page (every $interval
# seconds each, or back to back); returns its result and the pages/s.
sub while_read {
    my ($interval, $code) = @_;
    my @pids;
    unlink map { "$big->{dir}/reader$_.out" } 1 .. 4;
    for my $reader (1 .. 4) {
        my $pid = fork // die;
        if (!$pid) {
            if (!$interval) {
                exec "wrk -t1 -c1 -d${secs}s -s $poll http://127.0.0.1:@{[ $big->port ]}/proxyguard-status "
                   . ">$big->{dir}/reader$reader.out 2>&1";
            }
            # a child: whatever happens, it reports and leaves here
            my ($next, $end, $pages) = (time, time + $secs, 0);
            my $ok = eval {
                my $c = PGHttp::Conn->new($big->port);
                while ($next < $end) {
                    my $res = $c->request("GET /proxyguard-status HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
                    die "status page: status $res->{status}\n" unless $res->{status} == 200;
                    $pages++;
                    $next += $interval;
                    my $wait = $next - time;
                    sleep($wait) if $wait > 0;
                }
                1;
            };
            $big->write_file("reader$reader.out", "$pages requests in\n" . ($ok ? '' : "failed: $@"));
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    my $r = $code->();
    waitpid($_, 0) for @pids;
    my @out = map { $big->slurp("reader$_.out") } 1 .. 4;
    my @failed = grep { /failed:/ } @out;
    die "a status reader failed:\n@failed" if @failed;
    my $pages = sum(map { (/(\d+) requests in/)[0] // die "a status reader said nothing\n" } @out);
    return ($r, $pages / $secs);
}

my @readers = ([ 'none', undef ], [ 'polling every 100 ms', 0.1 ], [ 'back to back', 0 ]);
print "  filling the 1,048,576-entry table for ${secs} s\n";
wrk_run($big, $hits, 50);
for my $round (1 .. $rounds) {
    for my $rd (@readers) {
        my ($what, $interval) = @$rd;
        my ($wrk, $paced, $pages);
        if (defined $interval) {
            ($wrk, $pages) = while_read($interval, sub { wrk_run($big, $hits, 50) });
            ($paced) = while_read($interval, sub { paced_hits($big) });
        }
        else {
            ($wrk, $paced, $pages) = (wrk_run($big, $hits, 50), paced_hits($big), 0);
        }
        push @{ $runs{hits}{$what} }, $wrk;
        push @{ $runs{paced}{$what} }, $paced;
        push @{ $runs{pages}{$what} }, { rps => $pages };
        printf "  round %d readers %-20s hits %6.0f req/s; paced p99 %.2f ms; %.0f pages/s\n",
               $round, $what, $wrk->{rps}, $paced->{p99}, $pages;
    }
}
my $table_rows = $big->json->{table}{clients} // 0;
$_->stop for values %server;
$_->stop for values %daemon;

sub med {
    my ($kind, $name, $field) = @_;
    return median(map { $_->{$field} } @{ $runs{$kind}{$name} });
}

# The median of the rounds' own ratios of $name to $base: each round
# measured both within a minute, so a drift of the shared machine between
# rounds cancels out (a ratio of medians would carry it).
sub ratio {
    my ($kind, $name, $base, $field) = @_;
    my ($a, $b) = ($runs{$kind}{$name}, $runs{$kind}{$base});
    return median(map { $a->[$_]{$field} / $b->[$_]{$field} } 0 .. $#$a);
}

# ------------------------------------------------------------------
my @targets;
sub target {
    my ($ok, $text) = @_;
    push @targets, sprintf('%-4s %s', $ok ? 'PASS' : 'FAIL', $text);
    return $ok ? 'PASS' : 'FAIL';
}

chomp(my $cpu_model = `grep -m1 'model name' /proc/cpuinfo | cut -d: -f2`);
chomp(my $cores = `nproc`);
chomp(my $httpd = `apache2 -v | head -1`);
printf "\n## mod_proxyguard benchmark, %s\n\n", strftime('%Y-%m-%d', gmtime);
printf "Machine: %d cores (%s), shared by wrk and httpd; %s, event MPM (150 workers);\n",
       $cores, $cpu_model =~ s/^\s+//r, $httpd =~ s/^Server version: //r;
printf "wrk -t2 -c50 -d%ds per run, %d rounds alternating; medians; ratios are the median of each round's own\n"
     . "ratio.  CPU = httpd's user+system time per request.\n\n", $secs, $rounds;

print "Legitimate requests (a 131-byte static page):\n\n";
print "| configuration | answer | req/s | ratio | CPU us/req | CPU ratio |\n|---|---|---|---|---|---|\n";
for my $name (@legit_configs) {
    printf "| %s | %s | %.0f | %.3f | %.1f | %.3f |\n", $name, $answer{$name}{legit},
           med('legit', $name, 'rps'), ratio('legit', $name, 'stock', 'rps'),
           med('legit', $name, 'cpu_us'), ratio('legit', $name, 'stock', 'cpu_us');
}
printf "\n\"stock again\", configured exactly as stock, measured %.3fx stock's throughput: differences of\n"
     . "that size are this machine's noise.  The 1 %% target is judged on instruction counts (bench/callgrind.pl).\n",
       ratio('legit', 'stock again', 'stock', 'rps');
if ($server{modsecurity}) {
    my $x = ratio('legit', 'module', 'modsecurity', 'rps');
    target($x >= 10, sprintf('vs ModSecurity+CRS on legitimate traffic: %.1fx its throughput (target >= 10)', $x));
}

print "\nProxyGuardBan, legitimate requests, by ban store:\n\n";
print "| ban store | answer | req/s | ratio to local | CPU us/req |\n|---|---|---|---|---|\n";
for my $name (@ban_configs) {
    my $ratio = ratio('legit', $name, 'ban-local', 'rps');
    printf "| %s | %s | %.0f | %.3f | %.1f |\n", $name =~ s/^ban-//r, $answer{$name}{legit},
           med('legit', $name, 'rps'), $ratio, med('legit', $name, 'cpu_us');
    target($ratio >= 0.95, sprintf('legitimate throughput with the ban store on %s: %.3fx the local store\'s '
                                   . '(target >= 0.95)', $name =~ s/^ban-//r, $ratio)) if $name ne 'ban-local';
}

print "\nFloods:\n\n";
print "| flood | configuration | answer | req/s | ratio | CPU us/req | error_log B/req |\n|---|---|---|---|---|---|---|\n";
my %flood = (absolute => 'absolute-URI GET', connect => 'CONNECT', byip => 'GET, Host: the address');
for my $kind (qw(absolute connect byip)) {
    for my $name (qw(stock module)) {
        printf "| %s | %s | %s | %.0f | %.3f | %.1f | %.3f |\n", $flood{$kind},
               $name, $answer{$name}{$kind}, med($kind, $name, 'rps'),
               ratio($kind, $name, 'stock', 'rps'),
               med($kind, $name, 'cpu_us'), med($kind, $name, 'log_bytes');
    }
}
my $abs = ratio('absolute', 'module', 'stock', 'rps');
target($abs >= 1.2, sprintf('absolute-URI flood: %.2fx stock throughput (target >= 1.2)', $abs));
my $con = ratio('connect', 'module', 'stock', 'rps');
target($con >= 1.0, sprintf('CONNECT flood: %.2fx stock throughput (target >= 1.0)', $con));
my $byip = ratio('byip', 'module', 'stock', 'rps');
target($byip >= 0.95, sprintf('flood by IP address (counted only): %.3fx stock throughput (target >= 0.95)', $byip));

print "\nHits while the status page is read (ProxyGuardTableSize 1048576, $table_rows clients tracked;\n"
    . "4 readers of the HTML view; hits: counted from wrk, rejected from a paced client):\n\n";
print "| readers | status pages/s | counted hits req/s | rejected p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n";
for my $rd (@readers) {
    my $what = $rd->[0];
    printf "| %s | %.0f | %.0f | %.2f | %.2f | %.2f |\n", $what, median(map { $_->{rps} } @{ $runs{pages}{$what} }),
           median(map { $_->{rps} } @{ $runs{hits}{$what} }),
           median(map { $_->{p50} } @{ $runs{paced}{$what} }), median(map { $_->{p99} } @{ $runs{paced}{$what} }),
           median(map { $_->{max} } @{ $runs{paced}{$what} });
}
my $p99 = median(map { $_->{p99} } @{ $runs{paced}{'polling every 100 ms'} });
target($p99 <= 5, sprintf('rejected hits with 4 status readers polling, table of 1,048,576: p99 %.2f ms (target <= 5 ms)', $p99));
print "\nTargets:\n\n";
print "    $_\n" for @targets;
