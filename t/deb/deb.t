#!/usr/bin/perl
# The Debian package, as an operator meets it (make test-deb; in CI): dpkg -i
# the freshly built libapache2-mod-proxyguard, a2enmod proxyguard,
# apache2ctl -t on the system configuration, a private httpd on loopback
# that uses the installed files (the system apache2 stays stopped), a probe
# rejected, then a2dismod, dpkg --purge, and nothing left behind.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use Test::More;
use PGTest;

if ($> != 0) {
    # make test-deb runs as root (it installs packages); a run that cannot
    # install must not pass as a skip where the tools are required
    BAIL_OUT('installs a package: root only') if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => 'installs a package: root only';
}
my ($deb) = glob("$PGTest::TOP/build/deb/libapache2-mod-proxyguard_*_*.deb");
ok($deb && -f $deb, 'the package was built (make deb)') or BAIL_OUT('no package');

my $pkg = 'libapache2-mod-proxyguard';
my @files = qw(/usr/lib/apache2/modules/mod_proxyguard.so
               /etc/apache2/mods-available/proxyguard.load
               /etc/apache2/mods-available/proxyguard.conf
               /etc/fail2ban/filter.d/apache-proxyguard.conf
               /etc/fail2ban/jail.d/apache-proxyguard.conf
               /usr/share/doc/libapache2-mod-proxyguard/README.md.gz
               /usr/bin/proxyguard
               /usr/share/man/man1/proxyguard.1.gz
               /usr/share/man/man1/proxyguard-probe.1.gz
               /usr/share/man/man1/proxyguard-scan.1.gz);
my @enabled = qw(/etc/apache2/mods-enabled/proxyguard.load
                 /etc/apache2/mods-enabled/proxyguard.conf);

sub run { my $out = `@_ 2>&1`; return ($? >> 8, $out) }

# from a clean slate
run("dpkg --purge $pkg");

my ($rc, $out) = run("dpkg -i '$deb'");
is($rc, 0, 'dpkg -i installs it') or diag $out;
ok(-e $_, "installed: $_") for @files;
ok(!-e $_, "not enabled by installing: $_") for @enabled;

($rc, $out) = run('a2enmod proxyguard');
is($rc, 0, 'a2enmod proxyguard') or diag $out;
ok(-l $_, "enabled: $_") for @enabled;
($rc, $out) = run('apache2ctl -t');
is($rc, 0, 'apache2ctl -t accepts the system configuration with the module') or diag $out;
like($out, qr/Syntax OK/, '... Syntax OK');

# A private httpd on loopback from the installed, enabled files.
my $srv = PGTest->new(name => 'deb', load_module => 0, conf => sub {
    "Define APACHE_LOG_DIR $_[0]{dir}/logs\n"
    . "Include /etc/apache2/mods-enabled/proxyguard.load\n"
    . "Include /etc/apache2/mods-enabled/proxyguard.conf\n"
    . $_[0]->standard_vhosts;
});
$srv->start;
# stock httpd answers CONNECT 405 too: the module's own trace proves it was it
my $mark = $srv->log_mark('logs/error_log');
is($srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n")->{status}, 405,
   'the installed module rejects CONNECT (405)');
my @lines = $srv->log_since('logs/error_log', $mark) =~ /(PG0001: action=deny reason=connect .*)/g;
is(scalar @lines, 1, '... logged once by the installed module (PG0001 reason=connect)');
like($srv->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/1\.0" 405 pg=connect\/deny/,
     '... and PROXYGUARD set for the access log');
is($srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n")->{status}, 403,
   'and a foreign absolute URI (403)');
is($srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")->{status}, 200, 'the site is served');
my $status = $srv->status('json');
is($status->{json}{total}, 2, 'the installed status page (Require local) counted both');
# the installed program, against the installed module
($rc, $out) = run('proxyguard --version');
my ($version) = `cat '$PGTest::TOP/pg_version.h'` =~ /PG_VERSION "([^"]+)"/;
is($out, "proxyguard $version\n", 'the installed proxyguard says its version');
($rc, $out) = run('proxyguard probe --status http://127.0.0.1:' . $srv->port
                  . '/proxyguard-status http://127.0.0.1:' . $srv->port . '/');
is($rc, 0, 'the installed proxyguard probe finds no open proxy (exit 0, OK)') or diag $out;
like($out, qr/^OK - not an open proxy/m, '... and says so');
($rc, $out) = run('man -w proxyguard');
like($out, qr{/usr/share/man/man1/proxyguard\.1\.gz}, 'man proxyguard finds the installed page');
$srv->stop;
my $maps_note = 'the module came from /usr/lib/apache2/modules';
like(do { local (@ARGV, $/) = '/etc/apache2/mods-enabled/proxyguard.load'; <> },
     qr{LoadModule proxyguard_module /usr/lib/apache2/modules/mod_proxyguard\.so}, $maps_note);

($rc, $out) = run('a2dismod proxyguard');
is($rc, 0, 'a2dismod proxyguard') or diag $out;
ok(!-e $_, "disabled: $_") for @enabled;

($rc, $out) = run("dpkg --purge $pkg");
is($rc, 0, 'dpkg --purge') or diag $out;
ok(!-e $_, "nothing left: $_") for @files, '/usr/share/doc/libapache2-mod-proxyguard';
($rc, $out) = run("dpkg-query -W -f='\${Status}' $pkg");
unlike($out, qr/installed/, 'dpkg no longer lists it as installed');

done_testing;
