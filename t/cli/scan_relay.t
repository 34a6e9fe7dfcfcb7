#!/usr/bin/perl
# "Did it work?" judged on logs a real httpd wrote, against what really
# happened.  Three servers, none with the module:
#  - an open forward proxy (ProxyRequests On, AllowCONNECT) relaying GET,
#    HEAD, OPTIONS, a conditional GET (304), a POST to a mail listener and
#    a CONNECT tunnel to it, and failing relays: a refused port (503) and a
#    listener that reads the request and hangs up (502);
#  - a stock httpd answering probes with its own pages;
#  - on it, a vhost that redirects everything, and one whose redirect names
#    the request's Host (mod_rewrite, %{HTTP_HOST}).
# What reached the "foreign" side is recorded by the origin httpd's own
# access log and by loopback listeners.  Each server writes its log in
# combined, common, vhost_combined, a %B format and a format with
# %{Host}i, all at once; every hit's verdict and rule in each is asserted,
# and checked against what the listeners saw: a request that reached
# anything is never called rejected or served-locally.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep time);
use PGHttp;
use PGListener;
use PGScan;
use PGTest;

my $M = $PGTest::MODULES;

# name, --format, LogFormat, what its size counts
my @FORMATS = (
    [ 'combined', 'combined',
      '%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"', 'body' ],
    [ 'common', 'common', '%h %l %u %t \"%r\" %>s %b', 'body' ],
    [ 'vhost_combined', 'vhost_combined',
      '%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"', 'sent' ],
    [ 'bytes', '%h %l %u %t "%r" %>s %B', '%h %l %u %t \"%r\" %>s %B', 'body' ],
    [ 'host', '%h %l %u %t "%r" %>s %b "%{Host}i"', '%h %l %u %t \"%r\" %>s %b \"%{Host}i\"', 'body' ],
);

sub log_lines {
    my ($dir) = @_;
    return join '', map {
        qq{LogFormat "$_->[2]" pg_$_->[0]\nCustomLog "$dir/logs/$_->[0].log" pg_$_->[0]\n}
    } @FORMATS;
}

# --- the foreign side --------------------------------------------------------
my $origin = PGTest->new(name => 'origin', load_module => 0, loglevel => 'warn', conf => sub {
    my ($s) = @_;
    $s->write_file('htdocs/page.html', 'relayed page ' . ('x' x 700) . "\n");
    return qq{LogFormat "%r" truth\nCustomLog "} . $s->dir . qq{/logs/truth.log" truth\n};
});
$origin->start;
my $smtp = PGListener->new(addr => '127.0.0.1', kind => 'smtp');
my $drop = PGListener->new(addr => '127.0.0.1', kind => 'drop');
my $refused = PGTest::free_port();
my ($op, $sp, $dp) = ($origin->port, $smtp->port, $drop->port);

# --- the open proxy ------------------------------------------------------------
my $proxy = PGTest->new(name => 'openproxy', load_module => 0, loglevel => 'warn', conf => sub {
    my ($s) = @_;
    return "LoadModule proxy_module $M/mod_proxy.so\n"
         . "LoadModule proxy_http_module $M/mod_proxy_http.so\n"
         . "LoadModule proxy_connect_module $M/mod_proxy_connect.so\n"
         . log_lines($s->dir)
         . "ProxyRequests On\nAllowCONNECT 1-65535\n<Proxy \"*\">\n    Require all granted\n</Proxy>\n";
});
$proxy->start;

# --- a stock server: its own pages, a redirect-only vhost, a Host redirect ----
my $stock = PGTest->new(name => 'stock', load_module => 0, loglevel => 'warn', ports => 3, conf => sub {
    my ($s) = @_;
    my ($p1, $p2) = ($s->port(1), $s->port(2));
    return "LoadModule alias_module $M/mod_alias.so\n"
         . "LoadModule rewrite_module $M/mod_rewrite.so\n"
         . log_lines($s->dir)
         . "<VirtualHost 127.0.0.1:$p1>\n    ServerName redirect.test\n"
         . "    Redirect permanent / https://www.redirect.test/\n</VirtualHost>\n"
         . "<VirtualHost 127.0.0.1:$p2>\n    ServerName rw.test\n    RewriteEngine On\n"
         . "    RewriteRule ^ https://%{HTTP_HOST}%{REQUEST_URI} [R=301,L]\n</VirtualHost>\n";
});
$stock->start;

# The origin's ETag, for a conditional GET that the origin answers 304.
my $page = PGHttp::raw_request($op, "GET /page.html HTTP/1.0\r\n\r\n");
my ($etag) = ($page->{raw} =~ /^ETag: (\S+)\r$/mi);
ok($etag, "the origin's page has an ETag ($etag)");

# Ordinary requests first: what the servers serve their own visitors, on
# kept-alive HTTP/1.1 connections (the probes below are HTTP/1.0, so their
# %O differs by the connection's own headers).
sub keepalive {
    my ($port, @requests) = @_;
    my $s = PGHttp::tcp_connect($port);
    print $s join '', @requests;
    shutdown($s, 1);
    local $/;
    my $all = <$s>;
    close $s;
    return $all;
}
keepalive($proxy->port, map { "$_ HTTP/1.1\r\nHost: localhost\r\n\r\n" }
          'GET /', 'HEAD /', 'OPTIONS /');
keepalive($stock->port(0), map { "$_ HTTP/1.1\r\nHost: localhost\r\n\r\n" }
          'GET /', 'GET /?o10', 'HEAD /', 'OPTIONS /');
keepalive($stock->port(1), map { "$_ HTTP/1.1\r\nHost: redirect.test\r\n\r\n" }
          'GET /?o17', 'GET /');
keepalive($stock->port(2), map { "$_ HTTP/1.1\r\nHost: rw.test\r\n\r\n" } 'GET /?o19');

# --- the probes -------------------------------------------------------------------
# token, server, port index, client, request; the expected verdict and rule
# under a body size (%b, %B) and under %O; and where it may be relayed to
# ('origin' or a listener), if anywhere.
my $O = "127.0.0.1:$op";
my @PROBES = (
    [ 't01', $proxy, 0, '127.0.0.5', "GET http://$O/page.html?t01 HTTP/1.0\r\nHost: $O\r\n\r\n",
      [ 'suspect', 'new-size' ], [ 'suspect', 'new-size' ], 'origin', 200 ],
    [ 't02', $proxy, 0, '127.0.0.5', "HEAD http://$O/page.html?t02 HTTP/1.0\r\nHost: $O\r\n\r\n",
      [ 'undetermined', 'no-body' ], [ 'undetermined', 'no-body' ], 'origin', 200 ],
    [ 't03', $proxy, 0, '127.0.0.5', "OPTIONS http://$O/page.html?t03 HTTP/1.0\r\nHost: $O\r\n\r\n",
      [ 'undetermined', 'no-body' ], [ 'undetermined', 'no-body' ], 'origin', 200 ],
    [ 't04', $proxy, 0, '127.0.0.5', "GET http://$O/page.html?t04 HTTP/1.0\r\nHost: $O\r\nIf-None-Match: $etag\r\n\r\n",
      [ 'undetermined', 'no-body' ], [ 'undetermined', 'no-body' ], 'origin', 304 ],
    [ 't05', $proxy, 0, '127.0.0.5', "POST http://127.0.0.1:$sp/t05 HTTP/1.0\r\nContent-Length: 24\r\n\r\nEHLO t05\r\nMAIL FROM:<>\r\n",
      [ 'suspect', 'new-size' ], [ 'suspect', 'new-size' ], 'smtp', 200 ],
    [ 't07', $proxy, 0, '127.0.0.6', "GET http://127.0.0.1:$refused/t07 HTTP/1.0\r\n\r\n",
      [ 'rejected', 'not-reached' ], [ 'rejected', 'not-reached' ], undef, 503 ],
    [ 't08', $proxy, 0, '127.0.0.6', "CONNECT 127.0.0.1:$refused HTTP/1.0\r\n\r\n",
      [ 'rejected', 'tunnel-refused' ], [ 'rejected', 'tunnel-refused' ], undef, 503 ],
    [ 't09', $proxy, 0, '127.0.0.6', "GET http://127.0.0.1:$dp/t09 HTTP/1.0\r\n\r\n",
      [ 'undetermined', 'gateway-error' ], [ 'undetermined', 'gateway-error' ], 'drop', 502 ],
    [ 't10', $stock, 0, '127.0.0.7', "GET http://foreign.test/?t10 HTTP/1.0\r\n\r\n",
      [ 'served-locally', 'own-size' ], [ 'served-locally', 'own-size' ], undef, 200 ],
    [ 't11', $stock, 0, '127.0.0.7', "GET http://foreign.test/ HTTP/1.0\r\nUser-Agent: t11\r\n\r\n",
      [ 'served-locally', 'own-size' ], [ 'served-locally', 'own-size' ], undef, 200 ],
    [ 't12', $stock, 0, '127.0.0.7', "HEAD http://foreign.test/?t12 HTTP/1.0\r\n\r\n",
      [ 'undetermined', 'no-body' ], [ 'undetermined', 'no-body' ], undef, 200 ],
    [ 't13', $stock, 0, '127.0.0.7', "OPTIONS http://foreign.test/?t13 HTTP/1.0\r\n\r\n",
      [ 'undetermined', 'no-body' ], [ 'undetermined', 'no-body' ], undef, 200 ],
    [ 't14', $stock, 0, '127.0.0.7', "CONNECT t14.foreign.test:25 HTTP/1.0\r\n\r\n",
      [ 'rejected', 'tunnel-refused' ], [ 'rejected', 'tunnel-refused' ], undef, 405 ],
    [ 't15', $stock, 0, '127.0.0.7', "GET http://foreign.test/nothing?t15 HTTP/1.0\r\n\r\n",
      [ 'rejected', 'refused' ], [ 'rejected', 'refused' ], undef, 404 ],
    [ 't16', $stock, 0, '127.0.0.7', "GET /?t16 HTTP/1.0\r\nHost: 192.0.2.16\r\n\r\n",
      [ 'origin-form', 'origin-form' ], [ 'origin-form', 'origin-form' ], undef, 200 ],
    [ 't17', $stock, 1, '127.0.0.8', "GET http://foreign.test/?t17 HTTP/1.0\r\n\r\n",
      [ 'served-locally', 'own-size' ], [ 'served-locally', 'own-size' ], undef, 301 ],
    [ 't18', $stock, 1, '127.0.0.8', "GET http://foreign.test/t18 HTTP/1.0\r\n\r\n",
      [ 'undetermined', 'new-redirect' ], [ 'undetermined', 'new-redirect' ], undef, 301 ],
    [ 't19', $stock, 2, '127.0.0.8', "GET http://a-much-longer-foreign-name.test/?t19 HTTP/1.0\r\n\r\n",
      [ 'undetermined', 'new-redirect' ], [ 'undetermined', 'new-redirect' ], undef, 301 ],
);

for my $p (@PROBES) {
    my ($token, $srv, $idx, $from, $raw, undef, undef, undef, $status) = @$p;
    my $res = $srv->request($raw, port => $idx, from => $from);
    is($res->{status}, $status, "$token: answered $status") or diag($res->{raw});
}

# The tunnel: CONNECT to the mail listener, its banner back, EHLO in.
{
    my $s = PGHttp::tcp_connect($proxy->port, '127.0.0.5');
    print $s "CONNECT 127.0.0.1:$sp HTTP/1.0\r\n\r\n";
    my ($got, $deadline) = ('', time + 5);
    while (time < $deadline && $got !~ /220 .*\r\n/) {
        sysread($s, my $buf, 4096) or last;
        $got .= $buf;
    }
    like($got, qr{\AHTTP/1\.\d 200 .*\r\n\r\n220 }s, 't06: the tunnel is open and the banner came back');
    print $s "EHLO t06\r\n";
    $got = '';
    $deadline = time + 5;
    while (time < $deadline && $got !~ /250 /) {
        sysread($s, my $buf, 4096) or last;
        $got .= $buf;
    }
    like($got, qr/^250 /m, 't06: the mail listener answered EHLO through the tunnel');
    close $s;
}
push @PROBES, [ 't06', $proxy, 0, '127.0.0.5', undef, [ 'suspect', 'tunnel-accepted' ],
                [ 'suspect', 'tunnel-accepted' ], 'smtp', 200 ];

# --- what really happened ------------------------------------------------------------
sleep 0.5;
my %reached;
my $truth = '';
for (1 .. 50) {
    $truth = $origin->slurp('logs/truth.log');
    last if $truth =~ /t04/;
    sleep 0.1;
}
$reached{origin} = { map { $_ => 1 } ($truth =~ /\b(t\d\d)\b/g) };
$reached{smtp} = { map { $_ => 1 } (join("\n", $smtp->seen) =~ /\b(t\d\d)\b/g) };
$reached{drop} = { map { $_ => 1 } (join("\n", $drop->seen) =~ /\b(t\d\d)\b/g) };
for my $p (@PROBES) {
    my ($token, $where) = @$p[0, 7];
    if ($where) {
        ok($reached{$where}{$token}, "$token: really reached the $where listener");
    }
    else {
        ok(!grep({ $_->{$token} } values %reached), "$token: reached nothing foreign");
    }
}
my $stock_index = $stock->slurp('logs/common.log');
like($stock_index, qr/"GET http:\/\/foreign\.test\/\?t10 HTTP\/1\.0" 200 \d+/, 't10: the stock server logged its own 200');

$proxy->stop;
$stock->stop;
$origin->stop;

# --- what scan says, in each format -----------------------------------------------------
sub token_of {
    my ($request) = @_;
    return $1 if $request =~ /\b(t\d\d)\b/;
    return 't06' if $request =~ /^CONNECT 127\.0\.0\.1:$sp\b/;
    return 't08' if $request =~ /^CONNECT 127\.0\.0\.1:$refused\b/;
    return undef;
}

# our names (the Host of the ordinary requests)
my @NAMES = map { ('--host', $_) } qw(localhost redirect.test rw.test);
my %judged;     # format -> token -> [verdict, rule]
for my $f (@FORMATS) {
    my ($name, $format, undef, $kind) = @$f;
    my @logs = map { $_->dir . "/logs/$name.log" } $proxy, $stock;
    my ($rc, $out, $err) = PGScan::run([ 'scan', '--lines', '--format', $format, @NAMES, @logs ]);
    is($rc, 0, "$name: scan --lines exits 0") or diag($err);
    my (%seen, $ua_line);
    for my $line (split /\n/, $out) {
        my ($where, $reason, $verdict, $rule, $status, $client, $request) = split /\t/, $line;
        if ($reason eq 'none') {
            is("$verdict/$rule", '-/-', "$name: an ordinary line has no verdict ($request)")
                unless $seen{ordinary}++;
            next;
        }
        my $token = token_of($request);
        $token = 't11' if !$token && $request eq 'GET http://foreign.test/';
        ok($token, "$name: the hit \"$request\" is one of the probes") or next;
        $judged{$name}{$token} = [ $verdict, $rule ];
    }
    for my $p (@PROBES) {
        my ($token, $expect_body, $expect_sent) = @$p[0, 5, 6];
        my $expect = $kind eq 'sent' ? $expect_sent : $expect_body;
        if ($token eq 't16' && $name ne 'host') {
            ok(!$judged{$name}{$token}, "$name: t16 (a Host header) is no hit without %{Host}i");
            next;
        }
        is(join('/', @{ $judged{$name}{$token} || [ 'none' ] }), join('/', @$expect),
           "$name: $token is $expect->[0] ($expect->[1])");
    }
}

# Against the truth, in every format: whatever reached something foreign is
# suspect or undetermined, never the reassuring answer.
for my $name (map { $_->[0] } @FORMATS) {
    for my $p (grep { $_->[7] } @PROBES) {
        my $v = $judged{$name}{ $p->[0] }[0] // 'none';
        ok($v eq 'suspect' || $v eq 'undetermined',
           "$name: $p->[0] reached the $p->[7] listener and is $v, not rejected or served-locally");
    }
}

# --- the summary: JSON, the report's headline, the HTML ----------------------------------
my @combined = map { $_->dir . '/logs/combined.log' } $proxy;
my ($j) = PGScan::json('--top', '0', @combined);
is_deeply($j->{verdicts_by_reason}{connect},
          { rejected => 1, 'served-locally' => 0, suspect => 1, unknown => 0, undetermined => 0,
            'origin-form' => 0 }, 'open proxy: one tunnel accepted, one refused');
is_deeply($j->{verdicts_by_reason}{'absolute-uri'},
          { rejected => 1, 'served-locally' => 0, suspect => 2, unknown => 0, undetermined => 4,
            'origin-form' => 0 }, 'open proxy: absolute URIs 2 suspect, 4 undetermined, 1 rejected');
is($j->{verdict_rules}{'no-body'}, 3, 'verdict_rules: HEAD, OPTIONS and the 304 have no body');
is_deeply([ @{ $j->{outcome} }{qw(relayed relayed_suspect relayed_undetermined tunnels)} ], [ 6, 2, 4, 1 ],
          'outcome: 6 may have been relayed (2 suspect, 4 undetermined), 1 tunnel');
like($j->{outcome}{headline}, qr/^6 requests may have been relayed through this server \(2 suspect, 4 undetermined\); 1 CONNECT tunnel was accepted$/,
     'the headline');
my %client = map { $_->{address} => $_ } @{ $j->{clients} };
is_deeply($client{'127.0.0.5'}{verdicts},
          { rejected => 0, 'served-locally' => 0, suspect => 3, unknown => 0, undetermined => 3,
            'origin-form' => 0 }, 'per client: 127.0.0.5 relayed 3 suspect (GET, POST, tunnel), 3 undetermined');
is_deeply($client{'127.0.0.6'}{verdicts},
          { rejected => 2, 'served-locally' => 0, suspect => 0, unknown => 0, undetermined => 1,
            'origin-form' => 0 }, 'per client: 127.0.0.6 2 rejected (503s), 1 undetermined (502)');
my ($ex) = grep { $_->{line} =~ /t01/ } @{ $j->{examples}{suspect} };
is($ex && $ex->{rule}, 'new-size', 'examples carry their rule');

my ($rc, $report) = PGScan::run([ 'scan', @combined ]);
like($report, qr/\A!! 6 requests may have been relayed through this server \(2 suspect, 4 undetermined\); 1 CONNECT tunnel was accepted\.\n/,
     'the report leads with the headline');
like($report, qr/^  127\.0\.0\.5\s+6\s+1\s+5\s+0\s+0\s+0\s+3\s+3\s/m, 'the report\'s client table has verdict counts');

my $html_path = $proxy->dir . '/report.html';
($rc) = PGScan::run([ 'scan', '--html', $html_path, @combined ]);
is($rc, 0, '--html exits 0');
my $html = PGScan::slurp($html_path);
like($html, qr{<h1>proxyguard scan</h1>\n<p id="headline" class="alert">6 requests may have been relayed}, 'HTML: the headline leads, highlighted');
like($html, qr{<tr class="alert"><td>suspect</td><td>new-size</td><td class="n" id="rule-new-size">2</td>}, 'HTML: the new-size rule row is highlighted');
like($html, qr{<tr class="alert"><td><code>127\.0\.0\.5</code></td>}, 'HTML: the relaying client is highlighted');

# The stock server alone: nothing relayed, and the headline says so.
my @stock_logs = map { $stock->dir . "/logs/$_.log" } 'vhost_combined';
($j) = PGScan::json('--format', 'vhost_combined', @stock_logs);
is($j->{outcome}{relayed}, 4, 'stock server under %O: 4 undetermined (HEAD, OPTIONS, two redirects), nothing suspect');
is($j->{verdicts}{suspect}, 0, 'stock server under %O: no suspect, HEAD and OPTIONS included');

# Standard input: --lines cannot read it twice, verdicts use what came before.
my $stdin = PGScan::slurp($stock->dir . '/logs/combined.log');
my ($rc2, $out2) = PGScan::run([ 'scan', '--lines', '-' ], stdin => $stdin);
like($out2, qr/^\(stdin\):\d+\tabsolute-uri\tserved-locally\town-size\t200\t127\.0\.0\.7\tGET http:\/\/foreign\.test\/\?t10$/m,
     'standard input: a probe after the ordinary page is served-locally');

done_testing;
