#!/usr/bin/perl
# One table of cases (t/cases/classify.tsv), two readers of the same code:
# every case goes to a real httpd with the module in DetectOnly, which logs
# its verdict as %{PROXYGUARD}e; then `proxyguard scan` reads that very
# access log and must classify every line the same way, through the
# module's own pg_decide(), with the names httpd itself reports (-S).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;
use PGScan;

my @cases = PGScan::cases();
ok(@cases >= 60, scalar(@cases) . ' cases in t/cases/classify.tsv');

# A LogFormat scan reads: the client tells the cases apart (each case
# comes from its own 127.0.x.y), %A/%{local}p/%v are what the module knew
# of the connection and the vhost, %{PROXYGUARD}e its verdict.
my $logformat = '%a %A %{local}p %v %t \"%r\" %>s %b \"%{Host}i\" %{PROXYGUARD}e';
(my $scan_format = $logformat) =~ s/\\"/"/g;

my $srv = PGTest->new(name => 'classify', conf => sub {
    "ProxyGuard DetectOnly\n"
    . "LogFormat \"$logformat\" scan\n"
    . "CustomLog \"$_[0]{dir}/logs/scan_log\" scan\n"
    . $_[0]->standard_vhosts;
});
$srv->start;
my $port = $srv->port;

sub client_of { my ($i) = @_; sprintf('127.0.%d.%d', 10 + int($i / 200), 1 + $i % 200) }

my %case_of;
for my $i (0 .. $#cases) {
    my $c = $cases[$i];
    my $res = $srv->request(PGScan::case_request($c, $port), from => client_of($i));
    $case_of{ client_of($i) } = $c;
    if ($c->{httpd400}) {
        is($res->{status}, 400, "t/cases line $c->{line}: $c->{text}: httpd answers 400 itself");
    }
    else {
        isnt($res->{status}, 0, "t/cases line $c->{line}: $c->{text}: answered ($res->{status})");
    }
}
$srv->stop;     # every log line is written

# --- the module's side: %{PROXYGUARD}e ----------------------------------
my $log = $srv->slurp('logs/scan_log');
my %logged;     # client => [ PROXYGUARD, status, line ]
for my $line (split /\n/, $log) {
    my ($client) = $line =~ /^(\S+)/;
    my ($status, $pg) = $line =~ /" (\d{3}) \S+ ".*" (\S+)$/;
    $logged{$client} = [ $pg, $status, $line ] if defined $pg;
}
is(scalar(keys %logged), scalar(@cases), 'one access log line per case');
for my $client (sort keys %case_of) {
    my $c = $case_of{$client};
    my $got = $logged{$client} or do { fail("t/cases line $c->{line}: $c->{text}: not in the log"); next };
    my $want = $c->{httpd400} || $c->{expected} eq 'none' ? '-' : $c->{expected};
    is($got->[0], $want, "module: t/cases line $c->{line}: $c->{text}: PROXYGUARD=$want")
        or diag("log line: $got->[2]");
}

# --- scan's side, on the very same log ---------------------------------
my @args = ('--format', $scan_format, '--httpd-config', $srv->conf_path,
            '--top', '0', $srv->dir . '/logs/scan_log');
my ($json, $rc, $err) = PGScan::json(@args);
is($rc, 0, 'scan --json exits 0') or diag $err;
is($json->{lines}, scalar(@cases), 'scan read every line');
is($json->{unparsed}, 0, 'scan parsed every line');
ok($json->{names}{vhosts} >= 2 && $json->{names}{per_vhost},
   "scan took the vhosts from apache2 -S ($json->{names}{vhosts}) and judges each line by its %v");
my %scan_reason;
for my $c (@{ $json->{clients} }) {
    my @r = grep { $c->{reasons}{$_} } keys %{ $c->{reasons} };
    $scan_reason{ $c->{address} } = join ',', @r;
}
my ($lines_rc, $lines_out) = PGScan::run([ 'scan', '--lines', @args ]);
is($lines_rc, 0, 'scan --lines exits 0');
my %per_line;
for (split /\n/, $lines_out) {
    my (undef, $reason, undef, undef, undef, $client) = split /\t/;
    $per_line{$client} = $reason;
}
for my $client (sort keys %case_of) {
    my $c = $case_of{$client};
    my $want = $c->{expected};
    is($scan_reason{$client} // 'none', $want, "scan --json: t/cases line $c->{line}: $c->{text}: $want");
    is($per_line{$client} // '(no line)', $want, "scan --lines: t/cases line $c->{line}: $c->{text}: $want");
}
# the module's own field, read by scan: they agree wherever the module ran
my $disagree = grep { $_->{httpd400} && $_->{expected} ne 'none' } @cases;
is($json->{module}{disagree}, $disagree,
   "scan counts $disagree lines where %{PROXYGUARD}e differs: exactly the cases httpd answered before the module ran");

done_testing;
