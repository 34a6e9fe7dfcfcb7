#!/usr/bin/perl
# --emit apache|nftables|ipset: the rules are the networks and clients over
# --min-hits / --min-hosts, one comment line per rule saying why, and the
# real tools accept them: apache2 -t with the rules included inside
# <RequireAll>, `nft -c -f` (check only: nothing is loaded), and `ipset
# restore` of a uniquely named set that the test then reads and destroys.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;

PGScan::need_tool('nft', 'nftables');
PGScan::need_tool('ipset', 'ipset');
my $dir = tempdir('pgscan-emit-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my ($lines) = PGScan::generate(seed => 7, lines => 20000, format => 'combined');
my $log = PGScan::spew("$dir/access.log", join '', map { "$_\n" } @$lines);

sub emit {
    my ($kind, @opt) = @_;
    my ($rc, $out, $err) = PGScan::run([ 'scan', '--emit', $kind, @opt, $log ]);
    is($rc, 0, "--emit $kind @opt: exit 0") or diag $err;
    my $path = PGScan::spew("$dir/rules-$kind-" . join('', @opt) . '.txt', $out);
    return ($out, $path);
}

# The articles' thresholds (>= 50 hits from >= 30 hosts in a /24): the two
# big networks, nothing else.
my ($apache) = emit('apache');
my @rules = $apache =~ /^Require not ip (\S+)$/mg;
is_deeply(\@rules, [ '203.0.113.0/24', '198.51.100.0/24' ],
          'default thresholds: the two networks with >= 50 hits from >= 30 hosts');
like($apache, qr/^# 203\.0\.113\.0\/24: 80 hits from 40 hosts \(connect 80, absolute-uri 0, unknown-host 0\), 2013-\S+ \.\. 2013-\S+\nRequire not ip 203\.0\.113\.0\/24$/m,
     'each rule has a comment line saying why');
my $comments = () = $apache =~ /^#/mg;
cmp_ok($comments, '>=', 2 + @rules, 'a comment per rule, and a header');

# Lower thresholds: the smaller networks too, IPv6 among them; the clients
# inside them are not listed again.
my ($low) = emit('apache', '--min-hits', '5', '--min-hosts', '3');
@rules = $low =~ /^Require not ip (\S+)$/mg;
is_deeply([ sort @rules ], [ sort '203.0.113.0/24', '198.51.100.0/24', '192.0.2.0/24', '2001:db8:1::/64' ],
          '--min-hits 5 --min-hosts 3: four networks, one of them IPv6, no client twice');
# Clients alone: no network has 50 hosts.
my ($clients) = emit('apache', '--min-hits', '3', '--min-hosts', '50');
@rules = $clients =~ /^Require not ip (\S+)$/mg;
is_deeply([ sort @rules ], [ sort map("192.0.2.$_", 1 .. 3), map("2001:db8:1::$_", 1 .. 4) ],
          '--min-hits 3 --min-hosts 50: the seven addresses with >= 3 hits');

# --- apache2 -t --------------------------------------------------------
for my $case ([ 'default', $apache ], [ 'low', $low ], [ 'clients', $clients ]) {
    my ($name, $text) = @$case;
    my $srv = PGTest->new(name => "scan-emit-$name", conf => sub {
        my $inc = $_[0]->write_file('block.conf', $text);
        "<Location \"/\">\n    <RequireAll>\n        Require all granted\n"
        . "        Include \"$inc\"\n    </RequireAll>\n</Location>\n";
    });
    my ($rc, $out) = $srv->configtest;
    ok($rc == 0 && $out =~ /Syntax OK/, "apache2 -t accepts the $name rules inside <RequireAll>") or diag $out;
}

# --- nft -c -f ---------------------------------------------------------
{
    for my $opt ([], [ '--min-hits', '5', '--min-hosts', '3' ], [ '--min-hits', '3', '--min-hosts', '50' ],
                 [ '--min-hits', '100000' ]) {
        my ($text, $path) = emit('nftables', '--set-name', 'pgscan', @$opt);
        my $out = `nft -c -f '$path' 2>&1`;
        is($? >> 8, 0, "nft -c -f accepts --emit nftables @$opt") or diag "$out\n$text";
    }
    my ($text) = emit('nftables', '--min-hits', '5', '--min-hosts', '3');
    like($text, qr/^\t\t\t# 2001:db8:1::\/64: 12 hits from 4 hosts .*\n\t\t\t2001:db8:1::\/64$/m,
         'nftables: the IPv6 network in the ipv6 set, its comment above it');
    like($text, qr/ip saddr \@proxyguard4 drop/, 'nftables: a chain that uses the sets');
    # the check is real: a broken file fails
    my $broken = PGScan::spew("$dir/broken.nft", $text =~ s/flags interval\n//r);
    my $out = `nft -c -f '$broken' 2>&1`;
    isnt($? >> 8, 0, 'nft -c -f rejects a file without interval sets (networks in it): the check is real');
}

# --- ipset restore -------------------------------------------------------
{
    my $name = "pgt$$";
    my @sets = ("${name}4", "${name}6");
    END { system("ipset destroy $_ 2>/dev/null") for grep { defined } @sets }
    my ($text, $path) = emit('ipset', '--set-name', $name, '--min-hits', '5', '--min-hosts', '3');
    my $out = `ipset restore < '$path' 2>&1`;
    is($? >> 8, 0, 'ipset restore accepts --emit ipset') or diag "$out\n$text";
    my $list4 = `ipset list $sets[0] 2>&1`;
    my $list6 = `ipset list $sets[1] 2>&1`;
    my @m4 = sort $list4 =~ /^(\d+\.\d+\.\d+\.\d+\/\d+)$/mg;
    is_deeply(\@m4, [ sort '192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24' ], 'ipset: the IPv4 set holds the networks');
    like($list6, qr{^2001:db8:1::/64$}m, 'ipset: the IPv6 set holds the /64');
    # loading again replaces the contents (flush), it does not fail
    $out = `ipset restore < '$path' 2>&1`;
    is($? >> 8, 0, 'ipset restore of the same file again: fine');
    system("ipset destroy $_") for @sets;
    is(scalar(grep { /^\Q$name\E/ } split /\n/, `ipset list -n`), 0, 'ipset: no set left behind');
    @sets = ();
}

# --- bad input ---------------------------------------------------------------
my ($rc, undef, $err) = PGScan::run([ 'scan', '--emit', 'iptables', $log ]);
is($rc, 2, '--emit iptables: usage error');
like($err, qr/^proxyguard: scan: --emit wants apache, nftables or ipset, not 'iptables'/, '... saying what is wanted');
($rc, undef, $err) = PGScan::run([ 'scan', '--emit', 'ipset', '--set-name', 'bad;name', $log ]);
is($rc, 2, '--set-name with a ";": usage error (it goes into a firewall file)');

done_testing;
