#!/usr/bin/perl
# proxyguard scan for the operator who runs it from cron, on logs real
# servers wrote: each file's format found from its first lines (Debian's
# access.log in combined and other_vhosts_access.log in vhost_combined, an
# nginx access log), a file most of whose lines are not in the format given
# (exit 3, naming the preset that reads it), every mod_log_config and
# mod_logio directive (%^FB), Apache 1.3's raw quotes in %r, --since and
# --until across a rotated, gzipped set, --exclude, the ServerAlias names
# of a vhost alone on its address (which apachectl -S does not list), and
# what --emit cannot write.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use POSIX qw(_exit);
use Test::More;
use Time::HiRes qw(sleep time);
use PGHttp;
use PGScan;
use PGTest;

my $dir = tempdir('pgscan-cron-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;

# --- a Debian-like httpd: access.log, other_vhosts_access.log, %^FB ----------
my $srv = PGTest->new(name => 'cron', load_module => 0, loglevel => 'warn', ports => 2, conf => sub {
    my ($s) = @_;
    my $d = $s->dir;
    my $p1 = $s->port(1);
    my $alone = $s->docroot('alone');
    return <<"CONF";
LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined_debian
LogFormat "%v:%p %h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" vhost_combined
LogFormat "%h %t \\"%r\\" %>s %b %^FB %{ms}T \\"%{Host}i\\" %v" ttfb
CustomLog "$d/logs/access.log" combined_debian
CustomLog "$d/logs/other_vhosts_access.log" vhost_combined
CustomLog "$d/logs/ttfb.log" ttfb
<VirtualHost 127.0.0.1:$p1>
    ServerName alone.test
    ServerAlias www.alone.test
    # a second line of aliases, as operators write them
    ServerAlias "shop.alone.test" \\
        *.cdn.alone.test
    DocumentRoot "$alone"
</VirtualHost>
CONF
});
$srv->start;
my @probes = (
    "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
    "GET http://www.online.sh.cn/ HTTP/1.0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
);
$srv->request($_, from => '127.0.0.3') for @probes;
$srv->request("CONNECT 10.9.9.9:25 HTTP/1.0\r\n\r\n", from => '127.0.0.9');  # the operator's own probe
for my $host (qw(alone.test www.alone.test shop.alone.test img.cdn.alone.test)) {
    $srv->request("GET / HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", port => 1, from => '127.0.0.4');
}
sleep 0.3;
$srv->stop;
my $logs = $srv->dir . '/logs';

# --- each file's format, found from its first lines --------------------------------
my ($j, $rc, $err) = PGScan::json('--top', '0', "$logs/access.log", "$logs/other_vhosts_access.log");
is($rc, 0, 'no --format: exit 0') or diag $err;
is_deeply([ map { [ $_->{format}, $_->{detected} ? 1 : 0, $_->{unparsed} ] } @{ $j->{file_formats} } ],
          [ [ 'combined', 1, 0 ], [ 'vhost_combined', 1, 0 ] ],
          'access.log is combined, other_vhosts_access.log vhost_combined: found, every line read');
is($j->{hits}{connect}, 4, 'both files: the two CONNECTs each');
my ($rc2, $report) = PGScan::run([ 'scan', "$logs/access.log", "$logs/other_vhosts_access.log" ]);
like($report, qr/^  formats:\n    \S+access\.log: combined \(found from its first lines\): .*\n    \S+other_vhosts_access\.log: vhost_combined \(found from its first lines\)/m,
     'the report names each file\'s format');

# The old default, read with the wrong format: exit 3, and the preset that reads it.
($j, $rc, $err) = PGScan::json('--format', 'combined', "$logs/other_vhosts_access.log");
is($rc, 3, 'other_vhosts_access.log read as combined: exit 3, not a silent 0');
like($err, qr/^proxyguard: scan: \S+other_vhosts_access\.log: (\d+) of \1 lines are not in the format given; --format vhost_combined reads \1 of the first \1 of them$/m,
     '... and stderr names the preset that reads it');
is($j->{hits}{connect}, 0, '... the report still comes, with what could be read');

# --- %^FB and every other directive -------------------------------------------------
($j, $rc, $err) = PGScan::json('--format', '%h %t "%r" %>s %b %^FB %{ms}T "%{Host}i" %v', "$logs/ttfb.log");
is($rc, 0, '%^FB (mod_logio) and %{ms}T are accepted') or diag $err;
is($j->{unparsed}, 0, '... every line of the real log read');
is($j->{hits}{connect}, 2, '... the CONNECTs found');
for my $d ('%{SSL_PROTOCOL}x', '%{SSL_CLIENT_S_DN}c', '%{X}^ti', '%{X}^to', '%^FB', '%{c}a', '%{c}h', '%{remote}p', '%{tid}P', '%{us}T', '%R', '%L', '%V', '%f', '%k') {
    my ($r, undef, $e) = PGScan::run([ 'scan', '--json', '--format', qq{%h "%r" %>s $d}, '-' ], stdin => '');
    is($r, 0, "the directive $d is accepted") or diag $e;
}

# --- Apache 1.3's raw quotes ------------------------------------------------------------
# httpd 2.4 escapes '"' in %r (since 2.0.46), so no server here can write
# these: the lines are as the honeynet logs of 1.3 servers show them.
my $old = PGScan::spew("$dir/apache13.log", join '', map { "$_\n" }
    '192.0.2.1 - - [30/May/2003:12:45:08 +0800] "GET /a" HTTP/1.0" 404 210',
    '192.0.2.1 - - [30/May/2003:12:45:09 +0800] "GET http://evil.test/"x" HTTP/1.1" 200 1362',
    '192.0.2.1 - - [30/May/2003:12:45:10 +0800] "CONNECT 1.2.3.4:25 HTTP/1.0" 405 230');
my ($lrc, $lines) = PGScan::run([ 'scan', '--lines', $old ]);
my @rows = map { [ split /\t/ ] } split /\n/, $lines;
is_deeply([ map { "$_->[1] $_->[4] $_->[6]" } @rows ],
          [ 'none 404 GET /a"', 'absolute-uri 200 GET http://evil.test/"x"', 'connect 405 CONNECT 1.2.3.4:25' ],
          'raw quotes in %r: each line parsed right, its status read (not "-")');

# --- nginx -----------------------------------------------------------------------------
SKIP: {
    if (!`command -v nginx 2>/dev/null`) {
        # make test (PG_REQUIRE_TOOLS) installs it: there, missing is a failure
        fail('nginx is installed (Debian package nginx-light)') if $ENV{PG_REQUIRE_TOOLS};
        skip 'nginx not installed (Debian package nginx-light)', 5;
    }
    my $nd = "$dir/nginx";
    mkdir $_ for $nd, "$nd/html", "$nd/tmp";
    chmod 0755, $nd, "$nd/html", "$nd/tmp";
    PGScan::spew("$nd/html/index.html", "nginx's own page\n");
    chmod 0644, "$nd/html/index.html";
    my $port = PGTest::free_port();
    my $user = $> == 0 ? "user nobody nogroup;\n" : '';
    PGScan::spew("$nd/nginx.conf", <<"NGINX");
${user}pid $nd/nginx.pid;
error_log $nd/error.log;
events {}
http {
    client_body_temp_path $nd/tmp/body;
    proxy_temp_path $nd/tmp/proxy;
    fastcgi_temp_path $nd/tmp/fastcgi;
    access_log $nd/access.log combined;
    server { listen 127.0.0.1:$port; root $nd/html; }
}
NGINX
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        exec 'nginx', '-c', "$nd/nginx.conf", '-p', $nd, '-g', 'daemon off;' or _exit(127);
    }
    my $deadline = time + 10;
    sleep 0.05 until IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) || time > $deadline;
    PGHttp::raw_request($port, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    PGHttp::raw_request($port, "GET http://www.online.sh.cn/ HTTP/1.0\r\n\r\n");
    PGHttp::raw_request($port, "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n");
    kill 'TERM', $pid;
    waitpid $pid, 0;
    ($j, $rc, $err) = PGScan::json("$nd/access.log");
    is($rc, 0, 'nginx: exit 0') or diag $err;
    is($j->{file_formats}[0]{format}, 'combined', "nginx's log: combined, found from its lines");
    is($j->{unparsed}, 0, '... every line read');
    is($j->{verdicts_by_reason}{'absolute-uri'}{'served-locally'}, 1, '... its own page for GET http://elsewhere/: served-locally');
    is($j->{verdicts_by_reason}{connect}{rejected}, 1, '... its 400 to CONNECT: rejected');
}

# --- --since / --until across a rotated, gzipped set -------------------------------------
# A generated log (fixed seed, its truth known) cut into a rotated set:
# access.log.2.gz (oldest), access.log.1, access.log.
my ($glines, $truth) = PGScan::generate(seed => 11, lines => 6000, format => 'combined');
my $third = int(@$glines / 3);
sub gz {
    my ($text) = @_;
    my $out;
    gzip(\$text => \$out) or die $GzipError;
    return $out;
}
PGScan::spew("$dir/access.log.2.gz", gz(join '', map { "$_\n" } @$glines[0 .. $third - 1]));
PGScan::spew("$dir/access.log.1", join '', map { "$_\n" } @$glines[$third .. 2 * $third - 1]);
PGScan::spew("$dir/access.log", join '', map { "$_\n" } @$glines[2 * $third .. $#$glines]);
my @set = map { "$dir/$_" } 'access.log', 'access.log.1', 'access.log.2.gz';
my ($all) = PGScan::json('--top', '0', @set);
my @months = sort keys %{ $all->{months} };
ok(@months >= 3, 'the generated set spans months (' . join(', ', @months) . ')');
my ($m1, $m2) = @months[1, 2];
my ($window) = PGScan::json('--top', '0', '--since', "$m1-01", '--until', "$m2-" . days_in($m2), @set);
is_deeply($window->{months}, { map { $_ => $all->{months}{$_} } $m1, $m2 },
          "--since $m1-01 --until the end of $m2: exactly those months' hits, across gzip and plain files");
ok($window->{selection}{outside_window} > 0, '... the rest counted as outside');
is($window->{lines}, $all->{lines}, '... every line still read');
sub days_in {
    my ($ym) = @_;
    my ($y, $m) = split /-/, $ym;
    return (31, ($y % 4 == 0 && ($y % 100 || $y % 400 == 0)) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[$m - 1];
}
# A bound without an offset is each line's own clock: for this log, all
# of it at +08:00, the same as the bound written with +08:00; in UTC
# (Z) midnight comes eight hours later, and more lines are before it.
my ($wall) = PGScan::json('--top', '0', '--since', "$m1-01", @set);
my ($zoned) = PGScan::json('--top', '0', '--since', "$m1-01T00:00+08:00", @set);
my ($utc) = PGScan::json('--top', '0', '--since', "$m1-01T00:00Z", @set);
is($wall->{selection}{outside_window}, $zoned->{selection}{outside_window},
   "--since $m1-01 is the log's own clock: the same as $m1-01T00:00+08:00");
ok($utc->{selection}{outside_window} > $wall->{selection}{outside_window},
   "--since $m1-01T00:00Z is eight hours later: more lines before it");
my ($bad_rc, undef, $bad_err) = PGScan::run([ 'scan', '--since', '2024-02-30x', @set ]);
is($bad_rc, 2, 'a bad --since: a usage error');
like($bad_err, qr/^proxyguard: scan: --since '2024-02-30x': wants an ISO date or time/, '... that says what it wants');

# --- --exclude: the operator's own probes --------------------------------------------------
($j) = PGScan::json('--exclude', '127.0.0.9', '--exclude', '2001:db8::/32', "$logs/access.log");
is($j->{hits}{connect}, 1, '--exclude 127.0.0.9: its CONNECT left out');
is($j->{selection}{excluded}, 1, '... and counted');
ok(!grep({ $_->{address} eq '127.0.0.9' } @{ $j->{clients} }), '... it is no client');
($j) = PGScan::json('--exclude', '127.0.0.0/29', "$logs/access.log");
is($j->{hits}{connect}, 1, '--exclude 127.0.0.0/29 leaves 127.0.0.9 in');

# --- the names of a vhost alone on its address -----------------------------------------------
my $fmt = '%h %t "%r" %>s %b %^FB %{ms}T "%{Host}i" %v';
($rc, my $out, $err) = PGScan::run([ 'scan', '--lines', '--format', $fmt, '--httpd-config', $srv->conf_path,
                                     "$logs/ttfb.log" ]);
is($rc, 0, '--httpd-config: exit 0') or diag $err;
is($err, '', '... no warning: every vhost\'s names were read');
my @alone = grep { /alone\.test/ } split /\n/, PGScan::slurp("$logs/ttfb.log");
is(scalar @alone, 4, 'four requests to the vhost alone on its address');
my @reasons = map { (split /\t/)[1] } grep { /\t127\.0\.0\.4\t/ } split /\n/, $out;
is_deeply(\@reasons, [ ('none') x 4 ], 'its ServerName, both ServerAlias lines and the wildcard are ours: no unknown-host');
# saved -S output whose configuration is not on this machine: said, not guessed
my ($src, $sout) = $srv->run_apache2('-S');
(my $moved = $sout) =~ s{\Q@{[ $srv->dir ]}\E/httpd\.conf}{/nonexistent/httpd.conf}g;
my $saved = PGScan::spew("$dir/vhosts.txt", $moved);
($rc, $out, $err) = PGScan::run([ 'scan', '--json', '--format', $fmt, '--vhosts-from', $saved, "$logs/ttfb.log" ]);
like($err, qr/^proxyguard: scan: vhost alone\.test is alone on its address, where httpd -S lists no ServerAlias, and its definition could not be read \(\/nonexistent\/httpd\.conf: No such file or directory\): its names may be incomplete, give them with --host$/m,
     '--vhosts-from with the configuration elsewhere: a warning naming the vhost');
$j = JSON::PP->new->decode($out);
is($j->{names}{incomplete}, 1, '... and names.incomplete in the JSON');
is($j->{hits}{'unknown-host'}, 3, '... whose aliases are then unknown hosts, as the warning says');

# --- --emit: what it cannot write --------------------------------------------------------------
my $named = PGScan::spew("$dir/named.log", join '', map {
    qq{scanner$_.example.net - - [02/Aug/2009:17:54:40 +0800] "CONNECT 1.2.3.4:25 HTTP/1.0" 405 230\n}
} (1 .. 3) x 60);
($rc, $out, $err) = PGScan::run([ 'scan', '--emit', 'apache', $named ]);
like($out, qr/^# Not written: 3 clients with >= 50 hits logged as host names, not addresses$/m,
     '--emit: host names (HostnameLookups) are said, in the file');
like($err, qr/^proxyguard: scan: --emit: 3 clients with >= 50 hits are host names, not addresses: not written$/m,
     '... and on stderr');
my $many = PGScan::spew("$dir/many.log", join '', map {
    sprintf(qq{198.51.%d.%d - - [02/Aug/2009:17:54:40 +0800] "CONNECT 1.2.3.4:25 HTTP/1.0" 405 230\n}, $_ % 250, 1 + $_ % 200)
} 1 .. 3000);
($rc, $out) = PGScan::run([ 'scan', '--emit', 'apache', '--table-size', '64', '--min-hits', '1', '--min-hosts', '1', $many ]);
like($out, qr/^# The client table was full \(\d+ clients, \d+ networks evicted\): hits and\n# host counts below are estimates/m,
     '--emit after the client table overflowed: the counts are said to be estimates');

done_testing;
