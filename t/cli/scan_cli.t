#!/usr/bin/perl
# The command line of `proxyguard scan`: --help and --version, usage errors
# (exit 2, "proxyguard: scan: ..." on stderr), files that cannot be read
# (named, the others still reported, exit 3), progress on stderr only when
# it is a terminal, and the man page (man -l, groff -ww without warnings),
# which with docs/scan.md documents every option --help lists.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;

my $top = $PGTest::TOP;
my $dir = tempdir('pgscan-cli-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $line = '205.209.140.102 - - [03/Aug/2009:04:16:19 +0800] "CONNECT 140.112.65.3:25 HTTP/1.0" 200 1144 "-" "-"';
my $log = PGScan::spew("$dir/access.log", "$line\n");

# --- help and version ---------------------------------------------------
my ($rc, $help, $err) = PGScan::run([ 'scan', '--help' ]);
is($rc, 0, '--help: exit 0');
like($help, qr/^usage: proxyguard scan \[options\] FILE\.\.\.$/m, '--help: usage line');
is($err, '', '--help: nothing on stderr');
my @long = sort { $a cmp $b } do { my %u = map { $_ => 1 } $help =~ /(--[a-z][a-z0-9-]+)/g; keys %u };
cmp_ok(scalar @long, '>=', 20, scalar(@long) . ' long options in --help');
my ($rc2, $help2) = PGScan::run([ 'help', 'scan' ]);
is($help2, $help, 'proxyguard help scan: the same text');
($rc, my $version) = PGScan::run([ 'scan', '--version' ]);
open my $vh, '<', "$top/pg_version.h" or die $!;
my ($want) = join('', <$vh>) =~ /PG_VERSION "([^"]+)"/;
is($version, "proxyguard scan $want\n", "--version: proxyguard scan $want");
($rc, $version) = PGScan::run([ 'scan', '-V' ]);
is($version, "proxyguard scan $want\n", '-V too');

# --- usage errors: exit 2, one line on stderr, nothing on stdout ------------
for my $bad ([ [], qr/no log file given \('-' reads standard input\)/ ],
             [ [ '--bogus', $log ], qr/unknown option '--bogus'/ ],
             [ [ '--format' ], qr/an option needs an argument: '--format'/ ],
             [ [ '--format', '%h %Z "%r"', $log ], qr/unknown directive in the format/ ],
             [ [ '--format', '%h %t %>s', $log ], qr/the format logs no request: it needs %r \(or %m and %U\)/ ],
             [ [ '--format', '%{Referer i "%r"', $log ], qr/unclosed \{ in the format/ ],
             [ [ '--json', '--emit', 'apache', $log ], qr/--json, --emit and --lines exclude each other/ ],
             [ [ '--json', '--lines', $log ], qr/--json, --emit and --lines exclude each other/ ],
             [ [ '--html', '-', '--json', $log ], qr/--html - takes standard output: not with --json, --emit or --lines/ ],
             [ [ '--top', '-1', $log ], qr/--top wants a number \(0: all\), not '-1'/ ],
             [ [ '--port', '0', $log ], qr/--port wants a port from 1 to 65535, not '0'/ ],
             [ [ '--https-ports', '443,x', $log ], qr/--https-ports wants ports/ ],
             [ [ '--min-hits', '0', $log ], qr/--min-hits and --min-hosts want a number from 1/ ],
             [ [ '--table-size', '10', $log ], qr/--table-size wants a number from 64 to 1048576/ ]) {
    my ($args, $msg) = @$bad;
    my ($brc, $out, $berr) = PGScan::run([ 'scan', @$args ]);
    is($brc, 2, "scan @$args: exit 2");
    like($berr, qr/\Aproxyguard: scan: $msg.*\n\z/, "scan @$args: says why on one line");
    is($out, '', "scan @$args: nothing on stdout");
}

# --html -: the page instead of the report
($rc, my $page) = PGScan::run([ 'scan', '--html', '-', $log ]);
is($rc, 0, '--html -: exit 0');
like($page, qr/\A<!DOCTYPE html>.*<td class="n" id="total">1<\/td>.*<\/html>\n\z/s, '--html -: one page on stdout, nothing else');
# a client seen twice: its row has both times, first then last
my $twice = PGScan::spew("$dir/twice.log", join '', map {
    qq{205.209.140.102 - - [02/Aug/2009:$_ +0800] "CONNECT 168.95.5.43:25 HTTP/1.0" 405 723 "-" "-"\n}
} '17:54:40', '18:01:02');
($rc, $page) = PGScan::run([ 'scan', '--html', '-', $twice ]);
like($page, qr{<tr><td><code>205\.209\.140\.102</code></td><td class="n">2</td>(?:<td class="n">\d+</td>){9}<td>2009-08-02T17:54:40\+08:00</td><td>2009-08-02T18:01:02\+08:00</td></tr>},
     '--html: a client\'s row, its first and last time');

# --- files that cannot be read ---------------------------------------------
my $other = PGScan::spew("$dir/other.log", "$line\n$line\n");
($rc, my $out, $err) = PGScan::run([ 'scan', '--json', '--as-given', $log, "$dir/access.log.3", $dir, $other ]);
is($rc, 3, 'a missing file and a directory: exit 3');
is($err, "proxyguard: scan: $dir/access.log.3: No such file or directory\n"
       . "proxyguard: scan: $dir: Is a directory\n", 'each named on stderr, as the style says');
my $j = JSON::PP->new->decode($out);
is($j->{lines}, 3, 'the readable files are still scanned and reported');
is_deeply($j->{files}, [ $log, $other ], 'files lists what was read');

# --- progress on stderr, only on a terminal --------------------------------
my $big = "$dir/big.log";
{
    open my $fh, '>', $big or die $!;
    print $fh "$line\n" for 1 .. 150_000;
    close $fh;
}
# a pipe that stalls half-way: a run long enough to report progress
my $feed = "(head -n 70000 '$big'; sleep 1; tail -n +70001 '$big')";
my $bin = PGScan::bin();
my $quiet = `$feed | '$bin' scan - 2>&1 >/dev/null`;
is($quiet, '', 'stderr is not a terminal: no progress');
my $forced = `$feed | '$bin' scan --progress - 2>&1 >/dev/null`;
like($forced, qr/\rproxyguard scan: \(stdin\), 131072 lines, 131072 hits/, '--progress: shown anyway');
like($forced, qr/\r\e\[K\z/, '... and erased at the end');
SKIP: {
    skip 'script (util-linux) not installed', 2 unless `command -v script 2>/dev/null`;
    my $tty = `script -qec "$feed | '$bin' scan - >/dev/null" /dev/null 2>&1`;
    like($tty, qr/proxyguard scan: \(stdin\), \d+ lines/, 'stderr a terminal: progress shown');
    $tty = `script -qec "$feed | '$bin' scan --no-progress - >/dev/null" /dev/null 2>&1`;
    unlike($tty, qr/proxyguard scan:/, '--no-progress: none, even on a terminal');
}

# --- the man page and the docs -------------------------------------------
my $man = "$top/cli/man/proxyguard-scan.1";
ok(-f $man, 'cli/man/proxyguard-scan.1 exists');
my $rendered = `MANWIDTH=80 man -l '$man' 2>&1`;
is($? >> 8, 0, 'man -l renders it');
like($rendered, qr/^NAME\s+proxyguard-scan\s+-\s+find proxy abuse/m, 'man page: NAME');
my $warnings = `groff -man -Tutf8 -ww -z '$man' 2>&1`;
is($warnings, '', 'groff -man -ww: no warnings');
my $mantext = PGScan::slurp($man);
my $doc = PGScan::slurp("$top/docs/scan.md");
for my $opt (@long) {
    (my $roff = $opt) =~ s/-/\\-/g;
    ok(index($mantext, $roff) >= 0, "man page documents $opt");
    ok(index($doc, "`$opt") >= 0, "docs/scan.md documents $opt");
}

done_testing;
