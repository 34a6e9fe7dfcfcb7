#!/usr/bin/perl
# Origin-form requests whose Host names none of our vhosts (reason
# unknown-host) under each ProxyGuardUnknownHost value, and the proxy-header
# signal.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

# One port per ProxyGuardUnknownHost value, set on the default vhost (where
# unknown names land).  Port 0 leaves it unset: the default is Detect.
my @policy = ('', 'ProxyGuardUnknownHost Detect', 'ProxyGuardUnknownHost Deny',
              'ProxyGuardUnknownHost Allow');
my $srv = PGTest->new(name => 'unknown-host', ports => 4, conf => sub {
    my ($s) = @_;
    my $text = '';
    for my $i (0 .. 3) {
        my $port = $s->port($i);
        my $d = $s->docroot("default$i");
        my $w = $s->docroot("www$i");
        $text .= <<"VH";
<VirtualHost *:$port>
    ServerName default$i.test
    DocumentRoot "$d"
    $policy[$i]
</VirtualHost>
<VirtualHost *:$port>
    ServerName www.example.com
    ServerAlias *.example.org
    DocumentRoot "$w"
</VirtualHost>
VH
    }
    return $text;
});
$srv->start;

my %name = (0 => 'default (Detect)', 1 => 'Detect', 2 => 'Deny', 3 => 'Allow');
for my $i (0 .. 3) {
    my $mark = $srv->log_mark('logs/error_log');
    my $res = $srv->request("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", port => $i);
    my $log = $srv->log_since('logs/error_log', $mark);
    if ($i == 2) {
        is($res->{status}, 403, "$name{$i}: Host 127.0.0.1 answered 403");
        like($log, qr/\[proxyguard:warn\].*PG0001: action=deny reason=unknown-host vhost=default2\.test method="GET" uri="\/" host="127\.0\.0\.1"/,
             "$name{$i}: logged at warn as deny");
    }
    elsif ($i == 3) {
        is($res->{status}, 200, "$name{$i}: Host 127.0.0.1 served");
        unlike($log, qr/PG0001/, "$name{$i}: not logged");
    }
    else {
        is($res->{status}, 200, "$name{$i}: Host 127.0.0.1 served");
        like($res->{body}, qr/^site:default$i$/, "$name{$i}: by the default vhost");
        like($log, qr/\[proxyguard:info\].*PG0001: action=detect reason=unknown-host vhost=default$i\.test/,
             "$name{$i}: logged at info as detect");
    }
    # our names are never unknown, whatever the policy
    $res = $srv->request("GET / HTTP/1.1\r\nHost: Sub.Example.ORG.\r\n\r\n", port => $i);
    is($res->{status}, 200, "$name{$i}: wildcard alias is known");
    $res = $srv->request("GET / HTTP/1.1\r\nHost: default$i.test\r\n\r\n", port => $i);
    is($res->{status}, 200, "$name{$i}: the default vhost's own name is known");
}

# The proxy-header signal: passes, counted under proxy-header, at info.
for my $hdr ('Proxy-Connection: keep-alive', 'Proxy-Authorization: Basic Zm9vOmJhcg==') {
    my $mark = $srv->log_mark('logs/error_log');
    my $res = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n$hdr\r\n\r\n");
    is($res->{status}, 200, "$hdr: passes");
    like($srv->log_since('logs/error_log', $mark),
         qr/\[proxyguard:info\].*PG0001: action=detect reason=proxy-header vhost=www\.example\.com/,
         "$hdr: counted as proxy-header");
}
# Unknown Host and a proxy header: one hit, under unknown-host.
my $mark = $srv->log_mark('logs/error_log');
$srv->request("GET / HTTP/1.1\r\nHost: evil.test\r\nProxy-Connection: keep-alive\r\n\r\n");
my $log = $srv->log_since('logs/error_log', $mark);
my $n = () = $log =~ /PG0001/g;
is($n, 1, 'unknown Host + proxy header: logged once');
like($log, qr/reason=unknown-host/, '... under unknown-host');
# Allow ignores the unknown Host, so the proxy header is what counts.
$mark = $srv->log_mark('logs/error_log');
$srv->request("GET / HTTP/1.1\r\nHost: evil.test\r\nProxy-Connection: keep-alive\r\n\r\n", port => 3);
like($srv->log_since('logs/error_log', $mark), qr/reason=proxy-header/,
     'ProxyGuardUnknownHost Allow + proxy header: proxy-header');

$srv->stop;
done_testing;
