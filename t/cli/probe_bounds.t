#!/usr/bin/perl
# proxyguard probe when there is nothing sensible to probe, and its limits:
# the command line; an unreachable target, one that answers garbage, one
# that never answers, one that trickles, one that sends hostile bytes: each
# UNKNOWN (or what it is) within a bound, with the hostile text escaped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Socket::INET;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use PGTest;
use PGProbe;

PGProbe::bin();

# --- the command line ------------------------------------------------------
my $r = PGProbe::run('--help');
is($r->{exit}, 0, '--help: exit 0');
like($r->{out}, qr/^usage: proxyguard probe \[options\] \[URL\.\.\.\]/, '--help: usage on stdout');
like($r->{out}, qr/--canary ADDR\[:PORT\].*--source ADDR.*--json.*--plugin/s, '--help: the options');
{
    # one option table yields getopt's options and --help: every option
    # --help lists is documented, and each is accepted
    my $help = $r->{out};
    my %long = map { $_ => 1 } $help =~ /(--[a-z][a-z0-9-]+)/g;
    cmp_ok(scalar(keys %long), '>=', 14, scalar(keys %long) . ' long options in --help');
    open my $fh, '<', "$PGTest::TOP/docs/probe.md" or die "docs/probe.md: $!";
    my $doc = do { local $/; <$fh> };
    my @undocumented = grep { index($doc, "`$_") < 0 } sort keys %long;
    is("@undocumented", '', 'docs/probe.md documents every option --help lists');
    my @short = $help =~ /^  (-[a-zA-Z0-9]), --/mg;
    cmp_ok(scalar @short, '>=', 14, 'short forms in --help');
    my $h = PGProbe::run('-h');
    is($h->{out}, $help, '-h: the same text as --help');
}
$r = PGProbe::run('--version');
like($r->{out}, qr/^proxyguard \d+\.\d+\.\d+$/m, '--version');
$r = PGProbe::run('--list');
is($r->{exit}, 0, '--list: exit 0');
for my $name (qw(get head post https host-mismatch http10-no-host mixed-case-scheme mixed-case-method
                 userinfo authority-query authority-fragment authority-backslash own-name-port
                 leading-crlf ftp post-smtp connect connect-smtp connect-mixed-case h2-get h2-connect)) {
    like($r->{out}, qr/^\Q$name\E\s+\S/m, "--list: $name");
}
for my $bad ([ '--bogus' ], [ '--timeout', 'x' ], [ '--canary', 'not-an-address' ],
             [ '--source', 'localhost' ], [ '--only', 'get,nonesuch' ], [ '--timeout' ]) {
    $r = PGProbe::run(@$bad);
    is($r->{exit}, 3, "@$bad: a usage error is UNKNOWN (3)");
    like($r->{err}, qr/^proxyguard: probe: /, "@$bad: said on stderr");
    is($r->{out}, '', "@$bad: nothing on stdout");
}
$r = PGProbe::run('--json', 'https://127.0.0.1/');
is($r->{exit}, 3, 'https:// target: UNKNOWN');
like($r->{json}{error}, qr/https targets are not probed/, 'https:// target: says why');

# --- unreachable ------------------------------------------------------------
my $dead = PGTest::free_port();
$r = PGProbe::run('--json', '--timeout', 2, "http://127.0.0.1:$dead/");
is($r->{exit}, 3, 'nothing listening: exit 3 (UNKNOWN)');
is($r->{json}{verdict}, 'unknown', 'nothing listening: verdict unknown');
like($r->{json}{error}, qr/no HTTP answer to GET \/: connect: Connection refused/, 'nothing listening: says why');
is_deeply($r->{json}{probes}, [], 'nothing listening: no probe was sent');
ok($r->{seconds} < 2, sprintf('nothing listening: over in %.2f s', $r->{seconds}));
$r = PGProbe::run('--plugin', "http://127.0.0.1:$dead/");
like($r->{out}, qr/\APROXYGUARD UNKNOWN - http:\/\/127\.0\.0\.1:\d+\/: could not test: .* \| probes=0 /,
     'nothing listening, --plugin: UNKNOWN line');

# --- garbage ------------------------------------------------------------------
my ($garbage, $gpid) = PGProbe::server(sub {
    my ($c) = @_;
    sysread($c, my $buf, 4096);
    print $c "\e[2J\e]0;owned\a<script>\xff\xfe garbage\r\n\r\nmore garbage";
});
$r = PGProbe::run('--timeout', 1, "http://127.0.0.1:$garbage/");
is($r->{exit}, 3, 'garbage: UNKNOWN');
ok($r->{seconds} < 3, sprintf('garbage: over in %.2f s (< 3x the timeout)', $r->{seconds}));
like($r->{out}, qr/not an HTTP reply: \\x1b\[2J\\x1b\]0;owned\\x07<script>\\xff\\xfe garbage/,
     'garbage: what it sent is shown, escaped');
unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'garbage: no raw control or high byte reaches the terminal');
PGProbe::stop_server($gpid);

# --- never answers -------------------------------------------------------------
my ($silent, $spid) = PGProbe::server(sub { sleep 30 });
$r = PGProbe::run('--json', '--timeout', 1, "http://127.0.0.1:$silent/");
is($r->{exit}, 3, 'silent: UNKNOWN');
like($r->{json}{error}, qr/timed out/, 'silent: timed out');
ok($r->{seconds} < 3, sprintf('silent: over in %.2f s (< 3x the 1 s timeout)', $r->{seconds}));
PGProbe::stop_server($spid);

# a listener that never accepts: the kernel completes the handshake anyway
my $deaf_port = PGTest::free_port();
my $deaf = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => $deaf_port,
                                 Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
$r = PGProbe::run('--json', '--timeout', 1, "http://127.0.0.1:$deaf_port/");
is($r->{exit}, 3, 'never accepts: UNKNOWN');
ok($r->{seconds} < 3, sprintf('never accepts: over in %.2f s', $r->{seconds}));
close $deaf;

# --- answers the baseline, then trickles: --max-time bounds the run -------------
my $home = "<h1>home</h1>\n";
my ($slow, $tpid) = PGProbe::server(sub {
    my ($c) = @_;
    my $req = '';
    while ($req !~ /\r\n\r\n/) { sysread($c, my $b, 4096) or last; $req .= $b }
    if ($req =~ m{^GET / HTTP}) {
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($home) . "\r\nConnection: close\r\n\r\n$home";
        return;
    }
    $c->autoflush(1);
    print $c "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n";
    for (1 .. 300) { print $c 'x' or last; sleep 0.1 }
});
# (HEAD would be answered at once, headers only: not a trickle)
$r = PGProbe::run('--json', '--timeout', 1, '--max-time', 3,
                  '--only', 'get,post,host-mismatch,http10-no-host,mixed-case-scheme,leading-crlf,userinfo',
                  "http://127.0.0.1:$slow/");
ok($r->{seconds} < 5, sprintf('trickle: --max-time 3 ends the run in %.2f s', $r->{seconds}));
my @not_run = grep { ($_->{note} // '') =~ /--max-time/ } @{ $r->{json}{probes} };
ok(@not_run > 0, scalar(@not_run) . ' probes not run, saying --max-time');
is($r->{exit}, 3, 'trickle: UNKNOWN (nothing proven either way)') or PGProbe::show($r);
like(PGProbe::probe($r, 'get')->{note}, qr/body never arrived whole \(timed out\)/,
     'trickle: a 200 whose body never came is an error, not content');
PGProbe::stop_server($tpid);

# --- hostile but HTTP: 200 with control bytes and a huge body -------------------
my ($hostile, $hpid) = PGProbe::server(sub {
    my ($c) = @_;
    my $req = '';
    while ($req !~ /\r\n\r\n/) { sysread($c, my $b, 4096) or last; $req .= $b }
    if ($req =~ m{^GET / HTTP}) {
        print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($home) . "\r\nConnection: close\r\n\r\n$home";
        return;
    }
    my $body = "\e[31m\"}]\\\x00\xff" x 100000;
    print $c "HTTP/1.1 200 \e[2J\"ok\\\x07\r\nContent-Length: " . length($body) . "\r\n\r\n";
    local $SIG{PIPE} = 'IGNORE';
    print $c $body;
});
$r = PGProbe::run('--json', '--timeout', 2, '--only', 'get,connect', "http://127.0.0.1:$hostile/");
ok($r->{json}, 'hostile: --json is valid JSON whatever the server sent') or diag $r->{json_error};
my $get = PGProbe::probe($r, 'get');
is($get->{reply}, "HTTP/1.1 200 \e[2J\"ok\\\x07", 'hostile: the status line round-trips through JSON exactly');
ok($get->{truncated}, 'hostile: the 1 MB body was cut');
ok($get->{body_bytes} <= 256 * 1024, "hostile: at most 256 KiB kept ($get->{body_bytes})");
is($get->{verdict}, 'suspect', 'hostile: 2xx unlike the baseline, canary silent: suspect');
is($r->{exit}, 1, 'hostile: WARNING');
unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'hostile, --json: no raw control or high byte');
$r = PGProbe::run('--timeout', 2, '--only', 'get', "http://127.0.0.1:$hostile/");
like($r->{out}, qr/reply:  HTTP\/1\.1 200 \\x1b\[2J"ok\\\\\\x07/, 'hostile, table: the status line escaped');
unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'hostile, table: no raw control or high byte');
PGProbe::stop_server($hpid);

done_testing;
