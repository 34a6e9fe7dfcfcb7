package PGScan;

# Helpers for the tests of `proxyguard scan` (t/cli/scan*.t) and the shared
# table of cases (t/cases/classify.tsv, t/21_classify.t):
#
#   my ($rc, $out, $err) = PGScan::run(\@args, stdin => $bytes);
#   my $json = PGScan::json(@args);                 # decoded, or dies
#   my @cases = PGScan::cases();                    # the table, unescaped
#   my ($lines, $truth) = PGScan::generate(seed => 7, ...);
#   PGScan::need_tool('nft') or return;             # skip, or fail under
#                                                   # PG_REQUIRE_TOOLS
#
# Logs are generated with a fixed seed and a PRNG of our own (xorshift32),
# so the same seed gives the same log on every perl.

use strict;
use warnings;
use File::Temp qw(tempfile);
use IPC::Open3 qw(open3);
use JSON::PP;
use Symbol qw(gensym);
use Test::More;
use PGTest;

# PG_PROXYGUARD_BIN: another build of the program (an ASan one, say)
our $BIN = $ENV{PG_PROXYGUARD_BIN} || "$PGTest::TOP/build/proxyguard";

sub bin {
    die "$BIN is missing: run make cli\n" unless -x $BIN;
    return $BIN;
}

# Runs proxyguard with the arguments; stdin from a string (default: empty).
# Returns (exit status, stdout, stderr).
sub run {
    my ($args, %opt) = @_;
    my ($in_fh, $in_path) = tempfile(UNLINK => 1);
    binmode $in_fh;
    print $in_fh $opt{stdin} // '';
    close $in_fh;
    my ($out_fh, $out_path) = tempfile(UNLINK => 1);
    my ($err_fh, $err_path) = tempfile(UNLINK => 1);
    close $out_fh;
    close $err_fh;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDIN, '<', $in_path or die;
        open STDOUT, '>', $out_path or die;
        open STDERR, '>', $err_path or die;
        # --httpd-config runs apache2 -S, which loads the module: under
        # PG_ASAN the ASan build, which needs the sanitizer runtime
        %ENV = (%ENV, PGTest::apache2_env(), %{ $opt{env} || {} });
        exec bin(), @$args or die "exec: $!";
    }
    waitpid $pid, 0;
    my $rc = $? >> 8;
    return ($rc, slurp($out_path), slurp($err_path));
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or return '';
    local $/;
    my $data = <$fh>;
    return $data // '';
}

sub spew {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or die "$path: $!";
    print $fh $data;
    close $fh or die "$path: $!";
    return $path;
}

# `proxyguard scan --json ARGS`, decoded; a failure is a test failure.
sub json {
    my (@args) = @_;
    my %opt = ref $args[-1] eq 'HASH' ? %{ pop @args } : ();
    my ($rc, $out, $err) = run([ 'scan', '--json', @args ], %opt);
    my $doc = eval { JSON::PP->new->decode($out) };
    ok(defined $doc, "scan --json @args: valid JSON") or diag("$@\nstderr: $err\n" . substr($out, 0, 2000));
    return ($doc // {}, $rc, $err);
}

# A tool a test needs: fail when PG_REQUIRE_TOOLS says it must be there,
# else skip the rest.
sub need_tool {
    my ($tool, $package) = @_;
    return 1 if `command -v $tool 2>/dev/null`;
    if ($ENV{PG_REQUIRE_TOOLS}) {
        fail("$tool is installed (Debian package $package)");
        done_testing();
        exit 1;
    }
    plan skip_all => "$tool not installed (Debian package $package)";
}

# ------------------------------------------------------------------
# The table of cases

sub unescape {
    my ($s) = @_;
    $s =~ s/\\(x([0-9a-fA-F]{2})|t|\\)/$1 eq 't' ? "\t" : $1 eq '\\' ? '\\' : chr(hex $2)/ge;
    return $s;
}

sub cases {
    my $file = "$PGTest::TOP/t/cases/classify.tsv";
    open my $fh, '<:raw', $file or die "$file: $!";
    my @cases;
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        my @f = split /\t/, $line, -1;
        die "$file:$.: want 5 or 6 tab-separated columns\n" unless @f == 5 || @f == 6;
        my ($method, $target, $host, $expected, $httpd, $proto) = @f;
        die "$file:$.: unknown reason '$expected'\n"
            unless $expected =~ /^(none|connect|absolute-uri|unknown-host)$/;
        die "$file:$.: httpd column is '-' or 400\n" unless $httpd =~ /^(-|400)$/;
        push @cases, {
            line => $., method => unescape($method), target => unescape($target),
            host => $host eq '-' ? undef : $host eq '""' ? '' : unescape($host),
            expected => $expected, httpd400 => $httpd eq '400',
            proto => $proto || ($host eq '-' ? 'HTTP/1.0' : 'HTTP/1.1'),
            text => "$method $target" . ($host eq '-' ? '' : " (Host: $host)"),
        };
    }
    return @cases;
}

# The bytes of a case's request, {port} filled in.
sub case_request {
    my ($case, $port) = @_;
    my %c = %$case;
    s/\{port\}/$port/g for grep { defined } @c{qw(target host)};
    my $raw = "$c{method} $c{target} $c{proto}\r\n";
    $raw .= "Host: $c{host}\r\n" if defined $c{host};
    return "$raw\r\n";
}

# ------------------------------------------------------------------
# Generated logs with known truth

my $X;
sub rnd {
    my ($n) = @_;
    $X ^= ($X << 13) & 0xffffffff;
    $X ^= $X >> 17;
    $X ^= ($X << 5) & 0xffffffff;
    return $X % $n;
}

my @MON = qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec);

sub clf_time {
    my ($t, $off) = @_;
    my @g = gmtime($t + $off * 60);
    my $sign = $off < 0 ? '-' : '+';
    my $a = abs $off;
    return sprintf('[%02d/%s/%04d:%02d:%02d:%02d %s%02d%02d]', $g[3], $MON[$g[4]],
                   $g[5] + 1900, $g[2], $g[1], $g[0], $sign, int($a / 60), $a % 60);
}

sub month_of {
    my ($t, $off) = @_;
    my @g = gmtime($t + $off * 60);
    return sprintf('%04d-%02d', $g[5] + 1900, $g[4] + 1);
}

sub iso_of {
    my ($t, $off) = @_;
    my @g = gmtime($t + $off * 60);
    my $a = abs $off;
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d%s%02d:%02d', $g[5] + 1900, $g[4] + 1,
                   $g[3], $g[2], $g[1], $g[0], $off < 0 ? '-' : '+', int($a / 60), $a % 60);
}

# generate(seed => N, lines => N, format => combined|vhost_combined|custom,
#          start => epoch, step => seconds)
# A server www.example.com whose pages have fixed sizes; ordinary visitors
# from many networks; and abusers in a few networks whose truth is known:
#   net A 203.0.113.0/24: 40 hosts x 2 CONNECT :25, rejected (405)
#   net B 198.51.100.0/24: 35 hosts, absolute URIs served locally (200 with
#         the size of "/"), 2 each
#   net C 192.0.2.0/24: 3 hosts, CONNECT :443 answered 200 (suspect), 5 each
#   net D 2001:db8:1::/64: 4 hosts, absolute URIs 200 with an odd size
#         (suspect), 3 each
#   unknown-host: Host 10.0.0.1 from 100.64.0.0/24, 6 hosts x 1 (custom
#         format only: the others log no Host): origin-form, never relayed
# Returns (\@lines, \%truth).
sub generate {
    my (%o) = @_;
    $X = $o{seed} || 2463534242;
    my $n = $o{lines} || 5000;
    my $fmt = $o{format} || 'combined';
    my $t = $o{start} || 1_375_000_000;      # 2013-07-28
    my $step = $o{step} || 1200;
    my $off = $o{offset} // 480;             # +0800, as the 2009 log
    $off = 0 if $fmt eq 'custom';            # %{sec}t is UTC
    my %size = ('/' => 1362, '/apache_pb.gif' => 2326, '/poweredby.png' => 1154);
    my @paths = sort keys %size;
    for my $i (1 .. 40) {
        $size{"/post/$i.html"} = 3000 + 37 * $i;
        push @paths, "/post/$i.html";
    }
    my @abusers;
    push @abusers, map { [ "203.0.113.$_", 'connect25' ] } (1 .. 40) x 2;
    push @abusers, map { [ "198.51.100.$_", 'abs-local' ] } (1 .. 35) x 2;
    push @abusers, map { [ "192.0.2.$_", 'connect443' ] } (1 .. 3) x 5;
    push @abusers, map { [ "2001:db8:1::" . sprintf('%x', $_), 'abs-suspect' ] } (1 .. 4) x 3;
    push @abusers, map { [ "100.64.0.$_", 'unknown' ] } 1 .. 6 if $fmt eq 'custom';
    my %truth = (hits => { connect => 0, 'absolute-uri' => 0, 'unknown-host' => 0 },
                 verdicts => { rejected => 0, 'served-locally' => 0, suspect => 0,
                               'origin-form' => 0 },
                 months => {}, nets => {}, ports => {}, clients => {});
    # spread the abusers over the log at fixed positions
    my %at;
    my $slot = int($n / (@abusers + 1)) || 1;
    for my $k (0 .. $#abusers) {
        $at{ ($k + 1) * $slot } = $abusers[$k];
    }
    die "too few lines for the abusers\n" if (@abusers + 1) * 1 > $n;
    my @lines;
    for my $i (1 .. $n) {
        $t += 1 + rnd($step);
        my ($client, $req, $status, $size, $host) = ();
        if (my $a = $at{$i}) {
            ($client, my $kind) = @$a;
            my $month = month_of($t, $off);
            if ($kind eq 'connect25') {
                ($req, $status, $size) = ('CONNECT 59.124.98.' . rnd(250) . ':25 HTTP/1.0', 405, 225);
                count(\%truth, $client, 'connect', 'rejected', $month, 25, $t, $off);
            }
            elsif ($kind eq 'connect443') {
                ($req, $status, $size) = ('CONNECT www.example.cn:443 HTTP/1.0', 200, 39);
                count(\%truth, $client, 'connect', 'suspect', $month, 443, $t, $off);
            }
            elsif ($kind eq 'abs-local') {
                ($req, $status, $size) = ('GET http://www.online.sh.cn/ HTTP/1.1', 200, $size{'/'});
                $host = 'www.online.sh.cn';
                count(\%truth, $client, 'absolute-uri', 'served-locally', $month, undef, $t, $off);
            }
            elsif ($kind eq 'abs-suspect') {
                ($req, $status, $size) = ('GET http://6.example.cn/zc/chs/img/body.png HTTP/1.1', 200, 81234);
                $host = '6.example.cn';
                count(\%truth, $client, 'absolute-uri', 'suspect', $month, undef, $t, $off);
            }
            else {
                ($req, $status, $size) = ('GET / HTTP/1.1', 200, $size{'/'});
                $host = '10.0.0.1';
                count(\%truth, $client, 'unknown-host', 'origin-form', $month, undef, $t, $off);
            }
        }
        else {
            # visitors: 10.x networks never seen among the abusers
            $client = join '.', 10, 1 + rnd(200), rnd(256), 1 + rnd(254);
            my $p = $paths[rnd(scalar @paths)];
            ($req, $status, $size) = ("GET $p HTTP/1.1", 200, $size{$p});
            ($status, $size) = (304, 0) if rnd(10) == 0;
            $host = 'www.example.com';
        }
        my $ts = clf_time($t, $off);
        my $ua = 'Mozilla/5.0 (X11; Linux x86_64)';
        my $line;
        if ($fmt eq 'combined') {
            $line = sprintf('%s - - %s "%s" %d %s "-" "%s"', $client, $ts, $req, $status,
                            $size ? $size : '-', $ua);
        }
        elsif ($fmt eq 'vhost_combined') {
            $line = sprintf('www.example.com:80 %s - - %s "%s" %d %d "-" "%s"', $client, $ts,
                            $req, $status, $size ? $size + 180 : 0, $ua);
        }
        else {
            # custom: LogFormat "%a %{Host}i %>s %B \"%r\" %{sec}t"
            $line = sprintf('%s %s %d %d "%s" %d', $client, $host // '-', $status, $size, $req,
                            $t);
        }
        push @lines, $line;
    }
    $truth{lines} = $n;
    return (\@lines, \%truth);
}

sub count {
    my ($truth, $client, $reason, $verdict, $month, $port, $t, $off) = @_;
    $truth->{hits}{$reason}++;
    $truth->{verdicts}{$verdict}++;
    $truth->{months}{$month}{$reason}++;
    $truth->{ports}{$port}++ if defined $port;
    my $c = $truth->{clients}{$client} //= { hits => 0, first => iso_of($t, $off) };
    $c->{hits}++;
    $c->{last} = iso_of($t, $off);
    my $net = $client =~ /:/ ? ($client =~ s/::[0-9a-f]+$/::\/64/r)
                             : ($client =~ s/\.\d+$/.0\/24/r);
    $truth->{nets}{$net}{hits}++;
    $truth->{nets}{$net}{hosts}{$client} = 1;
}

1;
