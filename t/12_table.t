#!/usr/bin/perl
# The shared hit table: exact under concurrency (20 clients x 500 requests,
# every child process and thread of the MPM counting into it), unchanged
# across a graceful and a full restart, bounded when more clients arrive
# than it has slots, and then it keeps the heavy hitters.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $srv = PGTest->new(name => 'table', conf => sub {
    "ProxyGuardTableSize 16\n" . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;

my %probe = (
    connect        => "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n",
    'absolute-uri' => "GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n",
    'unknown-host' => "GET / HTTP/1.1\r\nHost: 203.0.113.1\r\n\r\n",
    'proxy-header' => "GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n",
);
my @reasons = sort keys %probe;
# what each answer must be: rejected, or served by the vhost it names
my %want = (
    connect        => sub { $_[0]{status} == 405 },
    'absolute-uri' => sub { $_[0]{status} == 403 },
    'unknown-host' => sub { $_[0]{status} == 200 && $_[0]{body} eq "site:default0\n" },
    'proxy-header' => sub { $_[0]{status} == 200 && $_[0]{body} eq "site:www0\n" },
);

# 20 concurrent clients x 500 requests, the four reasons in turn, plus
# legitimate requests in between that must not count.
my ($clients, $per_client) = (20, 500);
my @pids;
for my $c (1 .. $clients) {
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        my $bad = 0;
        for my $i (0 .. $per_client - 1) {
            my $reason = $reasons[$i % 4];
            $bad++ unless $want{$reason}->($srv->request($probe{$reason}));
            next if $i % 50;
            my $res = $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n");
            $bad++ unless $res->{status} == 200 && $res->{body} eq "site:www0\n";
        }
        exit($bad ? 1 : 0);
    }
    push @pids, $pid;
}
my $failed = 0;
for (@pids) { waitpid($_, 0); $failed++ if $? }
is($failed, 0, "$clients x $per_client requests, each answered as its reason says (405, 403, the page)");

my $sent = $clients * $per_client / 4;
my $j = $srv->status('json')->{json};
is($j->{total}, $clients * $per_client, "?json total: exactly $clients x $per_client");
is($j->{hits}{$_}, $sent, "?json hits.$_: exactly $sent") for @reasons;
my $prom = $srv->status('prometheus')->{body};
my %prom;
$prom{$1} += $2 while $prom =~ /^proxyguard_hits_total\{vhost="[^"]*",reason="([^"]+)",action="\w+"\} (\d+)$/mg;
is($prom{$_}, $sent, "?prometheus proxyguard_hits_total{reason=\"$_\"} sums to $sent") for @reasons;
is($j->{ports}{25}, $sent, "CONNECT port 25 counted $sent times");
# Counted-only hits (unknown-host, proxy-header) skip their detail when the
# mutex is busy (counted as details_skipped); rejections always wait.
my $skipped = $j->{table}{details_skipped};
is($j->{clients}[0]{total} + $skipped, $clients * $per_client,
   "one client address holds every hit whose detail was kept (+ $skipped skipped)");
is($j->{clients}[0]{hits}{$_}, $sent, "... all $sent $_ hits (rejections never skip)") for qw(connect absolute-uri);
is($j->{clients}[0]{hits}{'unknown-host'} + $j->{clients}[0]{hits}{'proxy-header'} + $skipped, 2 * $sent,
   '... the counted-only ones with the skipped');

# Graceful restart (USR1), then a full restart (HUP): same counters.
$srv->restart('USR1');
my $after = $srv->status('json')->{json};
is($after->{total}, $j->{total}, 'graceful restart: total unchanged');
is_deeply($after->{hits}, $j->{hits}, 'graceful restart: every reason unchanged');
is($after->{restarts}, 1, 'graceful restart: counted as a restart');
is($after->{since}, $j->{since}, 'graceful restart: start time kept');
$srv->request($probe{connect});
$srv->restart('HUP');
$after = $srv->status('json')->{json};
is($after->{hits}{connect}, $sent + 1, 'full restart (HUP): counters kept, new hit included');
is($after->{restarts}, 2, 'full restart: counted');

# More distinct clients than slots (16): 3 heavy hitters with 20 hits
# each, then 60 addresses with one hit each, all from 127.0.0.0/8.
my @heavy = map { "127.0.1.$_" } 1 .. 3;
for my $addr (@heavy) {
    $srv->request($probe{connect}, from => $addr) for 1 .. 20;
}
$srv->request($probe{'absolute-uri'}, from => "127.0.2.$_") for 1 .. 60;
$j = $srv->status('json')->{json};
is($j->{table}{capacity}, 16, 'ProxyGuardTableSize 16');
ok($j->{table}{clients} <= 16, "clients tracked stay within 16 ($j->{table}{clients})");
ok(scalar @{ $j->{clients} } <= 16, 'the client list is bounded too');
ok($j->{table}{clients_evicted} >= 60 - 16, "addresses were replaced ($j->{table}{clients_evicted})");
my %seen = map { $_->{address} => $_->{total} } @{ $j->{clients} };
for my $addr (@heavy) {
    is($seen{$addr}, 20, "heavy hitter $addr kept with its 20 hits");
}
is($j->{hits}{'absolute-uri'}, $sent + 60, 'the exact counters lost nothing while the table was full');
my ($net2) = grep { $_->{network} eq '127.0.2.0/24' } @{ $j->{networks} };
is($net2->{hits}, 60, '127.0.2.0/24: 60 hits');
is($net2->{addresses}, 60, '127.0.2.0/24: 60 addresses');

$srv->stop;
done_testing;
