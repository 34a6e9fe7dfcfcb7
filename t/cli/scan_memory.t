#!/usr/bin/perl
# Memory is bounded whatever the input: a worst-case log (every hit from a
# new address in a new network, to a new target, every ordinary request for
# a new path) fills every table; the peak RSS, measured from outside by GNU
# time, stays under the issue's 64 MB, and the report says what the bounds
# cost (evictions).  The same log twice as long must not need more.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGScan;

PGScan::need_tool('/usr/bin/time', 'time');
my $dir = tempdir('pgscan-mem-XXXXXX', TMPDIR => 1, CLEANUP => 1);

# Lines i .. i+n-1: even ones a CONNECT from 1 address of a fresh /24, odd
# ones an ordinary GET of a fresh path with its own size.
sub worst_case {
    my ($path, $n) = @_;
    open my $fh, '>', $path or die "$path: $!";
    for my $i (0 .. $n - 1) {
        my $a = sprintf('%d.%d.%d.%d', 1 + ($i >> 16) % 223, ($i >> 8) & 255, $i & 255, 1 + $i % 250);
        my $day = 1 + $i % 28;
        my $month = (qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec))[ ($i >> 5) % 12 ];
        my $year = 1990 + ($i >> 9) % 40;
        if ($i % 2 == 0) {
            printf $fh qq{%s - - [%02d/%s/%d:12:00:00 +0000] "CONNECT t%d.example:%d HTTP/1.0" 200 %d "-" "-"\n},
                $a, $day, $month, $year, $i, 1 + $i % 65535, 100 + $i;
        }
        else {
            printf $fh qq{%s - - [%02d/%s/%d:12:00:00 +0000] "GET http://h%d.example/p/%d HTTP/1.1" 200 %d "-" "-"\n},
                $a, $day, $month, $year, $i, $i, 500 + $i;
        }
    }
    close $fh or die $!;
    return $path;
}

sub peak_kb {
    my ($log) = @_;
    my $bin = PGScan::bin();
    my $out = `/usr/bin/time -f 'PEAK %M' '$bin' scan --json '$log' 2>&1 >'$dir/out.json'`;
    my ($kb) = $out =~ /PEAK (\d+)/;
    is($? >> 8, 0, "scan of $log: exit 0") or diag $out;
    return $kb // 1e9;
}

my $small = worst_case("$dir/small.log", 400_000);
my $large = worst_case("$dir/large.log", 800_000);
my $kb_small = peak_kb($small);
my $j = JSON::PP->new->decode(PGScan::slurp("$dir/out.json"));
cmp_ok($j->{bounds}{clients_evicted} + $j->{bounds}{networks_evicted}, '>', 0,
       'the worst case fills the client and network tables (evictions reported)');
cmp_ok($j->{bounds}{names_evicted}, '>', 0, '... and the host and target tables');
my $kb_large = peak_kb($large);
$j = JSON::PP->new->decode(PGScan::slurp("$dir/out.json"));
is($j->{lines}, 800_000, 'every line of the large log counted');
is($j->{hits}{connect} + $j->{hits}{'absolute-uri'}, 800_000, 'every hit counted, evictions or not');
diag("peak RSS: $kb_small KB for 400,000 lines, $kb_large KB for 800,000");
cmp_ok($kb_small, '<=', 64 * 1024, "peak RSS $kb_small KB <= 64 MB");
cmp_ok($kb_large, '<=', 64 * 1024, "peak RSS $kb_large KB <= 64 MB (twice the input)");
cmp_ok($kb_large - $kb_small, '<', 4 * 1024, 'twice the input needs no more memory (< 4 MB apart)');

done_testing;
