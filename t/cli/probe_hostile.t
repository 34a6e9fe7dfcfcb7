#!/usr/bin/perl
# proxyguard probe against targets that lie: every one sees each byte the
# probes send it (the token, hence the nonce, hence the canary's marker
# text) and tries to pass for an open proxy without relaying anything.
# None may get CRITICAL: only the canary's own evidence proves, and what
# the canary sends back carries a proof (a keyed digest of the token under
# a per-run key) that no request reveals.
#   echo            every request back in a 200 body          -> WARNING
#   forged body     "proxyguard-canary NONCE saw TOKEN proof ..." -> WARNING
#   forged status   the same as the reason phrase              -> WARNING
#   tunnel echo     CONNECT 200, then our bytes back           -> WARNING
#   fake SMTP       CONNECT 200, a banner with the nonce, a forged reply
#                                                              -> WARNING
#   redirect        302 to the canary URL (never followed)     -> OK
#   forged redirect the same with a forged canary body         -> WARNING
#   silent          reads every probe, never answers           -> UNKNOWN
#   laggard         relays each probe's token during the next  -> WARNING
# and, so that the above mean something, a real relay written the same way
# (it connects to the canary itself): CRITICAL, proxied and tunneled, the
# proof back through the tunnel; a one-way tunnel: proxied, not tunneled.  Last, --status against a fake status page
# whose reason and action hold control bytes, ESC and non-ASCII: escaped.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(time);
use PGTest;
use PGProbe;

PGProbe::bin();

my $HOME = "<h1>home</h1>\n";
my $TOKEN = qr/pgc([0-9a-f]{10})n(\d\d)/;

# The request head (and a Content-Length body) from a client; '' at EOF.
sub read_request {
    my ($c) = @_;
    my $req = '';
    while ($req !~ /\r?\n\r?\n/) {
        my $n = sysread($c, my $b, 4096);
        return $req unless $n;
        $req .= $b;
    }
    if ($req =~ /^Content-Length:\s*(\d+)/mi) {
        my $want = $1;
        my ($body) = $req =~ /\r?\n\r?\n(.*)\z/s;
        while (length($body) < $want) {
            sysread($c, my $b, 4096) or last;
            $body .= $b;
            $req .= $b;
        }
    }
    return $req;
}

sub is_baseline { $_[0] =~ m{\AGET / HTTP/1\.[01]\r\n} }

sub answer {
    my ($c, $status, $body, $extra) = @_;
    print $c "HTTP/1.1 $status\r\nContent-Type: text/plain\r\nContent-Length: " . length($body)
        . "\r\nConnection: close\r\n" . ($extra // '') . "\r\n$body";
}

# The canary's answer as a target would forge it from what it was sent.
sub forged {
    my ($req) = @_;
    my ($token, $nonce) = $req =~ /($TOKEN)/ ? ($1, $2) : ('none', '0000000000');
    return ("proxyguard-canary $nonce saw $token proof 0123456789abcdef\n", $nonce, $token);
}

# A server that answers the baseline with its home page, and every other
# request through handler->($client, $request).
sub target {
    my ($handler) = @_;
    return PGProbe::server(sub {
        my ($c) = @_;
        my $req = read_request($c);
        return answer($c, '200 OK', $HOME) if is_baseline($req);
        $handler->($c, $req);
    });
}

sub url { "http://127.0.0.1:$_[0]/" }

my @common = ('--json', '--timeout', 2);

# Nothing a lying target does may prove anything.
sub never_proven {
    my ($r, $what) = @_;
    ok($r->{json}, "$what: --json parses") or diag $r->{json_error};
    isnt($r->{exit}, 2, "$what: never CRITICAL") or PGProbe::show($r);
    is_deeply([ PGProbe::with_verdict($r, 'proxied', 'tunneled') ], [], "$what: nothing proxied or tunneled");
    my @hit = grep { $_->{canary_hit} || $_->{banner_back} || $_->{reply_back} } @{ $r->{json}{probes} };
    is_deeply([ map { $_->{name} } @hit ], [], "$what: no canary hit, nothing came back from the canary");
    unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, "$what: no raw control or high byte in the output");
}

# --- echo: every request back in a 200 body ------------------------------
{
    my ($port, $pid) = target(sub { my ($c, $req) = @_; answer($c, '200 OK', $req) });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, 'echo');
    is($r->{exit}, 1, 'echo: WARNING');
    for my $p (@{ $r->{json}{probes} }) {
        is($p->{verdict}, 'suspect', "echo: $p->{name} suspect");
        next if $p->{name} eq 'head';   # HEAD: no body to echo into
        is($p->{echo}, 'token', "echo: $p->{name}: the reply repeats its token");
        like($p->{note}, qr/repeats this probe's token, but the canary received nothing/,
             "echo: $p->{name}: the note says so");
    }
    like($r->{json}{summary}, qr/an echo or a forgery, not proof/, 'echo: the summary says what it is');
    PGProbe::stop_server($pid);
}

# --- forged canary answer in the body --------------------------------------
{
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        my ($body, $nonce) = forged($req);
        answer($c, '200 OK', $body, "X-ProxyGuard-Canary: $nonce\r\n");
    });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, 'forged body');
    is($r->{exit}, 1, 'forged body: WARNING');
    for my $p (@{ $r->{json}{probes} }) {
        is($p->{verdict}, 'suspect', "forged body: $p->{name} suspect");
        next if $p->{name} eq 'head';
        is($p->{echo}, 'marker', "forged body: $p->{name}: imitates the canary");
        like($p->{note}, qr/imitates the canary's answer .* forged, not proof/,
             "forged body: $p->{name}: the note says forged");
    }
    # the table says it too
    $r = PGProbe::run('--timeout', 2, '--only', 'get', url($port));
    is($r->{exit}, 1, 'forged body, table: WARNING');
    like($r->{out}, qr/^get\s+200\s+suspect\s+-\s/m, 'forged body, table: get suspect, no canary evidence');
    like($r->{out}, qr/\nWARNING - .*an echo or a forgery, not proof/, 'forged body, table: the verdict line says so');
    PGProbe::stop_server($pid);
}

# --- forged in the status line ---------------------------------------------
{
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        my ($body) = forged($req);
        chomp $body;
        answer($c, "200 $body", '');
    });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, 'forged status line');
    is($r->{exit}, 1, 'forged status line: WARNING');
    for my $p (@{ $r->{json}{probes} }) {
        is($p->{verdict}, 'suspect', "forged status line: $p->{name} suspect");
        is($p->{echo}, 'marker', "forged status line: $p->{name}: imitates the canary");
        like($p->{reply}, qr/^HTTP\/1\.1 200 proxyguard-canary [0-9a-f]{10} saw pgc/,
             "forged status line: $p->{name}: the forged reason phrase is what it sent");
    }
    # a CONNECT answered "200" with no body is taken for a tunnel, and still
    # proves nothing
    ok(PGProbe::probe($r, 'connect')->{tunnel}, 'forged status line: connect looked like a tunnel');
    PGProbe::stop_server($pid);
}

# --- CONNECT 200, then the tunnel echoes ------------------------------------
sub tunnel_target {
    my ($inside) = @_;
    return target(sub {
        my ($c, $req) = @_;
        return answer($c, '404 Not Found', "no\n") unless $req =~ /\A\S*connect /i;
        print $c "HTTP/1.1 200 Connection established\r\n\r\n";
        $c->autoflush(1);
        $inside->($c, $req);
    });
}

{
    my ($port, $pid) = tunnel_target(sub {
        my ($c) = @_;
        my $sel = IO::Select->new($c);
        my $until = time + 3;
        while (time < $until && $sel->can_read($until - time)) {
            sysread($c, my $b, 4096) or last;
            syswrite($c, $b);
        }
    });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, 'tunnel echo');
    is($r->{exit}, 1, 'tunnel echo: WARNING (a 2xx tunnel that proves nothing)');
    for my $name (qw(connect connect-smtp connect-mixed-case)) {
        my $p = PGProbe::probe($r, $name);
        ok($p->{tunnel}, "tunnel echo: $name answered 2xx as a tunnel");
        is($p->{verdict}, 'suspect', "tunnel echo: $name suspect");
        like($p->{note}, qr/nothing sent into the tunnel reached the canary/, "tunnel echo: $name: the note says so");
    }
    is(PGProbe::probe($r, 'connect')->{echo}, 'token', 'tunnel echo: connect: our request came back, token and all');
    is(PGProbe::probe($r, 'get')->{verdict}, 'rejected', 'tunnel echo: get (404) rejected');
    PGProbe::stop_server($pid);
}

# --- a fake SMTP banner, and a forged canary reply inside the tunnel --------
{
    my ($port, $pid) = tunnel_target(sub {
        my ($c, $req) = @_;
        my ($body, $nonce) = forged($req);
        print $c "220 proxyguard-canary $nonce proof 0123456789abcdef ESMTP ready\r\n";
        my $sel = IO::Select->new($c);
        my $until = time + 3;
        my $in = '';
        while (time < $until && $sel->can_read($until - time)) {
            sysread($c, my $b, 4096) or last;
            $in .= $b;
            while ($in =~ s/\A([^\n]*)\n//) {
                my $line = $1;
                if ($line =~ /^GET /) {
                    answer($c, '200 OK', $body);
                    return;
                }
                print $c $line =~ /^EHLO/i ? "250 proxyguard-canary\r\n"
                       : $line =~ /^QUIT/i ? "221 Bye\r\n" : '';
                return if $line =~ /^QUIT/i;
            }
        }
    });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, 'fake SMTP banner');
    is($r->{exit}, 1, 'fake SMTP banner: WARNING');
    my $smtp = PGProbe::probe($r, 'connect-smtp');
    ok($smtp->{tunnel}, 'fake SMTP banner: connect-smtp answered as a tunnel');
    ok(!$smtp->{banner_back}, 'fake SMTP banner: a banner with the nonce (and a guessed proof) is not the canary\'s');
    is($smtp->{verdict}, 'suspect', 'fake SMTP banner: connect-smtp suspect');
    is($smtp->{echo}, 'marker', 'fake SMTP banner: connect-smtp: imitates the canary');
    like($smtp->{note}, qr/imitates the canary's answer without its proof: forged/, 'fake SMTP banner: the note says forged');
    my $http = PGProbe::probe($r, 'connect');
    ok(!$http->{reply_back}, 'fake SMTP banner: connect: a forged canary reply inside the tunnel is not the canary\'s');
    is($http->{verdict}, 'suspect', 'fake SMTP banner: connect suspect');
    is($http->{echo}, 'marker', 'fake SMTP banner: connect: imitates the canary');
    PGProbe::stop_server($pid);
}

# --- 302 to the canary URL: not proxying, and never followed ----------------
for my $forge (0, 1) {
    my $what = $forge ? 'forged redirect' : 'redirect';
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        my ($target) = $req =~ /\A\s*\S+ (\S+)/;
        $target = "http://$target/" unless $target =~ m{://};
        answer($c, '302 Found', $forge ? (forged($req))[0] : '', "Location: $target\r\n");
    });
    my $r = PGProbe::run(@common, url($port));
    never_proven($r, $what);
    my @touched = grep { $_->{canary_connections} } @{ $r->{json}{probes} };
    is_deeply([ map { $_->{name} } @touched ], [], "$what: nothing connected to the canary (no redirect followed)");
    if ($forge) {
        is($r->{exit}, 1, 'forged redirect: WARNING (a forged canary answer, whatever its status)');
        is_deeply([ PGProbe::with_verdict($r, 'suspect') ],
                  [ sort grep { $_ ne 'head' } map { $_->{name} } @{ $r->{json}{probes} } ],
                  'forged redirect: every probe suspect but HEAD (whose reply has no body to forge in)');
        is(PGProbe::probe($r, 'head')->{verdict}, 'rejected', 'forged redirect: head rejected');
        like($r->{json}{summary}, qr/answered 2xx or imitated the canary/, 'forged redirect: the summary does not say 2xx alone');
    }
    else {
        is($r->{exit}, 0, 'redirect: OK (a 3xx is not proxying)');
        is_deeply([ PGProbe::with_verdict($r, 'rejected') ], [ sort map { $_->{name} } @{ $r->{json}{probes} } ],
                  'redirect: every probe rejected');
    }
    PGProbe::stop_server($pid);
}

# --- reads every probe, never answers: UNKNOWN, within the timeouts ---------
{
    my ($port, $pid) = target(sub { my ($c) = @_; 1 while sysread($c, my $b, 4096) });
    my @only = qw(get head post connect connect-smtp ftp);
    my $r = PGProbe::run('--json', '--timeout', 1, '--only', join(',', @only), url($port));
    is($r->{exit}, 3, 'silent: UNKNOWN') or PGProbe::show($r);
    is_deeply([ PGProbe::with_verdict($r, 'error') ], [ sort @only ], 'silent: every probe an error');
    like(PGProbe::probe($r, 'get')->{note}, qr/timed out/, 'silent: ... timed out');
    ok($r->{seconds} < 2 * @only + 3, sprintf('silent: over in %.2f s (%d probes, 1 s timeout)', $r->{seconds}, scalar @only));
    PGProbe::stop_server($pid);
}

# --- a relay of our own: the canary knows which window a connection came in ---
# Connects to the canary named in the request (as a proxy would) and sends
# the request with its origin-form target, or, with $lag, the previous
# probe's; returns the canary's answer.
sub relay_get {
    my ($req, $line) = @_;
    my ($host, $port) = $req =~ m{\A\s*\S+ http://([\d.]+):(\d+)/}i or return undef;
    my $up = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp',
                                   Timeout => 2) or return undef;
    print $up "$line\r\nHost: $host:$port\r\nConnection: close\r\n\r\n";
    my $got = '';
    my $sel = IO::Select->new($up);
    while ($sel->can_read(2)) { sysread($up, my $b, 4096) or last; $got .= $b }
    return $got;
}

{
    my $prev;
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        my ($line) = $req =~ m{\A\s*\S+ http://[^/]+(/\S*) }i;
        # probe N's own request goes nowhere; probe N-1's goes to the canary now
        relay_get($req, "GET $prev HTTP/1.0") if defined $prev;
        $prev = $line;
        answer($c, '404 Not Found', "no\n");
    });
    my @only = qw(get post host-mismatch http10-no-host mixed-case-scheme);
    my $r = PGProbe::run(@common, '--only', join(',', @only), url($port));
    never_proven($r, 'laggard');
    is($r->{exit}, 1, 'laggard: WARNING (its tokens reached the canary, each in another probe\'s window)');
    for my $i (0 .. $#only - 1) {
        my $p = PGProbe::probe($r, $only[$i]);
        is($p->{verdict}, 'suspect', "laggard: $only[$i] suspect: its token came while $only[$i + 1] ran");
        like($p->{note}, qr/its token reached the canary from 127\.0\.0\.1:\d+, but while probe \Q$only[$i + 1]\E ran \(outside this probe's window\): not proof/,
             "laggard: $only[$i]: the note names the window");
        like($p->{stray_from}, qr/^127\.0\.0\.1:\d+$/, "laggard: $only[$i]: stray_from");
    }
    for my $i (1 .. $#only) {
        my $p = PGProbe::probe($r, $only[$i]);
        is($p->{canary_connections}, 1, "laggard: $only[$i]: one canary connection in its window ...");
        like($p->{note}, qr/opened 1 connection\(s\) to the canary while this probe ran, without its token/,
             "laggard: $only[$i]: ... without its token: no proof for it either");
    }
    is(PGProbe::probe($r, $only[-1])->{verdict}, 'rejected', 'laggard: the last probe, never relayed, rejected');
    PGProbe::stop_server($pid);
}

# --- the control: a real relay, however crude, is CRITICAL -------------------
{
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        if ($req =~ /\A(?:CONNECT|cOnNeCt) ([\d.]+):(\d+) /) {
            my $up = IO::Socket::INET->new(PeerAddr => $1, PeerPort => $2, Proto => 'tcp', Timeout => 2)
                or return answer($c, '502 Bad Gateway', "no\n");
            print $c "HTTP/1.1 200 Connection established\r\n\r\n";
            $c->autoflush(1);
            $up->autoflush(1);
            my $sel = IO::Select->new($c, $up);
            my $until = time + 3;
            while (time < $until && (my @ready = $sel->can_read($until - time))) {
                for my $from (@ready) {
                    my $n = sysread($from, my $b, 4096);
                    return unless $n;
                    syswrite($from == $c ? $up : $c, $b);
                }
            }
            return;
        }
        my ($method, $path) = $req =~ m{\A(GET|HEAD) http://[\d.]+:\d+(/\S*) }
            or return answer($c, '403 Forbidden', "no\n");
        my $got = relay_get($req, "$method $path HTTP/1.0");
        print $c $got // "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n";
    });
    my $r = PGProbe::run(@common, '--only', 'get,head,connect,connect-smtp,post', url($port));
    is($r->{exit}, 2, 'a real relay: CRITICAL') or PGProbe::show($r);
    is(PGProbe::probe($r, 'get')->{verdict}, 'proxied', 'a real relay: get proxied');
    is(PGProbe::probe($r, 'head')->{verdict}, 'proxied', 'a real relay: head proxied');
    is(PGProbe::probe($r, 'post')->{verdict}, 'rejected', 'a real relay: post (it relays no POST) rejected');
    for my $name (qw(connect connect-smtp)) {
        my $p = PGProbe::probe($r, $name);
        is($p->{verdict}, 'tunneled', "a real relay: $name tunneled");
        like($p->{note}, qr/came back through it, with this probe's proof/, "a real relay: $name: the proof came back");
    }
    ok(PGProbe::probe($r, 'connect-smtp')->{banner_back}, 'a real relay: the banner (with its proof) came back');
    ok(PGProbe::probe($r, 'connect')->{reply_back}, 'a real relay: the reply (with its proof) came back');
    is(PGProbe::probe($r, 'get')->{echo}, undef, 'a real relay: a proven probe has no echo');
    PGProbe::stop_server($pid);
}

# --- a one-way tunnel: our bytes reach the canary, nothing comes back --------
# An open relay still (proxied), but not a tunnel shown both ways.
{
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        my ($host, $cport) = $req =~ /\ACONNECT ([\d.]+):(\d+) / or return answer($c, '403 Forbidden', "no\n");
        my $up = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $cport, Proto => 'tcp', Timeout => 2)
            or return answer($c, '502 Bad Gateway', "no\n");
        print $c "HTTP/1.1 200 Connection established\r\n\r\n";
        $up->autoflush(1);
        my $sel = IO::Select->new($c);
        my $until = time + 3;
        while (time < $until && $sel->can_read($until - time)) {
            sysread($c, my $b, 4096) or last;
            syswrite($up, $b);      # what the canary answers is never read
        }
    });
    my $r = PGProbe::run(@common, '--only', 'get,connect', url($port));
    is($r->{exit}, 2, 'one-way tunnel: CRITICAL (our token reached the canary through it)') or PGProbe::show($r);
    my $p = PGProbe::probe($r, 'connect');
    ok($p->{canary_hit} && !$p->{reply_back}, 'one-way tunnel: the token reached the canary, its reply never came back');
    is($p->{verdict}, 'proxied', 'one-way tunnel: proxied, not tunneled');
    like($p->{note}, qr/reached the canary \(from 127\.0\.0\.1:\d+\), but the canary's reply never came back/,
         'one-way tunnel: the note says so');
    PGProbe::stop_server($pid);
}

# --- --status: the page's text is a server's bytes, escaped -----------------
{
    # reason: ESC, an OSC title sequence, BEL, a backslash; action: Latin-1
    # and non-Latin-1 escapes and raw UTF-8
    my $reason_json = 'abs\u001b]0;owned\u0007\\\\x';
    my $action_json = "d\\u00e9ny\\u263a\xc3\xa9";
    my @seen;
    my ($port, $pid) = target(sub {
        my ($c, $req) = @_;
        if ($req =~ m{\AGET /proxyguard-status\?json }) {
            my $recent = join ', ', map {
                qq({"time": 1, "client": "127.0.0.1", "method": "$_->[0]", "target": "$_->[1]",)
                . qq( "reason": "$reason_json", "action": "$action_json"})
            } reverse @seen;
            my $n = @seen;
            return answer($c, '200 OK', qq({"total": $n, "hits": {"absolute-uri": $n, "\\u001b[2Jevil": 0},)
                                        . qq( "recent": [$recent]}));
        }
        my ($method, $target) = $req =~ /\A(\S+) (\S+) /;
        push @seen, [ $method, $target ];
        answer($c, '403 Forbidden', "no\n");
    });
    my @args = ('--timeout', 2, '--only', 'get,connect', '--status', "http://127.0.0.1:$port/proxyguard-status",
                url($port));
    my $r = PGProbe::run(@args);
    is($r->{exit}, 0, '--status, hostile page: OK (both probes rejected)') or PGProbe::show($r);
    like($r->{out}, qr/^get\s+403\s+rejected\s+-\s+abs\\x1b\]0;owned\\x07\\\\x\/d\\xe9ny\\xe2\\x98\\xba\\xc3\\xa9 /m,
         '--status, table: reason and action escaped as docs/probe.md says (\xNN, \\\\)');
    like($r->{out}, qr/counted 2 of 2 probes; hits during the run: 2 absolute-uri \(total 0 -> 2\)/,
         '--status, table: the module\'s account');
    unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, '--status, table: no raw control or high byte in the output');
    $r = PGProbe::run('--json', @args);
    my $g = PGProbe::probe($r, 'get')->{guard};
    is($g->{reason}, "abs\e]0;owned\a\\x", '--status, --json: the reason round-trips through JSON exactly');
    is($g->{action}, "d\xe9ny\xe2\x98\xba\xc3\xa9", '--status, --json: the action, byte for byte (as Latin-1)');
    unlike($r->{out}, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, '--status, --json: no raw control or high byte');
    PGProbe::stop_server($pid);
}

done_testing;
