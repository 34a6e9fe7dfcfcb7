#!/usr/bin/perl
# make demo: a private httpd on 127.0.0.1:8080 (DEMO_PORT to change it) with
# two example vhosts and mod_proxyguard, answering the real attack lines
# operators found in their logs.  The server is left running:
# `make demo-stop` (this script with --stop) stops it.
use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path);
use IO::Socket::INET;
use Time::HiRes qw(sleep time);
use lib dirname(abs_path(__FILE__)) . '/../t/lib';
use PGHttp;

my $top  = abs_path(dirname(abs_path(__FILE__)) . '/..');
my $dir  = "$top/build/demo";
my $conf = "$dir/httpd.conf";
my $port = $ENV{DEMO_PORT} || 8080;
my $mods = '/usr/lib/apache2/modules';

sub running_pid {
    open my $fh, '<', "$dir/run/httpd.pid" or return;
    chomp(my $pid = <$fh> // '');
    return $pid && kill(0, $pid) ? $pid : undef;
}

sub stop {
    my $pid = running_pid() or do { print "demo: no demo server running\n"; return };
    system($ENV{APACHE2} || 'apache2', '-f', $conf, '-k', 'stop');
    my $deadline = time + 15;
    sleep 0.1 while kill(0, $pid) && time < $deadline;
    print "demo: stopped httpd (pid $pid)\n";
}

# The head of a private httpd's configuration: its own directories, the
# event MPM, access control, children as nobody when run as root.
sub preamble {
    my ($root, $what) = @_;
    my $user = $> == 0 ? "User nobody\nGroup nogroup" : '';
    return <<"HEAD";
# Written by demo/demo.pl: $what.
ServerRoot "$root"
DefaultRuntimeDir "$root/run"
PidFile "$root/run/httpd.pid"
Mutex file:$root/run default
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_host_module $mods/mod_authz_host.so
$user
ServerName localhost
ErrorLog "$root/logs/error.log"
HEAD
}

# apache2 -k start, then wait until the port answers.
sub start_httpd {
    my ($config, $listen, $what, $root) = @_;
    my $out = `apache2 -f $config -k start 2>&1`;
    die "demo: $what failed to start:\n$out" if $?;
    my $deadline = time + 15;
    until (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $listen, Timeout => 1)) {
        die "demo: $what did not come up; see $root/logs/error.log\n" if time > $deadline;
        sleep 0.1;
    }
}

# For comparison, what a relay looks like in a log: a stock httpd without
# the module, made an open forward proxy for a moment on another loopback
# port, relays a GET and a CONNECT tunnel to the demo server itself (and
# nowhere else), is stopped, and its access log goes through scan.
sub open_proxy_replay {
    my $odir = "$dir/openproxy";
    make_path("$odir/logs", "$odir/run");
    chmod 0755, $odir, "$odir/logs", "$odir/run";
    unlink glob("$odir/logs/*.log");
    my $probe = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1', LocalPort => 0)
        or die "demo: no free port: $!\n";
    my $oport = $probe->sockport;
    close $probe;
    my $oconf = "$odir/httpd.conf";
    open my $ofh, '>', $oconf or die "$oconf: $!";
    print $ofh preamble($odir, 'an UNGUARDED open proxy, for a few requests only'), <<"OCONF";
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
LoadModule proxy_connect_module $mods/mod_proxy_connect.so
Listen 127.0.0.1:$oport
CustomLog "$odir/logs/access.log" "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\""
ProxyRequests On
AllowCONNECT $port
<Proxy "*">
    Require ip 127.0.0.1
</Proxy>
OCONF
    close $ofh;
    start_httpd($oconf, $oport, 'the open proxy', $odir);
    print "\nFor comparison, an unguarded httpd with ProxyRequests On on 127.0.0.1:$oport,\n"
        . "relaying to this demo server only:\n";
    my $get = PGHttp::raw_request($oport, "GET http://127.0.0.1:$port/ HTTP/1.0\r\n\r\n");
    print "  GET http://127.0.0.1:$port/ -> ", $get->{status_line} || '(no answer)', "\n";
    my $s = PGHttp::tcp_connect($oport);
    print $s "CONNECT 127.0.0.1:$port HTTP/1.0\r\n\r\n";
    sysread($s, my $answer, 4096);
    print $s "GET / HTTP/1.0\r\nHost: www.example.com\r\n\r\n";
    my $through = '';
    while (sysread($s, my $buf, 4096)) { $through .= $buf }
    close $s;
    print "  CONNECT 127.0.0.1:$port -> ", ($answer =~ /^(.*?)\r\n/)[0] // '(no answer)',
          ($through =~ /^HTTP\/\S+ 200 / ? ', and a page came back through the tunnel' : ''), "\n";
    system('apache2', '-f', $oconf, '-k', 'stop');
    my $deadline = time + 15;
    sleep 0.1 while -e "$odir/run/httpd.pid" && time < $deadline;
    print "\nIts access log, read by proxyguard scan $odir/logs/access.log:\n\n";
    system("$top/build/proxyguard", 'scan', "$odir/logs/access.log");
}

if (grep { $_ eq '--stop' } @ARGV) {
    stop();
    exit 0;
}
stop() if running_pid();

if (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port, Timeout => 1)) {
    die "demo: 127.0.0.1:$port is in use; set DEMO_PORT to another port\n";
}

for my $d ("$dir/logs", "$dir/run", "$dir/htdocs/www", "$dir/htdocs/shop") {
    make_path($d);
    chmod 0755, $d;
}
# every run starts with empty logs: what they show is this run's
unlink glob("$dir/logs/*.log");
for my $site (qw(www shop)) {
    open my $fh, '>', "$dir/htdocs/$site/index.html" or die $!;
    print $fh "<h1>$site.example.com</h1>\n";
    close $fh;
    chmod 0644, "$dir/htdocs/$site/index.html";
}
chmod 0755, "$top/build", $dir, "$dir/htdocs";

open my $fh, '>', $conf or die "$conf: $!";
print $fh preamble($dir, 'a private httpd for the mod_proxyguard demo'), <<"CONF";
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
TypesConfig /etc/mime.types
LoadModule proxyguard_module $top/build/.libs/mod_proxyguard.so
Listen 127.0.0.1:$port
LogLevel warn proxyguard:info
LogFormat "%a %v %t \\"%r\\" %>s %b \\"%{Host}i\\" %{PROXYGUARD}e" demo
CustomLog "$dir/logs/access.log" demo
# every hit, and nothing else, in a log of its own
CustomLog "$dir/logs/abuse.log" demo env=PROXYGUARD
<Directory />
    Require all granted
</Directory>
<Location "/proxyguard-status">
    SetHandler proxyguard-status
    Require local
</Location>

# The first vhost is the default: names we don't serve land here.
<VirtualHost *:$port>
    ServerName www.example.com
    ServerAlias example.com
    DocumentRoot "$dir/htdocs/www"
</VirtualHost>
<VirtualHost *:$port>
    ServerName shop.example.com
    DocumentRoot "$dir/htdocs/shop"
</VirtualHost>
CONF
close $fh;

start_httpd($conf, $port, 'httpd', $dir);

print "mod_proxyguard demo: httpd on 127.0.0.1:$port, vhosts www.example.com (default) and shop.example.com\n\n";

my @requests = (
    [ 'spam relay probe (hhrz.org access log, 2009)', "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n" ],
    [ 'spam relay probe (2004 log)', "CONNECT maila.microsoft.com:25 HTTP/1.0\r\n\r\n" ],
    [ 'open-proxy probe, answered 200 by stock httpd', "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n" ],
    [ 'open-proxy probe to an IP', "GET http://207.36.18.60/cgi-bin/textenv.pl?80 HTTP/1.0\r\n\r\n" ],
    [ 'honeypot capture', "GET http://6.example.cn/zc/chs/img/body.png HTTP/1.1\r\nHost: 6.example.cn\r\nProxy-Connection: keep-alive\r\n\r\n" ],
    [ 'honeypot capture', "CONNECT mx0.example.com.tw:25 HTTP/1.0\r\n\r\n" ],
    [ 'a visitor', "GET / HTTP/1.1\r\nHost: shop.example.com\r\n\r\n" ],
    [ 'a visitor using the absolute form for our own site', "GET http://SHOP.example.com/ HTTP/1.1\r\nHost: shop.example.com\r\n\r\n" ],
    [ 'a scanner by IP address (counted, passed)', "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" ],
);
for my $r (@requests) {
    my ($what, $raw) = @$r;
    my $res = PGHttp::raw_request($port, $raw);
    (my $shown = $raw) =~ s/\r\n\r\n$//;
    $shown =~ s/\r\n/\n    /g;
    printf "# %s\n    %s\n  -> %s\n\n", $what, $shown, $res->{status_line} || '(no answer)';
}

sleep 0.2;     # let the logs reach the disk
print "What the module logged (error.log, tag PG0001):\n";
open my $log, '<', "$dir/logs/error.log" or die $!;
print "  $_" for grep { /PG0001/ } <$log>;
print "\nThe abuse log (CustomLog ... env=PROXYGUARD):\n";
open $log, '<', "$dir/logs/abuse.log" or die $!;
print "  $_" for <$log>;
print "\nThe status page: http://127.0.0.1:$port/proxyguard-status "
    . "(also ?auto, ?json, ?prometheus).  From ?auto:\n";
my $auto = PGHttp::raw_request($port, "GET /proxyguard-status?auto HTTP/1.0\r\n\r\n");
print "  $_\n" for grep { /^ProxyGuard(Total|Denied|Detected|Hits\w+):/ } split /\n/, $auto->{body};

# The question every operator asks first, answered with proof: every probe
# names a canary this program listens on (loopback here).
print "\nIs it an open proxy?  proxyguard probe (every probe's destination is its own canary):\n\n";
system("$top/build/proxyguard", 'probe', '--status',
       "http://127.0.0.1:$port/proxyguard-status", "http://127.0.0.1:$port/");
printf "\n(proxyguard probe exited %d: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)\n", $? >> 8;

# What already happened, read back from the server's own access log by the
# module's own decision code.
my $format = '%a %v %t "%r" %>s %b "%{Host}i" %{PROXYGUARD}e';
print "\nWhat the access log shows: proxyguard scan --format '$format' "
    . "--httpd-config $conf $dir/logs/access.log\n\n";
system("$top/build/proxyguard", 'scan', '--format', $format, '--httpd-config', $conf,
       "$dir/logs/access.log");

open_proxy_replay();

print "\nThe demo server is still running on http://127.0.0.1:$port/ (logs in $dir/logs).\n";
print "Stop it with: make demo-stop\n";
