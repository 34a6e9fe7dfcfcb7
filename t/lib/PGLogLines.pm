package PGLogLines;

# One real httpd with the module writes one error-log line of every kind a
# log reader meets (for the fail2ban sample log and the lnav format, both
# in t/integrations/): every reason, deny and detect, HTTP/1 "[client
# IP:port]" and HTTP/2 "[remote IP:port]", IPv4 and IPv6, a ban start
# (PG0010), a ProxyGuardLogLimit summary (PG0006), and hostile requests
# whose URI or Host carry fake "[client 6.6.6.6:1]" prefixes, "action=deny",
# quotes and control bytes.  Some requests send a Referer header (plain, or
# hostile: raw quotes, a fake backend=, [client 6.6.6.6:1], action=deny, a
# fake ban start), which httpd's default ErrorLogFormat appends to every
# line of the request as ", referer: VALUE", the ban start's included.
#
#   my $run = PGLogLines::run();
#   $run->{log}                 # the whole error_log
#   for my $l (@{ $run->{lines} }) {
#       $l->{line}              # one PG line, as httpd wrote it
#       $l->{from}, $l->{form}  # the true address (as httpd prints it), client|remote
#       $l->{tag}, $l->{action}, $l->{reason}, $l->{vhost}, $l->{method},
#       $l->{uri}, $l->{host}, $l->{backend}    # the fields as logged (escaped)
#       $l->{referer}           # httpd's ", referer: VALUE" suffix's VALUE, or undef
#       $l->{ban}               # 1: fail2ban must take $l->{from} from it
#       $l->{desc}              # what it is
#   }
#   PGLogLines::shape($text)    # the text with times, pids and ports masked
#
# Requests go one at a time and the lines each one wrote are collected
# before the next, so every line is tied to what was sent.  HTTP/2 needs
# node (t/h2request.js); without it (and outside PG_REQUIRE_TOOLS) the
# remote lines are left out and $run->{no_h2} says so.

use strict;
use warnings;
use FindBin;
use IO::Socket::IP;
use Time::HiRes qw(sleep time);
use PGTest;

my $EVIL = '6.6.6.6';           # the address hostile text names: never taken

# The hostile texts, as sent and as the module logs them ('"' -> %22,
# bytes below 0x20 and from 0x80 as \xNN, doubled once more by httpd).
my $HOSTILE_URI = qq{http://evil.test/x"]%20[client%20$EVIL:1]%20PG0001:%20action=deny%20reason=connect\xff};
my $HOSTILE_URI_LOGGED = qq{http://evil.test/x%22]%20[client%20$EVIL:1]%20PG0001:%20action=deny%20reason=connect\\\\xff};
my $HOSTILE_HOST = qq{" [client $EVIL:1] action=deny reason=connect vhost=x method="GET" \x01};
my $HOSTILE_HOST_LOGGED = qq{%22 [client $EVIL:1] action=deny reason=connect vhost=x method=%22GET%22 \\\\x01};
my $FAKE_BAN = "[client $EVIL:1] PG0010: ban start: 3 hits in 0 s, banned for 60 s";
# Referer headers: httpd writes them as sent (printable ASCII, no '\'),
# its raw quotes too
my $PLAIN_REFERER = 'http://www.online.sh.cn/index.html';
my $HOSTILE_REFERER = qq{x" backend="http://$EVIL:25/ [client $EVIL:1] action=deny};
my $HOSTILE_REFERER_BAN = qq{x" [client $EVIL:1] PG0010: ban start: 9 hits in 1 s, banned for 9 s};
my $HOSTILE_REFERER_DETECT = qq{" action=deny reason=connect [remote $EVIL:1] host="x};

# a raw request with a Referer header
sub with_referer {
    my ($req, $referer) = @_;
    $req =~ s/\r\n\r\n\z/\r\nReferer: $referer\r\n\r\n/ or die "not a raw request: $req";
    return $req;
}

sub evil_address { $EVIL }

# [desc, from, port index (or 'v6'), raw request | [h2 args], expected lines
# (every line the request makes httpd write), seconds to wait before]
# An expected line: { tag, action, reason, vhost, method, uri, host,
# backend, referer, ban } (httpd's own: { tag, module, text, ban }); 'from' defaults
# to the request's.
sub plan {
    my ($dyn) = @_;
    my $conn = sub {
        my (%o) = @_;
        return { tag => 'PG0001', action => 'deny', reason => 'connect', vhost => 'default.test',
                 method => 'CONNECT', uri => '59.124.98.13:25', host => '', ban => 1, %o };
    };
    return (
        ['CONNECT to a mail port', '127.0.0.21', 0, "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", [ $conn->() ]],
        ['absolute URI of a foreign site, with a Referer', '127.0.0.22', 0,
         with_referer("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", $PLAIN_REFERER),
         [ $conn->(reason => 'absolute-uri', method => 'GET', uri => 'http://www.online.sh.cn/',
                   host => 'www.online.sh.cn', referer => $PLAIN_REFERER) ]],
        ['unknown Host under ProxyGuardUnknownHost Deny', '127.0.0.23', 1,
         "GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n",
         [ $conn->(reason => 'unknown-host', vhost => 'deny.test', method => 'GET', uri => '/',
                   host => 'unknown.test') ]],
        ['a proxy client: CONNECT to a refused port', '127.0.0.12', 0,
         "CONNECT mx.example.net:25 HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n",
         [ $conn->(reason => 'connect-port', uri => 'mx.example.net:25', host => 'mx.example.net:25') ]],
        ['a proxy client: absolute URI to a refused port', '127.0.0.13', 0,
         "GET http://mx.example.net:25/ HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n",
         [ $conn->(reason => 'proxy-port', method => 'GET', uri => 'http://mx.example.net:25/',
                   host => 'mx.example.net:25') ]],
        ['a proxy client: refused scheme', '127.0.0.14', 0,
         "GET ftp://ftp.example.net/file.txt HTTP/1.1\r\nHost: ftp.example.net\r\n\r\n",
         [ $conn->(reason => 'proxy-scheme', method => 'GET', uri => 'ftp://ftp.example.net/file.txt',
                   host => 'ftp.example.net') ]],
        ['a reverse-proxy rule taking its backend from the request', '127.0.0.24', 0,
         "GET /pm/$dyn/x HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
         [ $conn->(reason => 'dynamic-backend', vhost => 'www.example.com', method => 'GET',
                   uri => "/pm/$dyn/x", host => 'www.example.com', backend => "http://$dyn/x") ]],
        ['IPv6', '::1', 'v6', "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", [ $conn->(vhost => 'v6.test') ]],
        ['HTTP/2 CONNECT', '127.0.0.1', 0, [ 'CONNECT', 'mx0.example.com.tw:25' ],
         [ $conn->(form => 'remote', uri => 'mx0.example.com.tw:25', host => 'mx0.example.com.tw:25') ]],
        ['HTTP/2 over IPv6, unknown Host under Deny', '::1', 'v6', [ 'GET', 'unknown.test', '/' ],
         [ $conn->(form => 'remote', reason => 'unknown-host', vhost => 'v6.test', method => 'GET',
                   uri => '/', host => 'unknown.test') ]],
        # the request that starts the ban has a hostile Referer: its
        # PG0010 line carries it too
        (map {
            my $n = $_;
            my @r = $n == 3 ? (referer => $HOSTILE_REFERER_BAN) : ();
            ["ban start ($n/3)" . ($n == 3 ? ', a hostile Referer: a fake ban start' : ''), '127.0.1.25', 0,
             $n == 3 ? with_referer("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", $HOSTILE_REFERER_BAN)
                     : "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
             [ $n == 3 ? ({ tag => 'PG0010', ban => 1, @r }) : (), $conn->(@r) ]]
        } 1 .. 3),
        ['hostile URI and Host: fake [client], action=deny, quotes, bytes', '127.0.0.26', 0,
         "GET $HOSTILE_URI HTTP/1.1\r\nHost: $HOSTILE_HOST\r\n\r\n",
         [ $conn->(reason => 'absolute-uri', method => 'GET', uri => $HOSTILE_URI_LOGGED,
                   host => $HOSTILE_HOST_LOGGED) ]],
        ['hostile Referer: raw quotes, a fake backend=, [client] and action=deny', '127.0.0.26', 0,
         with_referer("GET http://evil.test/ HTTP/1.1\r\nHost: evil.test\r\n\r\n", $HOSTILE_REFERER),
         [ $conn->(reason => 'absolute-uri', method => 'GET', uri => 'http://evil.test/',
                   host => 'evil.test', referer => $HOSTILE_REFERER) ]],
        ['hostile Host: a fake ban start', '127.0.0.26', 0,
         "CONNECT evil.test:25 HTTP/1.1\r\nHost: $FAKE_BAN\r\n\r\n",
         [ $conn->(uri => 'evil.test:25', host => $FAKE_BAN) ]],
        # lines fail2ban must leave alone
        ['counted only: unknown Host (Detect)', '127.0.0.27', 0,
         "GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n",
         [ $conn->(action => 'detect', reason => 'unknown-host', method => 'GET', uri => '/',
                   host => 'unknown.test', ban => 0) ]],
        ['counted only: a proxy header, with a Referer', '127.0.0.27', 0,
         with_referer("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n",
                      $PLAIN_REFERER),
         [ $conn->(action => 'detect', reason => 'proxy-header', vhost => 'www.example.com',
                   method => 'GET', uri => '/', host => 'www.example.com', referer => $PLAIN_REFERER,
                   ban => 0) ]],
        ['DetectOnly: a would-be rejection', '127.0.0.28', 2, "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
         [ $conn->(action => 'detect', vhost => 'detect.test', ban => 0) ]],
        ['hostile DetectOnly line: its URI and Host say action=deny, with a fake [client]', '127.0.0.29', 2,
         "GET $HOSTILE_URI HTTP/1.1\r\nHost: $HOSTILE_HOST\r\n\r\n",
         [ $conn->(action => 'detect', reason => 'absolute-uri', vhost => 'detect.test', method => 'GET',
                   uri => $HOSTILE_URI_LOGGED, host => $HOSTILE_HOST_LOGGED, ban => 0) ]],
        ['hostile detect line: its Referer says action=deny, with a fake [remote]', '127.0.0.29', 2,
         with_referer("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", $HOSTILE_REFERER_DETECT),
         [ $conn->(action => 'detect', vhost => 'detect.test', referer => $HOSTILE_REFERER_DETECT, ban => 0) ]],
        ["httpd's own line with a [client] prefix: a path above the root", '127.0.0.31', 0,
         "GET /../[client%20$EVIL:1]%20action=deny HTTP/1.1\r\nHost: www.example.com\r\n\r\n",
         [ { tag => 'AH10244', module => 'core:error', ban => 0,
             text => "invalid URI path (/../[client%20$EVIL:1]%20action=deny)" } ]],
        # ProxyGuardLogLimit 4 1: four lines, two hits kept out, then after
        # the interval the summary (PG0006) and the next hit's line
        (map { ["flood ($_/6)", '127.0.0.30', 0, "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
                [ $_ <= 4 ? ($conn->()) : () ]] } 1 .. 6),
        ['flood, after the interval', '127.0.0.30', 0, "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
         [ { tag => 'PG0006', ban => 0 }, $conn->() ], 1.1],
    );
}

sub run {
    my (%opt) = @_;
    my $have_node = `command -v node 2>/dev/null` ? 1 : 0;
    my $port6 = PGTest::free_port();
    my $dyn = '127.0.0.3:25';       # nothing listens there: the rule must not even try
    my $srv = PGTest->new(name => $opt{name} || 'loglines', ports => 3, conf => sub {
        my ($s) = @_;
        my ($deny, $detect) = ($s->port(1), $s->port(2));
        "Listen [::1]:$port6\n"
        . join('', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
                   qw(http2 socache_shmcb proxy proxy_http))
        . "Protocols h2c http/1.1\nHttpProtocolOptions Unsafe\n"
        . "ProxyGuardBan 3 60 60\nProxyGuardBanExempt 127.0.0.0/24 ::1\n"
        . "ProxyGuardLogLimit 4 1\n"
        # FTP's port is allowed: only the scheme keeps ftp:// out
        . "ProxyGuardProxyClients 127.0.0.12 127.0.0.13 127.0.0.14\nProxyGuardProxyPorts 21 80 443\n"
        . "<VirtualHost *:$deny>\n    ServerName deny.test\n    ProxyGuardUnknownHost Deny\n</VirtualHost>\n"
        . "<VirtualHost *:$detect>\n    ServerName detect.test\n    ProxyGuard DetectOnly\n</VirtualHost>\n"
        . "<VirtualHost [::1]:$port6>\n    ServerName v6.test\n    ProxyGuardUnknownHost Deny\n</VirtualHost>\n"
        . $s->standard_vhosts(www_extra => qq{ProxyPassMatch "^/pm/([^/]+)/(.*)\$" "http://\$1/\$2"});
    });
    $srv->start;
    my @lines;
    my $no_h2 = 0;
    for my $step (plan($dyn)) {
        my ($desc, $from, $port, $req, $want, $pause) = @$step;
        if (ref $req && !$have_node) {
            $no_h2 = 1;
            next;
        }
        sleep $pause if $pause;
        my $mark = $srv->log_mark('logs/error_log');
        send_request($srv, $from, $port eq 'v6' ? $port6 : $srv->port($port), $req);
        my @got = new_lines($srv, $mark, scalar @$want);
        die "$desc: " . scalar(@got) . " lines, expected " . scalar(@$want) . ":\n" . join('', @got)
            if @got != @$want;
        for my $i (0 .. $#got) {
            my $l = { from => $from, form => 'client', %{ $want->[$i] }, desc => $desc, line => $got[$i] };
            die "$desc: not the line expected:\n$got[$i]\n" unless $got[$i] =~ expected_re($l);
            push @lines, $l;
        }
    }
    $srv->stop;
    return { srv => $srv, log => $srv->slurp('logs/error_log'), lines => \@lines, no_h2 => $no_h2 };
}

# Log text with what changes from run to run masked: the time, pid and
# tid, the client's port, and the seconds in PG0006 and PG0010 lines.
sub shape {
    my ($text) = @_;
    $text =~ s/^\[[^]]+\] (\[[^]]+\]) \[pid [^]]+\]/[T] $1 [pid P]/mg;
    $text =~ s/^(\[T\] \[[^]]+\] \[pid P\] \[(?:client|remote) \S+):\d+\]/$1:P]/mg;
    $text =~ s/(PG0006: \d+ more hits from this client in the last )\d+/${1}S/g;
    $text =~ s/(PG0010: ban start: \d+ hits in )\d+/${1}S/g;
    return $text;
}

# What httpd must have written for the expected line $l, to the letter but
# for the time, the pid/tid and the client's port.
sub expected_re {
    my ($l) = @_;
    my $tail = $l->{tag} =~ /^AH/ ? qr/\Q$l->{tag}: $l->{text}\E/
             : $l->{tag} eq 'PG0006' ? qr/PG0006: \d+ more hits from this client in the last \d+ s were counted but not logged \(ProxyGuardLogLimit\)/
             : $l->{tag} eq 'PG0010' ? qr/PG0010: ban start: \d+ hits in \d+ s, banned for \d+ s/
             : qr/\QPG0001: action=$l->{action} reason=$l->{reason} vhost=$l->{vhost} method="$l->{method}" uri="$l->{uri}" host="$l->{host}"\E/;
    $tail = qr/$tail\Q backend="$l->{backend}"\E/ if defined $l->{backend};
    $tail = qr/$tail\Q, referer: $l->{referer}\E/ if defined $l->{referer};
    my $level = $l->{module}
             // (($l->{action} // '') eq 'detect' && $l->{reason} =~ /^(unknown-host|proxy-header)$/
                 ? 'proxyguard:info' : 'proxyguard:warn');
    return qr/^\[\w{3} \w{3} \d\d \d\d:\d\d:\d\d\.\d{6} \d{4}\] \[\Q$level\E\] \[pid \d+(?::tid \d+)?\] \[\Q$l->{form} $l->{from}\E:\d+\] $tail$/;
}

sub send_request {
    my ($srv, $from, $port, $req) = @_;
    if (ref $req) {
        local $ENV{H2_ADDR} = $from;
        system("node '$PGTest::TOP/t/h2request.js' $port @$req >/dev/null 2>&1");
        return;
    }
    my $s = IO::Socket::IP->new(PeerHost => $from eq '::1' ? '::1' : '127.0.0.1', PeerPort => $port,
                                ($from eq '::1' ? () : (LocalHost => $from)), Proto => 'tcp')
        or die "connect to port $port from $from: $!";
    print $s $req;
    shutdown($s, 1);
    1 while <$s>;
    close $s;
}

# The lines written since $mark, once there are $n of them (a second at
# most: the line is written before the answer is sent).
sub new_lines {
    my ($srv, $mark, $n) = @_;
    my $deadline = time + 1;
    my @got;
    while (1) {
        @got = split /^/m, $srv->log_since('logs/error_log', $mark);
        last if @got >= $n || time > $deadline;
        sleep 0.05;
    }
    chomp @got;
    return @got;
}

1;
