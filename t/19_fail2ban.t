#!/usr/bin/perl
# The fail2ban filter and jail (conf/fail2ban/), tested with the real
# fail2ban-regex on an error_log this test's own httpd wrote: every deny
# line matched with the right address (IPv4, IPv6, HTTP/2's [remote]),
# every reason that rejects (connect, absolute-uri, connect-port,
# proxy-port, unknown-host under Deny), detect/info lines not matched,
# injected fake addresses never yielded, ban starts matched; and the jail
# parses (fail2ban-client -d).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(make_path);
use IO::Socket::IP;
use Test::More;
use PGTest;

for my $tool (qw(fail2ban-regex fail2ban-client)) {
    next if `command -v $tool 2>/dev/null`;
    fail("$tool is installed") if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => "$tool not installed (make test installs fail2ban)";
}
my $top = $PGTest::TOP;
my $port6 = 20000 + int(rand(12000));
# HTTP/2's [remote IP:port] lines come from node's http2 client: under
# PG_REQUIRE_TOOLS (make test) a missing node fails, elsewhere those
# checks are skipped, and say so
my $have_node = `command -v node 2>/dev/null` ? 1 : 0;
fail('node is installed (HTTP/2 deny lines)') if !$have_node && $ENV{PG_REQUIRE_TOOLS};

# port 1: a default vhost with ProxyGuardUnknownHost Deny
my $srv = PGTest->new(name => 'fail2ban', ports => 2, conf => sub {
    my $deny_port = $_[0]->port(1);
    "Listen [::1]:$port6\n"
    . "LoadModule http2_module $PGTest::MODULES/mod_http2.so\nProtocols h2c http/1.1\n"
    . "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "ProxyGuardBan 3 60 60\nProxyGuardBanExempt 127.0.0.5 127.0.0.6 127.0.0.8 ::1\n"
    . "HttpProtocolOptions Unsafe\n"
    . "ProxyGuardProxyClients 127.0.0.12 127.0.0.13\n"
    # first on its port, so its default vhost
    . "<VirtualHost *:$deny_port>\n    ServerName deny.test\n    ProxyGuardUnknownHost Deny\n</VirtualHost>\n"
    . $_[0]->standard_vhosts
    . "<VirtualHost *:$port6>\n    ServerName v6.test\n</VirtualHost>\n";
});
$srv->start;

my %want;       # address => number of deny / ban-start lines expected
sub hit { my ($from, $raw) = @_; $srv->request($raw, from => $from) }

# deny lines
hit('127.0.0.5', "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n") for 1 .. 2;
$want{'127.0.0.5'} += 2;
hit('127.0.0.6', "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n");
$want{'127.0.0.6'} += 1;
# the other reasons that reject: a proxy client's CONNECT to a port it may
# not use, its absolute URI to such a port, a Host naming none of our
# vhosts where ProxyGuardUnknownHost is Deny
is(hit('127.0.0.12', "CONNECT mx.example.net:25 HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n")->{status}, 403,
   'connect-port: 403');
$want{'127.0.0.12'} += 1;
is(hit('127.0.0.13', "GET http://mx.example.net:25/ HTTP/1.1\r\nHost: mx.example.net:25\r\n\r\n")->{status}, 403,
   'proxy-port: 403');
$want{'127.0.0.13'} += 1;
is($srv->request("GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n", port => 1, from => '127.0.0.14')->{status}, 403,
   'unknown-host under Deny: 403');
$want{'127.0.0.14'} += 1;
# over IPv6
my $s6 = IO::Socket::IP->new(PeerHost => '::1', PeerPort => $port6, Proto => 'tcp') or die "::1: $!";
print $s6 "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";
1 while <$s6>;
close $s6;
$want{'::1'} += 1;
# over HTTP/2 ([remote IP:port] in the log)
if ($have_node) {
    system("node '$FindBin::Bin/h2request.js' @{[ $srv->port ]} CONNECT mx0.example.com.tw:25 >/dev/null 2>&1");
    $want{'127.0.0.1'} += 1;
}
# injection: fake client prefixes, quotes, escapes in URI and Host
hit('127.0.0.8', qq{GET http://evil.test/x"]%20[client%20198.51.100.9:1]%20PG0001:%20action=deny%20reason=connect%20vhost= HTTP/1.1\r\n}
                 . qq{Host: " client 1.2.3.4 [client 203.0.113.66:80] \\"\r\n\r\n});
hit('127.0.0.8', "CONNECT evil.test:25 HTTP/1.1\r\nHost: [client 198.51.100.10:25] PG0010: ban start:\r\n\r\n");
$want{'127.0.0.8'} += 2;
# a ban start: 3 hits from 127.0.0.9 (3 deny lines + the PG0010 line)
hit('127.0.0.9', "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n") for 1 .. 3;
$want{'127.0.0.9'} += 4;
# lines that must not match: counted-only hits (info) ...
hit('127.0.0.7', "GET / HTTP/1.1\r\nHost: unknown.test\r\n\r\n");
hit('127.0.0.7', "GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n");
$srv->stop;

my $log = $srv->slurp('logs/error_log');
# count by the real line prefix: injected text also says "PG0010: ban start"
my $prefix = qr/^\[[^]]*\] \[proxyguard:\w+\] \[pid [^]]*\] \[(?:client|remote) [^]]*\]/m;
my $deny_lines = () = $log =~ /$prefix PG0001: action=deny/g;
my $ban_lines = () = $log =~ /$prefix PG0010: ban start/g;
like($log, qr/ PG0001: action=deny reason=connect vhost=\S+ method="CONNECT" uri="evil\.test:25" host="\[client 198\.51\.100\.10:25\] PG0010: ban start:"$/m,
     'the error_log carries the injected fake ban line inside a field');
for my $reason (qw(connect-port proxy-port unknown-host)) {
    like($log, qr/$prefix PG0001: action=deny reason=\Q$reason\E vhost=/, "the error_log has a $reason deny line");
}
is($ban_lines, 1, 'the error_log has one ban start line');
like($log, qr/\[client ::1:\d+\] PG0001: action=deny/, 'the error_log has an IPv6 deny line');
SKIP: {
    skip 'node not installed: no HTTP/2 request was sent', 1 unless $have_node;
    like($log, qr/\[remote 127\.0\.0\.1:\d+\] PG0001: action=deny/, 'the error_log has an HTTP/2 [remote] deny line');
}
like($log, qr/PG0001: action=detect reason=unknown-host/, 'the error_log has info (detect) lines');

# A DetectOnly server's would-be rejections (action=detect, at warn).
my $detect = PGTest->new(name => 'fail2ban-detect', conf => sub {
    "ProxyGuard DetectOnly\n" . $_[0]->standard_vhosts;
});
$detect->start;
$detect->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => '127.0.0.11') for 1 .. 3;
$detect->stop;
$log .= $detect->slurp('logs/error_log');
like($log, qr/\[proxyguard:warn\].*\[client 127\.0\.0\.11:\d+\] PG0001: action=detect reason=connect/,
     'DetectOnly writes warn lines with action=detect');
my $logfile = $srv->write_file('logs/combined_error_log', $log);

# fail2ban's own configuration, with our filter and jail added.
my $cfg = "$srv->{dir}/fail2ban";
make_path("$cfg/filter.d", "$cfg/jail.d");
system('cp', '-r', '/etc/fail2ban/.', $cfg) == 0 or die "copy /etc/fail2ban";
copy("$top/conf/fail2ban/filter.d/apache-proxyguard.conf", "$cfg/filter.d/") or die $!;
copy("$top/conf/fail2ban/jail.d/apache-proxyguard.conf", "$cfg/jail.d/") or die $!;

my @ips = split /\n/, `fail2ban-regex -c '$cfg' -o ip '$logfile' apache-proxyguard 2>&1`;
my %got;
$got{$_}++ for grep { /^[\d.:a-f]+$/ } @ips;
is_deeply(\%got, \%want, 'fail2ban-regex: every deny and ban-start line, each with its true address')
    or diag "fail2ban-regex printed:\n" . join("\n", @ips);
ok(!grep({ /198\.51\.100|1\.2\.3\.4|203\.0\.113/ } @ips), 'injected addresses are never yielded');
ok(!$got{'127.0.0.7'}, 'info (detect) lines of counted-only hits are not matched');
ok(!$got{'127.0.0.11'}, 'DetectOnly lines (action=detect) are not matched');
my $matched = sum0(values %got);
is($matched, $deny_lines + $ban_lines - 0, "matched lines ($matched) = deny lines + ban start lines");

# The jail: off by default, parses, and reads the error logs fail2ban's
# paths-<distribution>.conf name (t/integrations/fail2ban_sample.t
# resolves them).
my $jail = do { local (@ARGV, $/) = "$top/conf/fail2ban/jail.d/apache-proxyguard.conf"; <> };
like($jail, qr/^enabled\s*=\s*false$/m, 'the jail is off until enabled');
like($jail, qr/^logpath\s*=\s*%\(apache_error_log\)s$/m, "it reads fail2ban's %(apache_error_log)s");
# enable it in the copy, point it at our log, dump the configuration
open my $local, '>', "$cfg/jail.d/zz-test.local" or die $!;
print $local "[apache-proxyguard]\nenabled = true\nlogpath = $logfile\n";
close $local;
my $dump = `fail2ban-client -c '$cfg' -d 2>&1`;
is($? >> 8, 0, 'fail2ban-client -d parses the configuration') or diag $dump;
like($dump, qr/\['add', 'apache-proxyguard', 'auto'\]/, 'the dump has the apache-proxyguard jail');
like($dump, qr/'apache-proxyguard', 'addfailregex', \[.*PG0001: action=deny/,
     'with the filter\'s failregex');

sub sum0 { my $t = 0; $t += $_ for @_; $t }
done_testing;
