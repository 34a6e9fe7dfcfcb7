#!/usr/bin/perl
# proxyguard scan on generated logs whose truth is known (t/lib/PGScan.pm,
# fixed seed): networks and their hosts, verdicts, ports, months, first and
# last seen; in the combined, vhost_combined and a custom format; as a
# rotated set with gzip members given in any order; from standard input,
# plain and gzip.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use Test::More;
use PGScan;

my $dir = tempdir('pgscan-gen-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub gz {
    my ($text) = @_;
    my $out;
    gzip(\$text => \$out) or die $GzipError;
    return $out;
}

# The JSON against the generator's truth.
sub check_truth {
    my ($name, $j, $truth, %opt) = @_;
    is($j->{lines}, $truth->{lines}, "$name: lines");
    is($j->{unparsed}, 0, "$name: nothing unparsed");
    is_deeply($j->{hits}, $truth->{hits}, "$name: hits by reason");
    is_deeply({ map { $_ => $j->{verdicts}{$_} } qw(rejected served-locally suspect origin-form) },
              $truth->{verdicts}, "$name: verdicts");
    is_deeply($j->{connect_ports}, $truth->{ports}, "$name: CONNECT ports");
    my %months;
    for my $m (keys %{ $truth->{months} }) {
        $months{$m} = { connect => 0, 'absolute-uri' => 0, 'unknown-host' => 0,
                        %{ $truth->{months}{$m} } };
    }
    is_deeply($j->{months}, \%months, "$name: months");
    my %net = map { $_->{network} => [ $_->{hits}, $_->{hosts} ] } @{ $j->{networks} };
    my %want = map { $_ => [ $truth->{nets}{$_}{hits}, scalar keys %{ $truth->{nets}{$_}{hosts} } ] }
               keys %{ $truth->{nets} };
    is_deeply(\%net, \%want, "$name: every /24 and /64 with its hits and hosts");
    is($j->{networks}[0]{network}, '203.0.113.0/24', "$name: networks sorted by hits");
    my %client = map { $_->{address} => $_ } @{ $j->{clients} };
    is(scalar @{ $j->{clients} }, scalar keys %{ $truth->{clients} }, "$name: clients");
    my $bad = 0;
    for my $c (sort keys %{ $truth->{clients} }) {
        my $t = $truth->{clients}{$c};
        my $g = $client{$c} or do { $bad++; diag "$name: $c missing"; next };
        next if $g->{hits} == $t->{hits}
             && ($opt{no_time} || ($g->{first} eq $t->{first} && $g->{last} eq $t->{last}));
        $bad++;
        diag "$name: $c: got $g->{hits} $g->{first} $g->{last}, want $t->{hits} $t->{first} $t->{last}";
    }
    is($bad, 0, "$name: every client's hits, first and last seen");
}

# --- combined --------------------------------------------------------
my ($lines, $truth) = PGScan::generate(seed => 7, lines => 20000, format => 'combined');
my $text = join '', map { "$_\n" } @$lines;
my $combined = PGScan::spew("$dir/combined.log", $text);
my ($j, $rc) = PGScan::json('--top', '0', $combined);
is($rc, 0, 'combined: exit 0');
check_truth('combined', $j, $truth);
is($truth->{verdicts}{'served-locally'}, 70, 'the generator made 70 served-locally hits');
is($j->{verdicts}{'served-locally'}, 70, 'combined: absolute URIs answered with the size of / are served locally');

# --top cuts clients and networks, sorted by hits
my ($top) = PGScan::json('--top', '3', $combined);
is(scalar @{ $top->{clients} }, 3, '--top 3: three clients');
is(scalar @{ $top->{networks} }, 3, '--top 3: three networks');
is_deeply([ map { $_->{hits} } @{ $top->{clients} } ], [ 5, 5, 5 ], '... the heaviest (192.0.2.x, 5 each)');

# --- vhost_combined (Debian's other_vhosts_access.log) -----------------
my ($vlines, $vtruth) = PGScan::generate(seed => 7, lines => 20000, format => 'vhost_combined');
my $vhost = PGScan::spew("$dir/other_vhosts_access.log", join '', map { "$_\n" } @$vlines);
($j) = PGScan::json('--top', '0', '--format', 'vhost_combined', $vhost);
check_truth('vhost_combined', $j, $vtruth);

# --- a custom format: client address, Host, epoch seconds -------------
my ($clines, $ctruth) = PGScan::generate(seed => 11, lines => 20000, format => 'custom');
my $custom = PGScan::spew("$dir/custom.log", join '', map { "$_\n" } @$clines);
my $fmt = '%a %{Host}i %>s %B "%r" %{sec}t';
($j) = PGScan::json('--top', '0', '--format', $fmt, '--host', 'www.example.com', $custom);
check_truth('custom', $j, $ctruth);
is($j->{hits}{'unknown-host'}, 6, 'custom: Host 10.0.0.1 is unknown-host where %{Host}i is logged');
# without our name every Host is foreign
my ($nohost) = PGScan::json('--format', $fmt, $custom);
is($nohost->{hits}{'unknown-host'}, 20000 - 95 - 82, 'custom without --host: every origin-form request is unknown-host');

# --- a rotated set, gzip members, given in any order -------------------
my @chunks;
my $per = int(@$lines / 4) + 1;
push @chunks, [ splice @{ [ @$lines ] }, $_ * $per, $per ] for 0 .. 3;
my @set = ("$dir/access.log.3.gz", "$dir/access.log.2.gz", "$dir/access.log.1", "$dir/access.log");
PGScan::spew($set[0], gz(join '', map { "$_\n" } @{ $chunks[0] }));
# a gzip file of two members, as `cat a.gz b.gz` makes
my @c1 = @{ $chunks[1] };
my $half = int(@c1 / 2);
PGScan::spew($set[1], gz(join '', map { "$_\n" } @c1[0 .. $half - 1])
                    . gz(join '', map { "$_\n" } @c1[$half .. $#c1]));
PGScan::spew($set[2], join '', map { "$_\n" } @{ $chunks[2] });
PGScan::spew($set[3], join '', map { "$_\n" } @{ $chunks[3] });
($j, $rc) = PGScan::json('--top', '0', @set[3, 1, 2, 0]);
is($rc, 0, 'rotated set: exit 0');
is_deeply($j->{files}, \@set, 'rotated set read oldest first: .3.gz .2.gz .1 then the live file');
check_truth('rotated set', $j, $truth);
my ($given) = PGScan::json('--as-given', @set[3, 1, 2, 0]);
is_deeply($given->{files}, [ @set[3, 1, 2, 0] ], '--as-given keeps the command line order');

# logrotate's dateext names: by date, then the live file
my @dated = map { "$dir/site.log$_" } ('-20240102.gz', '-20240101', '');
PGScan::spew($_, '') for @dated;
my ($d) = PGScan::json(@dated[2, 0, 1]);
is_deeply($d->{files}, [ @dated[1, 0, 2] ], 'dateext set: site.log-20240101, -20240102.gz, site.log');

# --- standard input -----------------------------------------------------
($j, $rc) = PGScan::json('--top', '0', '-', { stdin => $text });
is_deeply($j->{files}, [ '-' ], 'stdin: files is "-"');
check_truth('stdin', $j, $truth);
($j) = PGScan::json('--top', '0', '-', { stdin => gz($text) });
check_truth('stdin, gzip', $j, $truth);

# --- a damaged gzip file: what was read is reported, and the error -----
my $gz = gz($text);
my $cut = PGScan::spew("$dir/broken.log.1.gz", substr($gz, 0, int(length($gz) / 2)));
my ($brc, $bout, $berr) = PGScan::run([ 'scan', '--json', $cut ]);
is($brc, 3, 'truncated gzip: exit 3');
like($berr, qr/^proxyguard: scan: \Q$cut\E: unexpected end of compressed data \(after \d+ lines\)$/m,
     'truncated gzip: the error names the file');
my $partial = eval { JSON::PP->new->decode($bout) };
ok($partial && $partial->{lines} > 1000 && $partial->{lines} < 20000,
   'truncated gzip: the lines before the damage are still reported');

done_testing;
