#!/usr/bin/perl
# The package's autopkgtest (debian/tests/control), run by autopkgtest
# itself on this machine (make test-deb; in CI): `autopkgtest build/deb/*.deb
# SRCDIR -- null` installs the built package with its test dependencies and
# runs debian/tests/installed (t/deb/installed.t: a2enmod, a private httpd
# on loopback from the installed files, the installed proxyguard probe).
# The null testbed is this machine and keeps what autopkgtest installed:
# the package is purged afterwards.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;
use PGInstalled;

my $deb = PGInstalled::built_deb();
PGScan::need_tool('autopkgtest', 'autopkgtest');
my $top = $PGTest::TOP;
my $out_dir = tempdir('pgt-autopkgtest-XXXXXX', TMPDIR => 1, CLEANUP => 1) . '/out';
my ($rc, $out) = PGInstalled::run("autopkgtest --output-dir '$out_dir' '$deb' '$top' -- null");
is($rc, 0, 'autopkgtest ... -- null: exit 0 (every test passed)') or diag $out;
my $summary = do { local (@ARGV, $/) = "$out_dir/summary"; <> } // '';
like($summary, qr/^installed\s+PASS$/m, 'its summary: installed PASS') or diag $summary;
my ($tap) = $out =~ /^(1\.\.\d+)$/m;
ok($tap && $out =~ /^Result: PASS$/m, "debian/tests/installed ran t/deb/installed.t ($tap)")
    or diag $out;
unlike($out, qr/^not ok/m, '... with no failing check');

PGInstalled::purge();

done_testing;
