#!/usr/bin/perl
# The version is written once, in pg_version.h (PG_VERSION); everything
# that states it must agree: the Debian changelog's latest entry, the RPM
# spec's Version and latest %changelog entry, the man pages, the examples
# of docs/status.md, the running module's status page and the proxyguard
# program.  A "Compatibility: mod_proxyguard X and
# later" line in docs/directives.md may not name a version after it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $top = "$FindBin::Bin/..";

sub slurp {
    my ($path) = @_;
    open my $fh, '<', "$top/$path" or die "$path: $!";
    local $/;
    return <$fh>;
}

sub version_cmp {
    my ($a, $b) = @_;
    my @a = split /\./, $a;
    my @b = split /\./, $b;
    for my $i (0 .. 2) {
        return $a[$i] <=> $b[$i] if $a[$i] != $b[$i];
    }
    return 0;
}

my ($version) = slurp('pg_version.h') =~ /^#define PG_VERSION "(\d+\.\d+\.\d+)"$/m;
ok($version, "pg_version.h defines PG_VERSION: " . ($version // 'none'));
$version //= '0.0.0';

my ($deb) = slurp('debian/changelog') =~ /\A\S+ \(([^)]+)\)/;
is($deb, $version, 'debian/changelog: the latest entry is this version');

my $spec = slurp('rpm/mod_proxyguard.spec');
my ($rpm) = $spec =~ /^Version:\s+(\S+)$/m;
is($rpm, $version, 'rpm/mod_proxyguard.spec: Version is this version');
my ($rpm_log) = $spec =~ /^%changelog\n\*[^\n]* - ([^-\s]+)-\d+\n/m;
is($rpm_log, $version, 'rpm/mod_proxyguard.spec: the latest %changelog entry is this version');

for my $man (sort glob("$top/cli/man/*.1")) {
    my ($th) = slurp($man =~ s{^\Q$top\E/}{}r) =~ /^\.TH (.*)$/m;
    my $name = $man =~ s{.*/}{}r;
    like($th // '', qr/"(?:mod_)?proxyguard \Q$version\E"/, "$name: .TH names this version");
}

my $status = slurp('docs/status.md');
my @stated = ($status =~ /^ProxyGuardVersion: (\S+)$/mg, $status =~ /"version": "([^"]+)"/g);
ok(@stated >= 2, 'docs/status.md shows the version in ?auto and ?json examples');
is_deeply([ grep { $_ ne $version } @stated ], [], 'docs/status.md: every example says this version');

my @since = slurp('docs/directives.md') =~ /^\| Compatibility \| mod_proxyguard (\S+) and later/mg;
ok(@since > 10, scalar(@since) . ' directives state since when they exist');
is_deeply([ grep { version_cmp($_, $version) > 0 } @since ], [],
          'docs/directives.md: no directive is from a version after this one');

my $prog = "$top/build/proxyguard";
is(`'$prog' --version 2>&1`, "proxyguard $version\n", 'proxyguard --version');

my $srv = PGTest->new(name => 'version', conf => sub { $_[0]->standard_vhosts . PGTest::status_location() })->start;
is($srv->auto->{ProxyGuardVersion}, $version, 'the module\'s ?auto says this version');
is($srv->json->{version}, $version, '... and its ?json');
$srv->stop;

done_testing;
