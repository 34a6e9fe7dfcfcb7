#!/usr/bin/perl
# Reverse-proxy rules whose backend comes from the request: ProxyPassMatch
# "http://$1/$2", RewriteRule [P] with a host from the path or from
# %{HTTP_HOST}.  Their origin-form requests pass post_read_request; the
# module refuses them (403, dynamic-backend) in mod_proxy's scheme_handler
# hook, where the backend URL is final, unless the configuration names the
# backend or ProxyGuardDynamicBackends lists it.  Loopback listeners stand
# for a foreign site and a mail server: no stranger's request reaches
# them.  Static ProxyPass, ProxyPassMatch with a fixed authority, a
# RewriteRule [P] to a fixed backend and a balancer keep working; an
# unguarded vhost with the same rules is the control; each dynamic rule is
# warned about at start-up (PG0007) with its file and line.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;
use PGListener;
use PGFail2ban;
use File::Temp ();
use IO::Socket::UNIX;
use POSIX ();
use Socket qw(SOCK_STREAM);

my $site = PGListener->new(addr => '127.0.0.3', kind => 'http');
my $smtp = PGListener->new(addr => '127.0.0.4', kind => 'smtp');
my ($f, $m) = ($site->hostport, $smtp->hostport);
# a FastCGI backend, by TCP and by Unix socket, as php-fpm is configured:
# they only need to be reached (mod_proxy_fcgi answers 503 when they close)
my $fcgi = PGListener->new(addr => '127.0.0.5', kind => 'drop');
# a remote proxy that closes without a word: mod_proxy then tries the
# backend directly, running the scheme_handler hook a second time
my $dead_proxy = PGListener->new(addr => '127.0.0.6', kind => 'drop');
my $sockdir = File::Temp::tempdir(CLEANUP => 1);
chmod 0755, $sockdir;
my $uds = "$sockdir/fpm.sock";
my $uds_pid = fork // die "fork: $!";
if (!$uds_pid) {
    my $l = IO::Socket::UNIX->new(Type => SOCK_STREAM(), Local => $uds, Listen => 8) or POSIX::_exit(1);
    chmod 0777, $uds;
    while (my $c = $l->accept) {
        open my $fh, '>>', "$uds.seen" or next;
        print $fh "connection\n";
        close $fh;
        close $c;
    }
    POSIX::_exit(0);
}
END { local $?; if ($uds_pid) { kill 'TERM', $uds_pid; waitpid $uds_pid, 0 } }

my @modules = qw(proxy proxy_http proxy_balancer lbmethod_byrequests slotmem_shm rewrite
                 proxy_ftp proxy_fcgi proxy_wstunnel);
# ports: 0 guarded, 1 the backend, 2 a backend listed as dynamic,
# 3 the control (ProxyGuard Off), 4 DetectOnly
my $rules = sub {
    my ($backend) = @_;
    return <<"RULES";
    ProxyPassMatch "^/pm/([^/]+)/(.*)\$" "http://\$1/\$2"
    RewriteEngine On
    RewriteRule "^/rw/([^/]+)/(.*)\$" "http://\$1/\$2" [P]
    RewriteRule "^/hh/(.*)\$" "http://%{HTTP_HOST}/\$1" [P,L]
    RewriteCond "%{QUERY_STRING}" "^u=(.*)\$"
    RewriteRule "^/whole\$" "%1" [P]
    ProxyPass "/static/" "http://127.0.0.1:$backend/"
    ProxyPassMatch "^/fixed/(.*)\$" "http://127.0.0.1:$backend/\$1"
    RewriteRule "^/rwfixed/(.*)\$" "http://localhost:$backend/\$1" [P]
    ProxyPass "/bal/" "balancer://pool/"
    ProxyPass "/ws/" "ws://127.0.0.1:$backend/"
    <Location "/loc/">
        ProxyPass "http://127.0.0.1:$backend/"
    </Location>
    <LocationMatch "^/lm/([^/]+)/(.*)\$">
        ProxyPass "http://\$1/\$2"
    </LocationMatch>
    <Location "/php/">
        SetHandler "proxy:fcgi://127.0.0.5:$fcgi->{port}"
    </Location>
    <Location "/fpm/">
        SetHandler "proxy:unix:$uds|fcgi://localhost"
    </Location>
RULES
};
my $srv = PGTest->new(name => 'rules', ports => 5, conf => sub {
    my ($s) = @_;
    my ($p, $backend, $listed, $open, $detect) = map { $s->port($_) } 0 .. 4;
    my $root = $s->docroot('backend');
    $s->write_file('htdocs/backend/x', "BACKEND-OK\n");
    my $r = $rules->($backend);
    return join('', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" } @modules)
        . <<"CONF";
ProxyGuardLogLimit 0 60
<Proxy "balancer://pool">
    BalancerMember "http://127.0.0.1:$backend"
</Proxy>
<VirtualHost *:$p>
    ServerName rules.test
$r
    ProxyGuardDynamicBackends 127.0.0.1:$listed *.listed.test
    <Location "/proxyguard-status">
        SetHandler proxyguard-status
        Require local
    </Location>
</VirtualHost>
<VirtualHost *:$backend *:$listed>
    ServerName backend.test
    DocumentRoot "$root"
</VirtualHost>
<VirtualHost *:$open>
    ServerName open.test
    ProxyGuard Off
$r
</VirtualHost>
<VirtualHost *:$detect>
    ServerName detect.test
    ProxyGuard DetectOnly
    ProxyRemote "http://127.0.0.3:$site->{port}" "http://127.0.0.6:$dead_proxy->{port}"
$r
    <Location "/proxyguard-status">
        SetHandler proxyguard-status
        Require local
    </Location>
</VirtualHost>
CONF
});
$srv->start;
my ($backend, $listed) = ($srv->port(1), $srv->port(2));
my $stranger = '127.0.0.2';

sub get {
    my ($path, %opt) = @_;
    my $host = delete $opt{host} // 'rules.test';
    return $srv->request("GET $path HTTP/1.1\r\nHost: $host\r\nConnection: close\r\n\r\n", %opt);
}

sub hits { ($srv->json->{hits}{'dynamic-backend'} // 0) }

# --- the control: the same rules unguarded relay to anyone -------------
for my $path ("/pm/$f/x", "/rw/$f/x", "/whole?u=http://$f/x", "/lm/$f/x") {
    $site->reset;
    my $res = get($path, port => 3, from => $stranger);
    like($res->{body}, qr/FOREIGN-SITE/, "control: $path reaches the foreign site");
}
$site->reset;
like(get('/hh/x', port => 3, host => $f, from => $stranger)->{body}, qr/FOREIGN-SITE/,
     'control: /hh/ with Host: the foreign site reaches it');
$smtp->reset;
get("/pm/$m/x", port => 3, from => $stranger);
is($smtp->connections(0.5), 1, 'control: /pm/ reaches the mail server');
$site->reset;
$smtp->reset;

# --- a stranger through the guarded vhost: 403, nothing connects -------
my $before = hits();
my @paths;
for my $to ($f, $m, "127.0.0.4:25", "[::1]:$smtp->{port}", "user\@$f", "127.0.0.3%3A$site->{port}",
            "LOCALHOST.:$site->{port}", "127.0.0.1:$backend.evil.test") {
    push @paths, "/pm/$to/x", "/rw/$to/x", "/whole?u=http://$to/x", "/lm/$to/x";
}
my @wrong;
for my $path (@paths) {
    my $res = get($path, from => $stranger);
    push @wrong, "$res->{status} for $path" unless $res->{status} == 403;
}
for my $host ($f, $m, "127.0.0.4:25") {
    my $res = get('/hh/x', host => $host, from => $stranger);
    push @wrong, "$res->{status} for /hh/ Host: $host" unless $res->{status} == 403;
}
is_deeply(\@wrong, [], 'stranger: ' . (@paths + 3) . ' requests, every one 403')
    or diag join "\n", @wrong;
is($site->connections(0.5), 0, 'stranger: the foreign site never saw a connection')
    or diag join "\n", $site->seen;
is($smtp->connections, 0, 'stranger: the mail server never saw a connection')
    or diag join "\n", $smtp->seen;
is(hits() - $before, @paths + 3, 'each counted as dynamic-backend');
my $log = $srv->slurp('logs/error_log');
like($log, qr/PG0001: action=deny reason=dynamic-backend vhost=rules\.test method="GET" uri="\/pm\/127\.0\.0\.3:\d+\/x" host="rules\.test" backend="http:\/\/127\.0\.0\.3:\d+\/x"/,
     'the PG0001 line names the backend it refused');

# --- what keeps working -------------------------------------------------
for my $path ('/static/x', '/fixed/x', '/rwfixed/x', '/bal/x', '/loc/x', "/pm/127.0.0.1:$backend/x",
              "/pm/127.0.0.1:$listed/x", "/rw/127.0.0.1:$listed/x") {
    my $res = get($path, from => $stranger);
    is($res->{status}, 200, "$path: 200");
    like($res->{body}, qr/BACKEND-OK/, '... from the backend');
}
for my $path ('/php/x.php', '/fpm/x.php') {
    my $res = get($path, from => $stranger);
    isnt($res->{status}, 403, "$path (SetHandler proxy:...): not refused ($res->{status})");
}
is($fcgi->connections(0.5), 1, '... the FastCGI backend by TCP was reached');
ok(-s "$uds.seen", '... and the one on a Unix socket');
is(hits() - $before, @paths + 3, 'none of these counted');
# a kept-alive connection remembers the last backend that passed, and
# nothing else: the next request to another backend is decided afresh
$site->reset;
my $two = $srv->request("GET /rwfixed/x HTTP/1.1\r\nHost: rules.test\r\n\r\n"
                        . "GET /rw/$f/x HTTP/1.1\r\nHost: rules.test\r\n\r\n"
                        . "GET /rw/localhost:$backend/x HTTP/1.1\r\nHost: rules.test\r\nConnection: close\r\n\r\n",
                        from => $stranger);
my @statuses = $two->{raw} =~ m{^HTTP/1\.1 (\d+)}mg;
is("@statuses", '200 403 200', 'one connection: a fixed backend, a foreign one, the fixed one again');
is($site->connections(0.5), 0, '... and the foreign one was not reached');
# a listed pattern names its hosts, not their other ports
is(get("/pm/127.0.0.1:1/x", from => $stranger)->{status}, 403,
   'a port the configuration does not name: 403');
is(get('/hh/x', host => "127.0.0.1:$listed", from => $stranger)->{status}, 200,
   '/hh/ with a listed Host: 200');

# --- DetectOnly counts and passes --------------------------------------
my $dbefore = $srv->json(port => 4)->{hits}{'dynamic-backend'} // 0;
$site->reset;
like(get("/pm/$f/x", port => 4, from => $stranger)->{body}, qr/FOREIGN-SITE/,
     'DetectOnly: passes');
is(($srv->json(port => 4)->{hits}{'dynamic-backend'} // 0) - $dbefore, 1,
   '... and counts once, though mod_proxy ran its scheme handlers twice');
is($dead_proxy->connections, 1, '... (first through the remote proxy, which closed)');

# --- start-up warnings: the dynamic rules, with file and line ----------
my $conf = $srv->slurp('httpd.conf');
my @lines = split /\n/, $conf;
my @dynamic = grep { $lines[$_] =~ m{"http://\$1/|%\{HTTP_HOST\}|"%1"} } 0 .. $#lines;
my @warned = $log =~ /PG0007: \S+httpd\.conf:(\d+): /g;
is_deeply([ sort { $a <=> $b } @warned ], [ map { $_ + 1 } @dynamic ],
          'PG0007 for every dynamic rule, with its line, and none other ('
          . scalar(@dynamic) . ')');
like($log, qr/PG0007: \S+httpd\.conf:\d+: ProxyPassMatch takes its backend from the request \(http:\/\/\$1\/\$2\)/,
     '... naming the directive and the target');

# a bad ProxyGuardDynamicBackends stops the configuration test
my $bad = PGTest->new(name => 'rulesbad', conf => sub { "ProxyGuardDynamicBackends img.test:99999\n" });
my ($rc, $out) = $bad->configtest;
ok($rc != 0, 'ProxyGuardDynamicBackends img.test:99999: apache2 -t fails');
like($out, qr/ProxyGuardDynamicBackends: 'img\.test:99999' is not host\[:port\]/,
     '... naming the directive and the value');

# the shipped fail2ban filter bans on these lines, with the true address
$srv->stop;
PGFail2ban::check_deny_lines($srv, '127.0.0.2', 'dynamic-backend');
$srv->check_error_log;
done_testing;
