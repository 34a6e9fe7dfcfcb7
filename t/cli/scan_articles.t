#!/usr/bin/perl
# proxyguard scan on the operators' real log lines (shared seeds: the 2003,
# 2004 and 2009 lines quoted in the Chinese article, its 2004 forum thread
# and the 2009 hhrz.org log), with their real statuses and sizes.
#
# t/cli/scan/articles.log holds them verbatim, except that the web page
# lost the spaces around the 2004 absolute URIs ("GEThttp://...HTTP/1.1"),
# restored here; the odd "- -?" of one 2009 line is kept.
# t/cli/scan/visitors.log is what the same 2004 server would have served
# its own visitors (/, /apache_pb.gif; /poweredby.png only as a 304): the
# Apache wiki's test, "compare the size with your default site's page".
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use PGScan;

my $dir = "$FindBin::Bin/scan";
my $articles = "$dir/articles.log";
my $visitors = "$dir/visitors.log";

my ($j, $rc) = PGScan::json('--top', '0', $articles);
is($rc, 0, 'exit 0');
is_deeply($j->{files}, [ $articles ], 'files');
is($j->{lines}, 28, '28 lines');
is($j->{unparsed}, 0, 'every line parsed (common and combined lines mixed, "- -?" too)');
is_deeply($j->{hits}, { connect => 22, 'absolute-uri' => 6, 'unknown-host' => 0 },
          '22 CONNECT and 6 absolute-URI probes');
my %none = (rejected => 0, 'served-locally' => 0, suspect => 0, unknown => 0, undetermined => 0,
            'origin-form' => 0);
is_deeply($j->{verdicts}, { %none, rejected => 22, suspect => 6 },
          'alone: 22 rejected (CONNECT 302 0, 403, 404, 405), 6 suspect (200 1144 CONNECTs, 200 absolute URIs)');
is_deeply($j->{verdicts_by_reason}{connect}, { %none, rejected => 20, suspect => 2 },
          'the 2009 "CONNECT ...:25 200 1144" lines are suspect: something accepted the tunnel request');
is_deeply({ map { $_ => $j->{verdict_rules}{$_} } grep { $j->{verdict_rules}{$_} } keys %{ $j->{verdict_rules} } },
          { 'tunnel-refused' => 20, 'tunnel-accepted' => 2, refused => 2, 'new-size' => 4 },
          'the rules: 20 CONNECTs without a 2xx (302 0 too: no tunnel), 2 accepted, 2 4xx, 4 new sizes');
is_deeply([ @{ $j->{outcome} }{qw(relayed tunnels)} ], [ 4, 2 ], 'outcome: 4 may have been relayed, 2 tunnels');
is_deeply($j->{connect_ports}, { 25 => 16, 80 => 6 }, 'CONNECT ports: 16 to SMTP, 6 to 80 (2003)');

my %client = map { $_->{address} => $_ } @{ $j->{clients} };
is($j->{clients}[0]{address}, '205.209.140.102', 'the top client is 205.209.140.102');
is($client{'205.209.140.102'}{hits}, 8, '... with 8 hits');
is($client{'205.209.140.102'}{first}, '2009-08-02T17:54:40+08:00', '... first seen as the log says, +08:00');
is($client{'205.209.140.102'}{last}, '2009-08-03T18:00:07+08:00', '... last seen');
is_deeply($client{'205.209.140.102'}{reasons}, { connect => 8, 'absolute-uri' => 0, 'unknown-host' => 0 },
          '... all CONNECT');
is($client{'158.252.208.31'}{hits}, 6, '2003: 158.252.208.31, 6 hits');
is($client{'67.215.241.234'}{hits}, 2, '67.215.241.234: 2 hits (one line with "- -?")');
is($client{'125.224.200.238'}{first}, '2009-08-02T17:54:39+08:00',
   'first seen is the earliest time, not the first line');
is($client{'211.21.137.29'}{reasons}{'absolute-uri'}, 3, "2004: the forum poster's own 3 test requests");
is(scalar @{ $j->{clients} }, 10, '10 clients');

my %net = map { $_->{network} => $_ } @{ $j->{networks} };
is_deeply([ @{ $net{'205.209.140.0/24'} }{qw(hits hosts)} ], [ 8, 1 ], '205.209.140.0/24: 8 hits, 1 host');
is_deeply([ @{ $net{'211.21.137.0/24'} }{qw(hits hosts)} ], [ 3, 1 ], '211.21.137.0/24: 3 hits, 1 host');
my %wide = map { $_->{network} => $_ } @{ $j->{wide_networks} };
is($wide{'205.209.0.0/16'}{hits}, 8, '/16 too');

is_deeply($j->{months}, {
    '2003-05' => { connect => 6, 'absolute-uri' => 0, 'unknown-host' => 0 },
    '2004-04' => { connect => 2, 'absolute-uri' => 1, 'unknown-host' => 0 },
    '2004-05' => { connect => 2, 'absolute-uri' => 5, 'unknown-host' => 0 },
    '2009-08' => { connect => 12, 'absolute-uri' => 0, 'unknown-host' => 0 },
}, 'months, in the log\'s own +0800');
is($j->{days}{'2009-08-02'}{connect}, 5, '5 CONNECTs on 2009-08-02');
is($j->{days}{'2009-08-03'}{connect}, 7, '7 on 2009-08-03');
my %host = map { $_->{host} => $_->{hits} } @{ $j->{foreign_hosts} };
is_deeply(\%host, { 'tw.yahoo.com' => 3, 'www.online.sh.cn' => 1, 'www.ebay.com' => 1,
                    '207.36.18.60' => 1 }, 'foreign hosts named');
my %target = map { $_->{target} => $_->{hits} } @{ $j->{connect_targets} };
is($target{'64.58.76.227:80'}, 6, 'CONNECT targets: 64.58.76.227:80 six times');
is($target{'maila.microsoft.com:25'}, 2, '... maila.microsoft.com:25 twice');
is($j->{first}, '2003-05-30T12:45:08+08:00', 'first hit');
is($j->{last}, '2009-08-03T18:00:07+08:00', 'last hit');

# With what the 2004 server served its visitors, the absolute URIs answered
# 200 1362 and 200 2326 are its own pages; 200 1154 stays unexplained (the
# visitor got a 304).
($j) = PGScan::json('--top', '0', $visitors, $articles);
is($j->{lines}, 31, 'with the visitors: 31 lines');
is_deeply($j->{verdicts_by_reason}{'absolute-uri'}, { %none, rejected => 2, 'served-locally' => 3, suspect => 1 },
          'absolute URIs: 2 rejected, 3 served locally (1362 for /, 2326 for /apache_pb.gif), 1 suspect');
my %ex = map { $_->{line} => 1 } @{ $j->{examples}{'served-locally'} };
ok($ex{'211.21.137.29 - - [30/May/2004:16:18:42 +0800] "GET http://tw.yahoo.com/apache_pb.gif HTTP/1.0" 200 2326'},
   'examples of served-locally include the apache_pb.gif line');
my ($suspect) = grep { /poweredby/ } map { $_->{line} } @{ $j->{examples}{suspect} };
ok($suspect, 'and the poweredby.png line is a suspect example');
# the order of the files does not matter: sizes from later lines count too
my ($k) = PGScan::json('--top', '0', '--as-given', $articles, $visitors);
is_deeply($k->{verdicts}, $j->{verdicts}, 'the same verdicts when the visitors come after the hits');
# --lines prints as it reads, and still knows the sizes of later lines
my ($lrc, $listing) = PGScan::run([ 'scan', '--lines', '--as-given', $articles, $visitors ]);
my ($gif) = grep { /apache_pb\.gif/ && /\tabsolute-uri\t/ } split /\n/, $listing;
like($gif // '', qr/\tabsolute-uri\tserved-locally\town-size\t200\t/,
     '--lines: the apache_pb.gif probe, before the visitor who got the same size, is served-locally');
is(scalar(grep { (split /\t/)[2] eq 'suspect' } split /\n/, $listing), 3,
   '--lines: as many suspect lines as --json counts (2 CONNECTs, poweredby.png)');

# The readable report says the same.
my ($rc2, $report) = PGScan::run([ 'scan', $articles ]);
is($rc2, 0, 'report: exit 0');
like($report, qr/\A!! 4 requests may have been relayed through this server \(4 suspect, 0 undetermined\); 2 CONNECT tunnels were accepted\.$/m,
     'report: leads with what may have worked');
like($report, qr/^  connect\s+22\s+20\s+0\s+2\s+0\s+0\s+0$/m, 'report: connect row');
like($report, qr/^\s+25\s+16  mail: a spam relay probe$/m, 'report: port 25 flagged as mail');
like($report, qr/^  205\.209\.140\.102\s+8\s+8\s+0\s+0\s+6\s+0\s+2\s+0  2009-08-02T17:54:40\+08:00/m,
     'report: top client, 6 rejected, 2 suspect');
like($report, qr/our names: none given/, 'report: says that no names were given');

done_testing;
