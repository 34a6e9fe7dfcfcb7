#!/usr/bin/perl
# proxyguard probe --plugin and the monitoring plugins' -t: the whole run
# fits the time the caller gives (NRPE, Icinga), and a run that reaches it
# ends in one UNKNOWN line saying where, with perfdata, exit 3.  Against
# real loopback servers: one that accepts and never answers, one that
# answers each probe slowly, one that proxies the first probe and then
# stalls (a proven open proxy stays CRITICAL), and a name lookup that never
# returns (the backstop).  Without --plugin, -t keeps its old meaning (per
# request) and -T bounds the run.  --help, --version, --list: 3 with
# --plugin, 0 without.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp ();
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;
use PGProbe;

PGProbe::bin();

# A behaviour bound, not a benchmark: the run must end at its bound, not
# after the per-request bounds of every step, nor after the caller killed it.
my $MARGIN = 2;

# Reads a request's head; the baseline's GET / is answered at once with a
# home page (undef), anything else is returned for the server to answer.
sub probe_request {
    my ($c) = @_;
    my ($req, $home) = ('', "<h1>home</h1>\n");
    while ($req !~ /\r\n\r\n/) { sysread($c, my $b, 4096) or last; $req .= $b }
    return $req unless $req =~ m{\AGET / HTTP};
    print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($home) . "\r\nConnection: close\r\n\r\n$home";
    return undef;
}

# --- --help, --version, --list ------------------------------------------------
for my $info ([ '--help' ], [ '-h' ], [ '--version' ], [ '-V' ], [ '--list' ]) {
    my $plain = PGProbe::run(@$info);
    is($plain->{exit}, 0, "@$info: exit 0 without --plugin");
    for my $args ([ '--plugin', @$info ], [ @$info, '--plugin' ], [ '-p', @$info ]) {
        my $r = PGProbe::run(@$args);
        is($r->{exit}, 3, "@$args: exit 3 (UNKNOWN), as the plugin guidelines ask");
        is($r->{out}, $plain->{out}, "@$args: the same text as without --plugin");
    }
}
{
    # --help wins over the others, wherever it is
    my $help = PGProbe::run('--help')->{out};
    is(PGProbe::run('--version', '--list', '--help')->{out}, $help, '--version --list --help: the help');
    is(PGProbe::run('--list', '--version')->{out}, PGProbe::run('--version')->{out},
       '--list --version: the version');
    like($help, qr/-t, --timeout SECS\s+per request \(default 5\); with --plugin, the\s+whole run \(default 10\)/,
         '--help: what -t means with and without --plugin');
}

# the man page says it, and renders cleanly
{
    my $man = "$PGTest::TOP/cli/man/proxyguard-probe.1";
    is(`groff -man -Tutf8 -ww -z '$man' 2>&1`, '', 'proxyguard-probe.1: groff -ww, no warnings');
    my $text = `MANWIDTH=200 man -l '$man' 2>/dev/null`;
    like($text, qr/^PLUGIN MODE\n.*-t\s+SECS\s+bounds\s+the\s+whole\s+run\s+\(default\s+10\)/ms, 'the man page: PLUGIN MODE, -t');
    like($text, qr/--help, --version and --list exit 3/, 'the man page: --help and --version exit 3');
}

# --- a server that accepts and never answers -----------------------------------
my ($silent, $spid) = PGProbe::server(sub { sleep 60 });
my $url = "http://127.0.0.1:$silent/";
my $r = PGProbe::run('--plugin', '-t', 3, $url);
is($r->{exit}, 3, 'silent, --plugin -t 3: exit 3 (UNKNOWN)') or PGProbe::show($r);
like($r->{out}, qr{\APROXYGUARD UNKNOWN - timed out after 3 s \(--timeout\), in the baseline of \Q$url\E; },
     'silent: one UNKNOWN line saying it timed out, and where');
like($r->{out}, qr/ \| probes=0 rejected=0 local=0 proxied=0 tunneled=0 suspect=0 error=0 time=3\.\d{3}s\n\z/,
     'silent: the perfdata, time included, and nothing after the line');
cmp_ok($r->{seconds}, '<', 3 + $MARGIN, sprintf('silent: over in %.2f s (-t 3)', $r->{seconds}));
cmp_ok($r->{seconds}, '>=', 2.9, 'silent: ... having waited for the answer until then');
is($r->{err}, '', 'silent: nothing on stderr');
# -T is still accepted, and the shorter of the two bounds the run
$r = PGProbe::run('--plugin', '--timeout', 10, '--max-time', 2, $url);
like($r->{out}, qr/\APROXYGUARD UNKNOWN - timed out after 2 s \(--max-time\), in the baseline/,
     'silent, --plugin -t 10 -T 2: -T, the shorter, ends the run');
cmp_ok($r->{seconds}, '<', 2 + $MARGIN, sprintf('silent, -T 2: over in %.2f s', $r->{seconds}));
$r = PGProbe::run('--plugin', '-T', 2, $url);
like($r->{out}, qr/\APROXYGUARD UNKNOWN - timed out after 2 s \(--max-time\)/, 'silent, --plugin -T 2 alone: the run bound');
# fractions, as outside --plugin
$r = PGProbe::run('--plugin', '-t', '1.5', $url);
like($r->{out}, qr/\APROXYGUARD UNKNOWN - timed out after 1\.5 s \(--timeout\)/, 'silent, --plugin -t 1.5');
cmp_ok($r->{seconds}, '<', 1.5 + $MARGIN, sprintf('silent, -t 1.5: over in %.2f s', $r->{seconds}));
# without --plugin, the old meaning: -t per request (the baseline's GET)
$r = PGProbe::run('--json', '-t', 1, $url);
is($r->{exit}, 3, 'silent, no --plugin, -t 1: UNKNOWN');
like($r->{json}{error}, qr/no HTTP answer to GET \/: timed out/, 'silent, no --plugin: the request timed out');
cmp_ok($r->{seconds}, '<', 1 + $MARGIN, sprintf('silent, no --plugin, -t 1: over in %.2f s', $r->{seconds}));
PGProbe::stop_server($spid);

# --- a bound the run cannot keep is refused, never read as the default --------
for my $bad ('0', '0.0000001', '-1', '86401', 'nan', '5s') {
    my $r = PGProbe::run('--plugin', '-t', $bad, 'http://127.0.0.1:1/');
    is($r->{exit}, 3, "--plugin -t $bad: a usage error, exit 3");
    like($r->{err}, qr/\Q$bad\E: not a number of seconds from 0\.001 to 86400/, "-t $bad: says what is allowed");
}

# --- a server that answers every probe, slowly ---------------------------------
# The baseline at once; each probe a 400 after 0.7 s.  Six probes take about
# 4 s: more than -t 3 as the whole run's bound, far less than -t 3 per request.
my ($slow, $lpid) = PGProbe::server(sub {
    my ($c) = @_;
    defined(probe_request($c)) or return;
    sleep 0.7;
    print $c "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
});
$url = "http://127.0.0.1:$slow/";
my @six = ('--only', 'get,head,post,host-mismatch,userinfo,leading-crlf');
$r = PGProbe::run('--plugin', '-t', 3, @six, $url);
is($r->{exit}, 3, 'slow, --plugin -t 3: exit 3 (UNKNOWN)') or PGProbe::show($r);
like($r->{out}, qr{\APROXYGUARD UNKNOWN - timed out after 3 s \(--timeout\), in probe [a-z-]+ of \Q$url\E; },
     'slow: timed out, in which probe');
like($r->{out}, qr/ \| probes=6 rejected=[1-5] local=0 proxied=0 tunneled=0 suspect=0 error=[1-5] time=3\.\d{3}s\n\z/,
     'slow: the perfdata counts the probes that ran and the ones that did not');
cmp_ok($r->{seconds}, '<', 3 + $MARGIN, sprintf('slow: over in %.2f s (-t 3)', $r->{seconds}));
$r = PGProbe::run('--json', '-t', 3, @six, $url);
is($r->{exit}, 0, 'slow, no --plugin, -t 3: every probe answered in its own 3 s: OK') or PGProbe::show($r);
is(scalar(grep { $_->{verdict} eq 'rejected' } @{ $r->{json}{probes} }), 6, 'slow, no --plugin: all six rejected');
cmp_ok($r->{seconds}, '>', 3.5, sprintf('slow, no --plugin: the run took %.2f s, past -t', $r->{seconds}));
$r = PGProbe::run('--json', '-t', 3, '-T', 2, @six, $url);
my @not_run = grep { ($_->{note} // '') =~ /not run: the run's time bound \(--max-time\)/ } @{ $r->{json}{probes} };
ok(@not_run >= 2, 'slow, no --plugin, -T 2: ' . scalar(@not_run) . ' probes not run, saying --max-time');
cmp_ok($r->{seconds}, '<', 2 + $MARGIN, sprintf('slow, no --plugin, -T 2: over in %.2f s', $r->{seconds}));
# several targets share the one bound: the second is not tested at all
$r = PGProbe::run('--plugin', '-t', 3, @six, $url, $url);
like($r->{out}, qr{; \Q$url\E: could not test: not tested: the run's time bound \(--timeout\) was reached \|},
     'slow, two targets: the second not tested, saying why');
cmp_ok($r->{seconds}, '<', 3 + $MARGIN, sprintf('slow, two targets: over in %.2f s', $r->{seconds}));
PGProbe::stop_server($lpid);

# --- an open proxy for the first probe, then silent ----------------------------
# It relays GET http://CANARY/... to the canary (loopback only) and returns
# the canary's answer, then never answers again: proven before the time ran
# out, so CRITICAL, which no probe left unrun could undo.
my ($proxy, $ppid) = PGProbe::server(sub {
    my ($c) = @_;
    my $req = probe_request($c) // return;
    if ($req =~ m{\AGET http://(127\.0\.0\.1):(\d+)(/\S*) HTTP/1\.1\r\n}) {
        my $up = IO::Socket::INET->new(PeerAddr => $1, PeerPort => $2, Proto => 'tcp') or return;
        print $up "GET $3 HTTP/1.0\r\nHost: $1:$2\r\n\r\n";
        my $answer = '';
        while (sysread($up, my $b, 4096)) { $answer .= $b }
        print $c $answer;
        return;
    }
    sleep 60;
});
$url = "http://127.0.0.1:$proxy/";
$r = PGProbe::run('--plugin', '-t', 3, '--only', 'get,connect', $url);
is($r->{exit}, 2, 'proxy then silent, --plugin -t 3: CRITICAL stays CRITICAL') or PGProbe::show($r);
like($r->{out}, qr{\APROXYGUARD CRITICAL - timed out after 3 s \(--timeout\), in probe connect of \Q$url\E; \Q$url\E: OPEN PROXY for this client},
     'proxy then silent: says it timed out, and what was proven');
like($r->{out}, qr/ \| probes=2 rejected=0 local=0 proxied=1 tunneled=0 suspect=0 error=1 time=3\.\d{3}s\n\z/,
     'proxy then silent: the perfdata');
cmp_ok($r->{seconds}, '<', 3 + $MARGIN, sprintf('proxy then silent: over in %.2f s', $r->{seconds}));
PGProbe::stop_server($ppid);

# --- a local answer for the first probe, then silent ---------------------------
# The absolute-URI probe gets the server's own home page (200: "local", a
# WARNING on its own), then the CONNECT is never answered: what was not run
# could have been worse, so the run is UNKNOWN, not WARNING.
sub local_then_silent {
    return PGProbe::server(sub {
        my ($c) = @_;
        my $req = probe_request($c) // return;
        if ($req =~ m{\AGET http://}) {
            my $home = "<h1>home</h1>\n";
            print $c "HTTP/1.1 200 OK\r\nContent-Length: " . length($home) . "\r\nConnection: close\r\n\r\n$home";
            return;
        }
        sleep 60;
    });
}
my ($local, $lopid) = local_then_silent();
$url = "http://127.0.0.1:$local/";
$r = PGProbe::run('--plugin', '-t', 3, '--only', 'get,connect', $url);
is($r->{exit}, 3, 'local then silent, --plugin -t 3: UNKNOWN, not the WARNING of the probe that ran') or PGProbe::show($r);
like($r->{out}, qr/ \| probes=2 rejected=0 local=1 proxied=0 tunneled=0 suspect=0 error=1 time=3\.\d{3}s\n\z/,
     'local then silent: the perfdata');
PGProbe::stop_server($lopid);
# the same server, a fresh one (the silent CONNECT holds the first), in time
($local, $lopid) = local_then_silent();
$r = PGProbe::run('--plugin', '-t', 3, '--only', 'get', "http://127.0.0.1:$local/");
is($r->{exit}, 1, 'local, --plugin, in time: WARNING') or PGProbe::show($r);
PGProbe::stop_server($lopid);

# --- a name lookup that never returns: the backstop ---------------------------
# getaddrinfo takes no deadline.  In a network and mount namespace of its
# own, /etc/resolv.conf names a loopback resolver that reads and never
# answers; nothing leaves the namespace.
SKIP: {
    my $can = system('unshare -m -n true 2>/dev/null') == 0 && `command -v ip 2>/dev/null`;
    if (!$can) {
        fail('unshare -m -n works (root, util-linux; iproute2)') if $ENV{PG_REQUIRE_TOOLS};
        skip 'no unshare -m -n here (needs root)', 4;
    }
    my $dir = File::Temp::tempdir('pgplugin-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    open my $fh, '>', "$dir/resolv.conf" or die "$dir/resolv.conf: $!";
    print $fh "nameserver 127.0.0.1\noptions timeout:30 attempts:1\n";
    close $fh;
    my $bin = PGProbe::bin();
    # the deaf resolver: a UDP socket on 127.0.0.1:53 that is never read
    my $script = <<"EOS";
ip link set lo up || exit 90
mount --bind '$dir/resolv.conf' /etc/resolv.conf || exit 91
perl -MIO::Socket::INET -e 'my \$s = IO::Socket::INET->new(Proto => "udp", LocalAddr => "127.0.0.1:53") or exit 1; open STDIN, "<", "/dev/null"; sleep 60' &
deaf=\$!
sleep 0.3
'$bin' probe --plugin -t 2 http://stall.example.test/ > '$dir/out' 2> '$dir/err'
rc=\$?
kill \$deaf
exit \$rc
EOS
    my $t0 = time;
    system('unshare', '-m', '-n', 'sh', '-c', $script);
    my ($rc, $secs) = ($? >> 8, time - $t0);
    my $out = PGProbe::slurp("$dir/out");
    is($rc, 3, 'lookup never returns, --plugin -t 2: exit 3 (UNKNOWN)') or diag(PGProbe::slurp("$dir/err"));
    like($out, qr/\APROXYGUARD UNKNOWN - timed out after 2 s \(--timeout\), in a step that takes no deadline \(a name lookup\) \| time=2\.500s\n\z/,
         'lookup never returns: the backstop line, alone');
    cmp_ok($secs, '<', 2 + $MARGIN, sprintf('lookup never returns: over in %.2f s (the resolver waits 30 s)', $secs));
    cmp_ok($secs, '>=', 2.4, 'lookup never returns: ... at the bound plus the backstop margin');
}

done_testing;
