#!/usr/bin/perl
# The installed package's checks alone (t/deb/PGInstalled.pm), for the
# autopkgtest (debian/tests/installed): autopkgtest installed the package,
# and removes nothing; t/deb/deb.t runs the same checks between its own
# dpkg -i and dpkg --purge.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib", $FindBin::Bin;
use Test::More;
use PGInstalled;

BAIL_OUT('a2enmod and the private httpd as in production: root only') if $> != 0;
my $status = `dpkg-query -W -f='\${Status}' $PGInstalled::PKG 2>/dev/null`;
like($status, qr/install ok installed/, "$PGInstalled::PKG is installed")
    or BAIL_OUT('the package is not installed');

PGInstalled::check();

done_testing;
