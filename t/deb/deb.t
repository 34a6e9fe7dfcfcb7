#!/usr/bin/perl
# The Debian package, as an operator meets it (make test-deb; in CI): dpkg -i
# the freshly built libapache2-mod-proxyguard, the installed package's
# checks (t/deb/PGInstalled.pm, shared with the autopkgtest: a2enmod, a
# private httpd on loopback from the installed files, a probe, a2dismod),
# then dpkg --purge, and nothing left behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use Test::More;
use PGTest;
use PGInstalled;

my $deb = PGInstalled::built_deb();
my ($rc, $out) = PGInstalled::run("dpkg -i '$deb'");
is($rc, 0, 'dpkg -i installs it') or diag $out;
PGInstalled::check();
PGInstalled::purge();

done_testing;
