#!/usr/bin/perl
# make bench, the `proxyguard scan` row: a generated 1,000,000-line
# combined log (fixed seed, ~150 MB, 1 % probes), read by
#   grep -cF '"CONNECT '          the floor: a fixed-string count
#   grep -cE GUIDE_REGEX          docs/guide.md's grep before scan existed
#   goaccess --log-format=COMBINED   a log analyser (Debian's goaccess)
#   proxyguard scan --json        on the plain file
#   zlib inflate alone            python3's zlib over the .gz, 1 MB chunks
#   proxyguard scan --json        on the .gz
# Each is run BENCH_SCAN_ROUNDS times (default 3), alternating, with the
# page cache warm; medians of wall time, and peak RSS from GNU time.  The
# counts are cross-checked: scan's CONNECTs = grep -cF, scan's CONNECT +
# absolute-URI hits = grep -cE (every absolute URI in the log is foreign).
#
#   perl bench/scan-bench.pl            (needs build/proxyguard: make cli)
#   BENCH_SCAN_LINES=1000000 BENCH_SCAN_ROUNDS=3
use strict;
use warnings;
use FindBin;
use File::Temp qw(tempdir);
use JSON::PP;
use List::Util qw(max);
use POSIX qw(strftime);

my $top = "$FindBin::Bin/..";
my $bin = "$top/build/proxyguard";
my $n = $ENV{BENCH_SCAN_LINES} || 1_000_000;
my $rounds = $ENV{BENCH_SCAN_ROUNDS} || 3;
my $rss_limit_mb = 64;
die "$bin is missing: run make cli\n" unless -x $bin;
for my $tool (qw(/usr/bin/time goaccess python3 gzip)) {
    die "$tool is missing (Debian packages: time goaccess python3 gzip)\n"
        unless `command -v $tool 2>/dev/null`;
}
my $dir = tempdir('pg-scan-bench-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# The regex of docs/guide.md's first section (before scan), as it was.
my $guide_re = q{"(CONNECT [^ ]+|[A-Z]+ [a-zA-Z][a-zA-Z0-9+.-]*://[^ ]+) HTTP/};

# --- the log ---------------------------------------------------------------
my $x = 2463534242;
sub rnd {
    $x ^= ($x << 13) & 0xffffffff;
    $x ^= $x >> 17;
    $x ^= ($x << 5) & 0xffffffff;
    return $x % $_[0];
}

sub generate {
    my ($path) = @_;
    my @mon = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);
    my @paths = ('/', '/favicon.ico', '/css/site.css?v=3', '/images/logo.png',
                 map { sprintf('/blog/%02d/post-%d.html', 1 + $_ % 12, $_) } 1 .. 400);
    my %size = map { $_ => 200 + rnd(40000) } @paths;
    my @ua = ('Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120.0',
              'Mozilla/5.0 (X11; Linux x86_64) Firefox/121.0', 'curl/7.88.1',
              'Googlebot/2.1 (+http://www.google.com/bot.html)');
    my @ref = ('-', '-', 'https://www.example.com/');
    open my $fh, '>', $path or die "$path: $!";
    my $t = 1_700_000_000;
    for my $i (1 .. $n) {
        $t += rnd(7);
        my @g = gmtime($t);
        my $ts = sprintf('[%02d/%s/%04d:%02d:%02d:%02d +0000]', $g[3], $mon[$g[4]], $g[5] + 1900,
                         $g[2], $g[1], $g[0]);
        my $ip = join '.', 1 + rnd(223), rnd(256), rnd(256), 1 + rnd(254);
        my $r = rnd(1000);
        my ($req, $status, $size);
        if ($r < 5) {
            ($req, $status, $size) = ('CONNECT ' . rnd(256) . '.' . rnd(256) . '.1.2:25 HTTP/1.0', 405, 225);
        }
        elsif ($r < 10) {
            ($req, $status, $size) = ('GET http://www.example-' . rnd(50) . '.cn/ HTTP/1.1', 200, $size{'/'});
        }
        else {
            my $p = $paths[rnd(scalar @paths)];
            ($req, $status, $size) = ("GET $p HTTP/1.1", 200, $size{$p});
        }
        print $fh qq{$ip - - $ts "$req" $status $size "$ref[rnd(3)]" "$ua[rnd(4)]"\n};
    }
    close $fh or die $!;
}

my $log = "$dir/access.log";
print "scan bench: generating $n lines ...\n";
generate($log);
system("gzip -6 -c '$log' > '$log.1.gz'") == 0 or die "gzip failed\n";
my $gz = "$log.1.gz";
my $mb = (-s $log) / 1e6;
my $gz_mb = (-s $gz) / 1e6;

# --- the runs ----------------------------------------------------------------
my $inflate = "$dir/inflate.py";
open my $py, '>', $inflate or die $!;
print $py "import sys, zlib\nd = zlib.decompressobj(31)\nn = 0\n"
        . "with open(sys.argv[1], 'rb') as f:\n"
        . "    while True:\n        b = f.read(1 << 20)\n        if not b: break\n"
        . "        n += len(d.decompress(b))\nprint(n)\n";
close $py;

my @tools = (
    [ 'grep -cF \'"CONNECT \'', 'plain', [ 'grep', '-cF', '"CONNECT ', $log ] ],
    [ 'grep -cE (the guide\'s regex)', 'plain', [ 'grep', '-cE', $guide_re, $log ] ],
    [ 'goaccess 1.7 --log-format=COMBINED', 'plain',
      [ 'goaccess', $log, '--log-format=COMBINED', '-o', "$dir/goaccess.json", '--no-global-config' ] ],
    [ 'proxyguard scan --json', 'plain', [ $bin, 'scan', '--json', $log ] ],
    [ 'zlib inflate alone (python3 zlib)', 'gzip', [ 'python3', $inflate, $gz ] ],
    [ 'proxyguard scan --json', 'gzip', [ $bin, 'scan', '--json', $gz ] ],
);

# One run under GNU time: (seconds, peak KB, stdout).
sub timed {
    my ($argv) = @_;
    my $out = "$dir/out";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', $out or die;
        open STDERR, '>', "$out.time" or die;
        exec '/usr/bin/time', '-f', 'PGTIME %e %M', @$argv or die "exec: $!";
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    open my $fh, '<', "$out.time" or die;
    my ($secs, $kb) = join('', <$fh>) =~ /PGTIME ([\d.]+) (\d+)/;
    open $fh, '<', $out or die;
    my $stdout = join '', <$fh>;
    die "@$argv: exit $rc\n" if $rc && $argv->[0] ne 'grep';
    return ($secs, $kb, $stdout);
}

system("cat '$log' '$gz' > /dev/null");     # warm the page cache
my (%secs, %kb, %result);
for my $round (1 .. $rounds) {
    for my $i (0 .. $#tools) {
        my ($s, $k, $out) = timed($tools[$i][2]);
        push @{ $secs{$i} }, $s;
        $kb{$i} = max($kb{$i} // 0, $k);
        $result{$i} = $out;
        printf "  round %d  %-38s %-5s %6.2f s %8d KB\n", $round, $tools[$i][0], $tools[$i][1], $s, $k;
    }
}

sub median {
    my @s = sort { $a <=> $b } @_;
    return $s[ int(@s / 2) ];
}

my %med = map { $_ => median(@{ $secs{$_} }) } keys %secs;
chomp(my $connects = $result{0});
chomp(my $probes = $result{1});
my $scan = JSON::PP->new->decode($result{3});
my $scan_gz = JSON::PP->new->decode($result{5});
my @targets;
sub target {
    my ($ok, $text) = @_;
    push @targets, sprintf('| %s | %s |', $ok ? 'PASS' : '**FAIL**', $text);
}

printf "\n## proxyguard scan benchmark, %s\n\n", strftime('%Y-%m-%d', gmtime);
printf "Log: %s generated combined lines, %.1f MB (gzip -6: %.1f MB), 1 %% probes; page cache warm;\n"
     . "medians of %d rounds, alternating; peak RSS from GNU time.\n\n", commify($n), $mb, $gz_mb, $rounds;
print "| tool | input | seconds | log MB/s | lines/s | peak RSS | result |\n|---|---|---|---|---|---|---|\n";
for my $i (0 .. $#tools) {
    my $in_mb = $mb;            # of the log itself, compressed or not
    my $what = $i == 0 ? "$connects lines"
             : $i == 1 ? "$probes lines"
             : $i == 2 ? 'report'
             : $i == 4 ? 'inflated'
             : sprintf('%d connect, %d absolute-uri', $scan->{hits}{connect}, $scan->{hits}{'absolute-uri'});
    printf "| %s | %s | %.2f | %.0f | %s | %.1f MB | %s |\n", $tools[$i][0], $tools[$i][1], $med{$i},
           $med{$i} > 0 ? $in_mb / $med{$i} : 0, $med{$i} > 0 ? commify(int($n / $med{$i})) : '-',
           $kb{$i} / 1024, $what;
}

target($scan->{hits}{connect} == $connects && $scan_gz->{hits}{connect} == $connects,
       "scan's CONNECT count equals grep -cF's ($connects)");
target($scan->{hits}{connect} + $scan->{hits}{'absolute-uri'} == $probes,
       "scan's CONNECT + absolute-URI hits equal grep -cE's lines ($probes)");
target($med{3} <= $med{1}, sprintf('plain text: scan %.2f s, grep -cE %.2f s (target: at most grep -cE)',
                                   $med{3}, $med{1}));
target($med{5} <= 1.5 * $med{4}, sprintf('gzip: scan %.2f s, zlib inflate alone %.2f s: %.2fx (target: within 1.5x)',
                                         $med{5}, $med{4}, $med{4} > 0 ? $med{5} / $med{4} : 0));
target(max($kb{3}, $kb{5}) <= $rss_limit_mb * 1024,
       sprintf('peak RSS %.1f MB (target: <= %d MB)', max($kb{3}, $kb{5}) / 1024, $rss_limit_mb));
target($med{3} < $med{2}, sprintf('vs goaccess: %.0fx faster, %.0fx less memory', $med{2} / ($med{3} || 0.001),
                                  $kb{2} / ($kb{3} || 1)));
print "\nTargets:\n\n| result | target |\n|---|---|\n";
print "$_\n" for @targets;
exit(grep({ /FAIL/ } @targets) ? 1 : 0);

sub commify {
    my ($v) = @_;
    1 while $v =~ s/^(\d+)(\d{3})/$1,$2/;
    return $v;
}
