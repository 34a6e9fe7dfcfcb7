#!/usr/bin/perl
# The other holes adversarial testing found (issue 9), each with a real
# request: h2c counted twice, PROXYGUARD lost behind a local ErrorDocument,
# counted-only hits spending fail2ban's log budget, the ban list evicting
# running bans, cross-site unban, unban=ADDR%00junk, invalid ?refresh=,
# bans in ProxyGuard Off vhosts, our own address, port 0.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Select;
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;

sub json_total {
    my ($srv) = @_;
    my $j = $srv->status('json')->{json} or return -1;
    return $j->{total};
}

# --- h2c: the HTTP/1.1 request and stream 1 are one request ------------
{
    my $srv = PGTest->new(name => 'h2c-upgrade', conf => sub {
        "LoadModule http2_module $PGTest::MODULES/mod_http2.so\nProtocols h2c http/1.1\n"
        . $_[0]->standard_vhosts . PGTest::status_location();
    });
    $srv->start;
    my $before = json_total($srv);
    my $mark = $srv->log_mark('logs/error_log');
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->port,
                                  Proto => 'tcp', Timeout => 5) or die $!;
    print $s "GET /index.html HTTP/1.1\r\nHost: unknown.test\r\nConnection: Upgrade, HTTP2-Settings\r\n"
           . "Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"
           . "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" . "\x00\x00\x00\x04\x00\x00\x00\x00\x00";
    my ($got, $sel) = ('', IO::Select->new($s));
    my $deadline = time + 3;
    while (time < $deadline && $sel->can_read(0.3)) {
        sysread($s, my $buf, 65536) or last;
        $got .= $buf;
        last if $got =~ /site:www0|default0/;
    }
    close $s;
    if ($srv->{mpm} eq 'prefork') {
        unlike($got, qr/^HTTP\/1\.1 101/, 'prefork: no h2c upgrade (mod_http2 inactive)');
    }
    else {
        like($got, qr/^HTTP\/1\.1 101 Switching Protocols/, 'h2c: the upgrade happened');
    }
    sleep 0.2;
    is(json_total($srv) - $before, 1, 'h2c upgrade of a counted request: counted once');
    my $lines = () = $srv->log_since('logs/error_log', $mark) =~ /PG0001: action=detect reason=unknown-host/g;
    is($lines, 1, '... and logged once');
    $srv->stop;
}

# --- a local ErrorDocument keeps the variables, and counts once -------
{
    my $srv = PGTest->new(name => 'errordoc', conf => sub {
        $_[0]->write_file('htdocs/default0/err403.html', "our own 403 page\n");
        $_[0]->write_file('htdocs/default0/err405.html', "our own 405 page\n");
        "ErrorDocument 403 /err403.html\nErrorDocument 405 /err405.html\n"
        . $_[0]->standard_vhosts . PGTest::status_location();
    });
    $srv->start;
    my $before = json_total($srv);
    my $mark = $srv->log_mark('logs/access_log');
    my $res = $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n");
    is($res->{status}, 405, 'ErrorDocument: CONNECT still 405');
    like($res->{body}, qr/our own 405 page/, '... with the local error page');
    $res = $srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n");
    is($res->{status}, 403, 'ErrorDocument: absolute URI still 403');
    like($res->{body}, qr/our own 403 page/, '... with the local error page');
    my $log = $srv->log_since('logs/access_log', $mark);
    like($log, qr{"CONNECT 59\.124\.98\.13:25 HTTP/1\.0" 405 pg=connect/deny note=connect},
         'ErrorDocument: %{PROXYGUARD}e, %{PROXYGUARD_ACTION}e and %{PROXYGUARD}n survive the redirect');
    like($log, qr{"GET http://www\.online\.sh\.cn/ HTTP/1\.1" 403 pg=absolute-uri/deny note=absolute-uri},
         '... for the 403 too');
    is(json_total($srv) - $before, 2, 'ErrorDocument: two probes, two hits (the redirect is not decided again)');
    $srv->stop;
}

# --- fail2ban evasion: lines never written spend no budget --------------
{
    my $srv = PGTest->new(name => 'logbudget', loglevel => 'warn', conf => sub {
        $_[0]->standard_vhosts;
    });
    $srv->start;
    $srv->request("GET / HTTP/1.1\r\nHost: unknown$_.test\r\n\r\n", from => '127.0.0.21') for 1 .. 20;
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.21') for 1 .. 20;
    $srv->stop;
    my $log = $srv->slurp('logs/error_log');
    my $deny = () = $log =~ /\[client 127\.0\.0\.21:\d+\] PG0001: action=deny reason=connect/g;
    is($deny, 10, '20 unknown-Host hits (info, not written at LogLevel warn), then 20 CONNECTs: 10 deny lines, the whole budget');
    unlike($log, qr/reason=unknown-host/, '... and no unknown-host line was written');
}

# --- the ban list: no running ban ends because others began ------------
{
    my $srv = PGTest->new(name => 'bancapacity', conf => sub {
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
        . "ProxyGuardBan 1 60 600\n" . $_[0]->standard_vhosts . PGTest::status_location();
    });
    $srv->start;
    my @addrs = map { sprintf '127.1.%d.%d', int($_ / 200), $_ % 200 + 1 } 0 .. 299;
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => $_) for @addrs;
    my @second = map { $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", from => $_)->{status} } @addrs;
    is(scalar(grep { $_ == 403 } @second), 300, '300 concurrent bans (more than the 256 of old): all 300 hold');
    my $auto = $srv->status('auto')->{body};
    like($auto, qr/^ProxyGuardBansActive: 300$/m, '?auto: 300 active');
    like($auto, qr/^ProxyGuardBansRefused: 0$/m, '?auto: none refused');
    like($auto, qr/^ProxyGuardHitsBanned: 300$/m, '?auto: banned hits exactly 300');
    $srv->stop;

    # the smallest table: 16 ban rows, two buckets of 8 per address
    $srv = PGTest->new(name => 'banfull', conf => sub {
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
        . "ProxyGuardTableSize 16\nProxyGuardBan 1 60 600\n"
        . $_[0]->standard_vhosts . PGTest::status_location();
    });
    $srv->start;
    @addrs = map { "127.2.0.$_" } 1 .. 40;
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => $_) for @addrs;
    my $j = $srv->status('json')->{json};
    my %banned = map { $_->{address} => 1 } @{ $j->{bans} };
    is($j->{bans_active}, 16, 'a full list: 16 running bans (every row)');
    is($j->{bans_refused}, 24, '... 24 refused, counted');
    my @wrong = grep { my $st = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", from => $_)->{status};
                       $banned{$_} ? $st != 403 : $st == 403 } @addrs;
    is_deeply(\@wrong, [], 'every listed ban still holds, no unlisted address is banned');
    like($srv->status('')->{body}, qr/id="bans-full".*The ban list was full: \d+ bans could not start/s,
         'the status page says the list was full');
    $srv->stop;
    like($srv->slurp('logs/error_log'), qr/PG0013: ban list full: this client reached ProxyGuardBan/,
         'the error log says so (PG0013)');
}

# --- unban: cross-site requests and NUL bytes refused; Off vhosts ---------
{
    my $srv = PGTest->new(name => 'unban', conf => sub {
        my ($s) = @_;
        my $port = $s->port;
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
        . "ProxyGuardBan 1 60 600\n" . $s->standard_vhosts . PGTest::status_location()
        . "<VirtualHost *:$port>\n    ServerName off.test\n    ProxyGuard Off\n</VirtualHost>\n";
    });
    $srv->start;
    my $port = $srv->port;
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.31');
    my $banned = sub {
        $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", from => '127.0.0.31')->{status} == 403;
    };
    ok($banned->(), 'unban: 127.0.0.31 is banned');
    is($srv->request("GET / HTTP/1.1\r\nHost: off.test\r\n\r\n", from => '127.0.0.31')->{status}, 200,
       'a ProxyGuard Off vhost is left alone, bans included (documented)');
    my $post = sub {
        my ($form, $headers) = @_;
        return $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: 127.0.0.1:$port\r\n$headers"
                             . "Content-Type: application/x-www-form-urlencoded\r\n"
                             . "Content-Length: " . length($form) . "\r\n\r\n$form")->{status};
    };
    is($post->('unban=127.0.0.31', "Origin: http://evil.example\r\n"), 403,
       'unban from a foreign Origin: 403');
    is($post->('unban=127.0.0.31', "Sec-Fetch-Site: cross-site\r\n"), 403,
       'unban with Sec-Fetch-Site: cross-site: 403');
    is($post->('unban=127.0.0.31', "Sec-Fetch-Site: same-site\r\n"), 403,
       'unban with Sec-Fetch-Site: same-site (another origin of the site): 403');
    is($post->('unban=127.0.0.31', "Origin: null\r\n"), 403, 'unban from Origin: null: 403');
    is($post->('unban=127.0.0.31%00junk', ''), 400, 'unban=ADDR%00junk: 400');
    is($post->('unban=127.0.0.31junk', ''), 400, 'unban=ADDRjunk: 400');
    ok($banned->(), '... and the ban still holds');
    like($srv->slurp('logs/error_log'), qr/PG0014: unban refused: a cross-origin request \(Origin\)/,
         'refusals are logged (PG0014)');
    is($post->('unban=127.0.0.31', "Origin: http://127.0.0.1:$port\r\nSec-Fetch-Site: same-origin\r\n"), 200,
       'unban from the status page\'s own origin: 200');
    ok(!$banned->(), '... lifted');
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.31');
    ok($banned->(), 'banned again');
    is($post->('unban=127.0.0.31', ''), 200, 'unban without Origin or Sec-Fetch-Site (curl): 200');
    ok(!$banned->(), '... lifted');

    # ?refresh= takes 1..3600, nothing else
    for my $bad ('-1', '0', 'abc', '99999', '5x', '') {
        unlike($srv->status("refresh=$bad")->{body}, qr/http-equiv="refresh"/,
               "?refresh=$bad: no refresh");
    }
    like($srv->status('refresh=5')->{body}, qr/<meta http-equiv="refresh" content="5">/, '?refresh=5: 5 s');

    # our own address, port 0
    my $res = $srv->request("GET http://127.0.0.1:$port/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    is($res->{status}, 200, 'http://<our address>:<our port>/ on a *:port vhost: this server, 200');
    $res = $srv->request("GET http://127.0.0.1:" . ($port + 1) . "/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    is($res->{status}, 403, '... at another port: 403');
    $res = $srv->request("GET http://www.example.com:0/ HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
    is($res->{status}, 403, 'http://own-name:0/: port 0 is no port of ours: 403');
    $srv->stop;
}

done_testing;
