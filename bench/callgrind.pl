#!/usr/bin/perl
# make bench, the instruction counts: what the module adds to httpd's own
# work per request, counted by callgrind (deterministic, unlike timings on a
# shared 2-core machine).  The method of issue 11: httpd -X, prefork,
# keep-alive (MaxKeepAliveRequests 0), run as www-data; W warm-up requests
# on one connection, a callgrind dump, M measured requests on one
# connection, another dump: the second dump holds exactly those M requests.
# "stock" is the same configuration without the module; the module's share
# is (module - stock) / stock.  Also the start-up of 2,000 and 10,000
# vhosts, stock and module, to the first request served; and, for the
# first case, stock with an empty module (bench/mod_pgnull.c): what
# loading any module costs, apart from what this one's code does.
#
#   BENCH_W=100 BENCH_M=1000 perl bench/callgrind.pl
# BENCH_CASES=regex runs the cases it matches; PG_KEEP=1 keeps the dumps
# (kept.stock|module|empty.<pid>.<n> in each server directory) for
# callgrind_annotate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../t/lib";
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use PGDaemon;
use PGHttp;
use PGTest;

my $W = $ENV{BENCH_W} || 100;
my $M = $ENV{BENCH_M} || 1000;
$ENV{PG_MPM} = 'prefork';
my $MODULES = $PGTest::MODULES;

my $browser_headers = join '', map { "$_\r\n" }
    'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
    'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
    'Accept-Language: en-US,en;q=0.5', 'Accept-Encoding: gzip, deflate, br',
    'Connection: keep-alive', 'Upgrade-Insecure-Requests: 1', 'Sec-Fetch-Dest: document',
    'Sec-Fetch-Mode: navigate', 'Sec-Fetch-Site: none', 'Sec-Fetch-User: ?1',
    'Priority: u=0, i', 'Pragma: no-cache', 'Cache-Control: no-cache',
    'Referer: http://www.example.com/start', 'DNT: 1', 'Sec-GPC: 1',
    'Cookie: session=0123456789abcdef; theme=dark; consent=yes',
    'If-None-Match: "abc123"', 'If-Modified-Since: Sat, 21 Nov 2026 10:00:00 GMT',
    'X-Requested-With: XMLHttpRequest', 'TE: trailers', 'Origin: http://www.example.com',
    'Sec-CH-UA: "Chromium";v="156"', 'Sec-CH-UA-Mobile: ?0', 'Sec-CH-UA-Platform: "Linux"',
    'Viewport-Width: 1280', 'Device-Memory: 8', 'Downlink: 10', 'ECT: 4g', 'RTT: 50';

my %raw = (
    legit    => "GET / HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\nUser-Agent: bench\r\n\r\n",
    browser  => "GET / HTTP/1.1\r\nHost: www.example.com\r\n$browser_headers\r\n",
    foreign  => "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: */*\r\nUser-Agent: bench\r\n\r\n",
    absolute => "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n",
    proxied  => "GET /p/x HTTP/1.1\r\nHost: www.example.com\r\nAccept: */*\r\nUser-Agent: bench\r\n\r\n",
);

# A configuration: n vhosts (the first, www.example.com, is the default
# and the one asked for), optional extra text (server config, and inside
# the first vhost), with or without the module.
sub config {
    my ($s, $n, $extra, $vextra) = @_;
    my $port = $s->port;
    my $root = "$s->{dir}/htdocs/site";
    $s->write_file('htdocs/site/index.html', 'x' x 130 . "\n");
    my $text = "LogLevel warn\nMaxKeepAliveRequests 0\nKeepAliveTimeout 30\n" . ($extra // '')
             . "<VirtualHost *:$port>\n    ServerName www.example.com\n    DocumentRoot \"$root\"\n"
             . ($vextra // '') . "</VirtualHost>\n";
    $text .= "<VirtualHost *:$port>\n    ServerName v$_.example.com\n    DocumentRoot \"$root\"\n</VirtualHost>\n"
        for 2 .. $n;
    return $text;
}

sub wait_port {
    my ($port, $pid, $limit) = @_;
    my $deadline = time + $limit;
    while (time < $deadline) {
        return 1 if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1);
        return 0 if waitpid($pid, WNOHANG) == $pid;
        sleep 0.2;
    }
    return 0;
}

# The httpd under valgrind of each running measurement (pid => server
# directory): stopped at the end of its measurement, or at exit if that
# died half-way.
my %running;

# valgrind runs under runuser: stop httpd itself and wait for it to be
# gone (the next run takes the same port), then runuser.
sub stop_httpd {
    my ($pid) = @_;
    my $dir = delete $running{$pid} or return;
    system("pkill -TERM -u www-data -f '$dir/httpd.conf'");
    my $deadline = time + 60;
    sleep 0.2 while system("pgrep -u www-data -f '$dir/httpd.conf' >/dev/null") == 0 && time < $deadline;
    kill 'TERM', $pid;
    waitpid($pid, 0);
}
END { stop_httpd($_) for keys %running }

# Total instructions in one callgrind dump file.
sub total_ir {
    my ($file) = @_;
    open my $fh, '<', $file or die "$file: $!";
    while (<$fh>) {
        return $1 if /^(?:summary|totals):\s+(\d+)/;
    }
    die "$file: no totals";
}

# The dumps of one process (callgrind_control -d numbers them), in order.
sub dumps {
    my ($dir, $pid) = @_;
    return sort { ($a =~ /\.(\d+)$/)[0] <=> ($b =~ /\.(\d+)$/)[0] } glob("$dir/cg.out.$pid.*");
}

# One configuration under callgrind: (start-up instructions, per request
# instructions) for the request kind.  Stock and module run in the same
# server directory (httpd's per-request path work depends on its name),
# only the LoadModule line differs.
sub measure {
    my (%o) = @_;
    my $srv = $o{srv};
    $srv->{load_module} = $o{module};
    $srv->{conf} = sub { config($_[0], $o{vhosts}, $o{extra}, $o{vextra}) };
    $srv->write_config;
    my $dir = $srv->dir;
    system('chown', '-R', 'www-data:www-data', $dir) == 0 or die 'chown';
    my $pid = fork // die;
    if (!$pid) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', "$dir/valgrind.log";
        # valgrind's own files go where www-data may write
        $ENV{TMPDIR} = $dir;
        { no warnings 'exec';
          exec 'runuser', '-u', 'www-data', '--', 'valgrind', '--tool=callgrind',
               "--callgrind-out-file=$dir/cg.out.%p", 'apache2', '-X', '-f', $srv->conf_path; }
        POSIX::_exit(127);
    }
    $running{$pid} = $dir;
    wait_port($srv->port, $pid, 900)
        or die "httpd did not come up:\n" . $srv->slurp('logs/error_log') . $srv->slurp('valgrind.log');
    # the oldest: a ban agent forked from it has the same command line
    chomp(my $httpd = `pgrep -o -u www-data -f 'apache2 -X -f $dir/'`);
    die "no httpd process" unless $httpd;
    my $ctl = sub { system("runuser -u www-data -- env TMPDIR=$dir callgrind_control -d $httpd >/dev/null 2>&1") == 0
                        or die "callgrind_control -d $httpd failed" };
    # start-up ends with the first request served: with -X, httpd opens
    # its port before the second pass over the configuration
    PGHttp::raw_request($srv->port, "GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n");
    $ctl->();
    my @d = dumps($dir, $httpd);
    my $startup = total_ir($d[-1]);
    PGHttp::raw_request($srv->port, $raw{ $o{kind} } x $W);
    $ctl->();
    PGHttp::raw_request($srv->port, $raw{ $o{kind} } x $M);
    my $probe = PGHttp::raw_request($srv->port, $raw{ $o{kind} });
    $ctl->();
    @d = dumps($dir, $httpd);
    my $per = total_ir($d[-1]) / ($M + 1);
    stop_httpd($pid);
    system('chown', '-R', 'root:root', $dir);
    for my $f ($ENV{PG_KEEP} ? glob("$dir/cg.out.*") : ()) { rename($f, $f =~ s{cg\.out\.}{kept.$o{label}.}r) }
    unlink glob("$dir/cg.out.*");
    return { startup => $startup, per => $per, status => $probe->{status} };
}

my $only = $ENV{BENCH_CASES} ? qr/$ENV{BENCH_CASES}/ : qr/./;
my @cases = grep { $_->[0] =~ $only } (
    [ 'legitimate GET, 2 vhosts, 3 headers',       'legit',    2 ],
    [ 'legitimate GET, 2 vhosts, 30 headers',      'browser',  2 ],
    [ 'legitimate GET, 10,000 vhosts, first vhost', 'legit', 10000 ],
    [ 'legitimate GET, ProxyGuardBan (shmcb)',     'legit',    2,
      "LoadModule socache_shmcb_module $MODULES/mod_socache_shmcb.so\nProxyGuardBan 10 60 600\n", 'ban' ],
    [ 'foreign Host (counted, Detect), 2 vhosts',   'foreign',  2 ],
    [ 'foreign Host, 2,000 vhosts',                 'foreign', 2000 ],
    [ 'foreign Host, 10,000 vhosts',                'foreign', 10000 ],
    [ 'absolute-URI probe, 2 vhosts',               'absolute', 2 ],
    [ 'absolute-URI probe, 10,000 vhosts',          'absolute', 10000 ],
);
# reverse-proxied requests, which the scheme_handler hook decides (a
# loopback listener is the backend): a named worker (ProxyPass), and
# mod_proxy's default worker (RewriteRule [P] to a fixed backend: the URL
# is read and looked up among the configuration's literal backends)
my @proxy_cases = grep { $_ =~ $only } ('reverse proxy, ProxyPass to a named backend',
                                       'reverse proxy, RewriteRule [P] to a fixed backend');
my $backend;
if (@proxy_cases) {
    require PGListener;
    $backend = PGListener->new(addr => '127.0.0.3', kind => 'http');
    my $load = "LoadModule proxy_module $MODULES/mod_proxy.so\n"
             . "LoadModule proxy_http_module $MODULES/mod_proxy_http.so\n";
    my $to = 'http://' . $backend->hostport . '/';
    my %proxy = (
        'reverse proxy, ProxyPass to a named backend' =>
            [ $load, "    ProxyPass \"/p/\" \"$to\"\n" ],
        'reverse proxy, RewriteRule [P] to a fixed backend' =>
            [ $load . "LoadModule rewrite_module $MODULES/mod_rewrite.so\n",
              "    RewriteEngine On\n    RewriteRule \"^/p/(.*)\$\" \"$to\$1\" [P]\n" ],
    );
    push @cases, map { [ $_, 'proxied', 2, $proxy{$_}[0], undef, $proxy{$_}[1] ] } @proxy_cases;
}
# a shared store: the request reads what the agent noted, never the network
my %store;
for my $kind (PGDaemon->kinds) {
    my $what = "legitimate GET, ProxyGuardBan ($kind store)";
    my $d = PGDaemon->new($kind);
    next unless $d->installed && $what =~ $only;
    $store{$kind} = $d;
    push @cases, [ $what, 'legit', 2, "STORE:$kind", 'ban' ];
}

# the empty module, built beside the benchmark's servers
my $null_dir = tempdir(CLEANUP => 1);
my $null_so = "$null_dir/mod_pgnull.so";
system("cc -shared -fPIC -O2 -I/usr/include/apache2 \$(apr-1-config --cppflags --includes)"
       . " -o $null_so $FindBin::Bin/mod_pgnull.c") == 0 or die "cannot build bench/mod_pgnull.c\n";
chmod 0755, $null_dir;
my $null;

my @rows;
for my $c (@cases) {
    my ($what, $kind, $n, $extra, $needs, $vextra) = @$c;
    if (($extra // '') =~ /^STORE:(\w+)$/) {
        my $d = $store{$1};
        $d->start unless $d->{pid};
        $extra = "ProxyGuardBan 10 60 600\n" . $d->config;
    }
    my $stock_extra = ($extra // '') =~ s/^ProxyGuard.*\n//mgr;
    my $srv = PGTest->new(plain_logs => 1, name => 'cg', user => 0, loglevel => 'warn',
                          mpm_conf => "StartServers 1\nMaxRequestWorkers 1\n");
    my $stock = measure(srv => $srv, label => 'stock', module => 0, vhosts => $n, kind => $kind,
                        extra => $stock_extra, vextra => $vextra);
    my $mod = measure(srv => $srv, label => 'module', module => 1, vhosts => $n, kind => $kind,
                      extra => $extra, vextra => $vextra);
    push @rows, [ $what, $stock, $mod, $n, $kind ];
    if (!$null) {
        my $m = measure(srv => $srv, label => 'empty', module => 0, vhosts => $n, kind => $kind,
                        extra => "LoadModule pgnull_module $null_so\n" . $stock_extra,
                        vextra => $vextra);
        $null = [ $what, $m->{per} - $stock->{per}, $mod->{per} - $stock->{per}, $stock->{per} ];
    }
    printf "  %-48s stock %10.0f  module %10.0f  (%+.0f, %+.2f %%)  [%s/%s]\n", $what,
           $stock->{per}, $mod->{per}, $mod->{per} - $stock->{per},
           100 * ($mod->{per} - $stock->{per}) / $stock->{per}, $stock->{status}, $mod->{status};
}
$_->stop for values %store;

print "\n| case | stock instr/req | module instr/req | module adds | share | answer |\n|---|---|---|---|---|---|\n";
my @targets;
for my $r (@rows) {
    my ($what, $s, $m, $n, $kind) = @$r;
    my $adds = $m->{per} - $s->{per};
    printf "| %s | %.0f | %.0f | %+.0f | %.2f %% | %s |\n", $what, $s->{per}, $m->{per}, $adds,
           100 * $adds / $s->{per}, $m->{status};
    if ($kind eq 'legit' || $kind eq 'browser' || $kind eq 'proxied') {
        push @targets, sprintf('%-4s %s: the module adds %.2f %% (target <= 1 %%)',
                               $adds / $s->{per} <= 0.01 ? 'PASS' : 'FAIL', $what, 100 * $adds / $s->{per});
    }
    if (($kind eq 'foreign' || $kind eq 'absolute') && $n >= 2000) {
        push @targets, sprintf('%-4s %s: %.3fx stock (target <= 1.05x)',
                               $m->{per} / $s->{per} <= 1.05 ? 'PASS' : 'FAIL', $what, $m->{per} / $s->{per});
    }
}
if ($null) {
    my ($what, $empty, $adds, $base) = @$null;
    printf "\nAn empty module (bench/mod_pgnull.c) adds %+.0f instructions per request (%.2f %%) to \"%s\"; "
         . "mod_proxyguard adds %+.0f (%.2f %%), of which its own code is about %+.0f (%.2f %%).\n",
           $empty, 100 * $empty / $base, $what, $adds, 100 * $adds / $base, $adds - $empty,
           100 * ($adds - $empty) / $base;
}
print "\nStart-up, to the first request served (instructions):\n\n| vhosts | stock | module | module adds |\n|---|---|---|---|\n";
my %start;
for my $r (@rows) {
    my ($what, $s, $m, $n) = @$r;
    next if $start{$n}++ || $n < 2000;
    printf "| %d | %.3f G | %.3f G | %+.3f G |\n", $n, $s->{startup} / 1e9, $m->{startup} / 1e9,
           ($m->{startup} - $s->{startup}) / 1e9;
    $start{"adds$n"} = $m->{startup} - $s->{startup};
}
if ($start{adds2000} && $start{adds10000}) {
    my $ratio = $start{adds10000} / $start{adds2000};
    push @targets, sprintf('%-4s start-up: what the module adds grows %.1fx from 2,000 to 10,000 vhosts '
                           . '(linear: 5x; quadratic: 25x; target <= 6x)', $ratio <= 6 ? 'PASS' : 'FAIL', $ratio);
}
print "\nTargets:\n\n";
print "    $_\n" for @targets;
exit(grep({ /^FAIL/ } @targets) ? 1 : 0);
