package PGInstalled;

# The installed libapache2-mod-proxyguard, as an operator meets it: its
# files in place (the integration files as examples, without the CrowdSec
# hub tests), nothing enabled by installing it, a2enmod proxyguard,
# apache2ctl -t on the system configuration, a private httpd on loopback
# from the installed, enabled files (the system apache2 stays stopped)
# rejecting CONNECT and a foreign absolute URI, the installed proxyguard
# probe against it, man pages, then a2dismod.  One list of checks for both
# runs: t/deb/deb.t (dpkg -i before, dpkg --purge after) and the
# autopkgtest debian/tests/installed (t/deb/installed.t; autopkgtest
# installed the package).

use strict;
use warnings;
use Test::More;
use PGTest;

our $PKG = 'libapache2-mod-proxyguard';
our $DOC = "/usr/share/doc/$PKG";

# What the package installs (purge must remove all of it again).
our @FILES = (qw(/usr/lib/apache2/modules/mod_proxyguard.so
                 /etc/apache2/mods-available/proxyguard.load
                 /etc/apache2/mods-available/proxyguard.conf
                 /etc/fail2ban/filter.d/apache-proxyguard.conf
                 /etc/fail2ban/jail.d/apache-proxyguard.conf
                 /usr/bin/proxyguard
                 /usr/share/man/man1/proxyguard.1.gz
                 /usr/share/man/man1/proxyguard-probe.1.gz
                 /usr/share/man/man1/proxyguard-scan.1.gz),
              "$DOC/README.md.gz", "$DOC/README.Debian.gz",
              # the integration files (conf/), as the issue's paths name them
              map { "$DOC/examples/$_" } qw(prometheus/proxyguard.rules.yml
                                            grafana/proxyguard.json
                                            icinga2/proxyguard.conf
                                            nagios/proxyguard.cfg
                                            lnav/proxyguard_log.json));
our @ENABLED = qw(/etc/apache2/mods-enabled/proxyguard.load
                  /etc/apache2/mods-enabled/proxyguard.conf);

sub run { my $out = `@_ 2>&1`; return ($? >> 8, $out) }

# For the tests that install the package: root, and the built .deb (make
# deb), from a clean slate.
sub built_deb {
    if ($> != 0) {
        # make test-deb runs as root (it installs packages); a run that
        # cannot install must not pass as a skip where the tools are required
        BAIL_OUT('installs a package: root only') if $ENV{PG_REQUIRE_TOOLS};
        plan skip_all => 'installs a package: root only';
    }
    my ($deb) = glob("$PGTest::TOP/build/deb/${PKG}_*_*.deb");
    ok($deb && -f $deb, 'the package was built (make deb)') or BAIL_OUT('no package');
    run("dpkg --purge $PKG");
    return $deb;
}

sub check {
    ok(-e $_, "installed: $_") for @FILES;
    ok(!-e $_, "not enabled by installing: $_") for @ENABLED;
    check_examples();

    my ($rc, $out) = run('a2enmod proxyguard');
    is($rc, 0, 'a2enmod proxyguard') or diag $out;
    ok(-l $_, "enabled: $_") for @ENABLED;
    ($rc, $out) = run('apache2ctl -t');
    is($rc, 0, 'apache2ctl -t accepts the system configuration with the module') or diag $out;
    like($out, qr/Syntax OK/, '... Syntax OK');

    check_httpd();

    ($rc, $out) = run('man -w proxyguard');
    like($out, qr{/usr/share/man/man1/proxyguard\.1\.gz}, 'man proxyguard finds the installed page');

    ($rc, $out) = run('a2dismod proxyguard');
    is($rc, 0, 'a2dismod proxyguard') or diag $out;
    ok(!-e $_, "disabled: $_") for @ENABLED;
}

# dpkg --purge, and nothing left behind.
sub purge {
    my ($rc, $out) = run("dpkg --purge $PKG");
    is($rc, 0, 'dpkg --purge') or diag $out;
    ok(!-e $_, "nothing left: $_") for @FILES, $DOC;
    ($rc, $out) = run("dpkg-query -W -f='\${Status}' $PKG");
    unlike($out, qr/installed/, 'dpkg no longer lists it as installed');
}

# The source tree's conf/ directories that debian/*.examples names,
# shipped unchanged, as regular files: less CrowdSec's hub tests (.tests/,
# see debian/rules) and the links of the tests' layouts (lnav's formats/).
sub check_examples {
    my $top = $PGTest::TOP;
    my @dirs = map { m{^conf/(\S+)$} ? $1 : () }
               do { local @ARGV = "$top/debian/$PKG.examples"; <> };
    is_deeply([ sort @dirs ], [qw(crowdsec grafana icinga2 lnav nagios prometheus)],
              "debian/$PKG.examples: the six integration directories");
    my @tree = map { chomp; $_ } `cd '$top/conf' && find @dirs -type f | sort`;
    my @hub = grep { m{(?:^|/)\.tests/} } @tree;
    my @want = grep { !m{(?:^|/)\.tests/} } @tree;
    ok(@hub && grep({ m{^crowdsec/} } @want), 'the source tree has the CrowdSec collection and its hub tests');
    for my $rel (@want) {
        ok(-f "$DOC/examples/$rel" && !system('cmp', '-s', "$top/conf/$rel", "$DOC/examples/$rel"),
           "example: $rel, as in conf/");
    }
    my @got = map { chomp; $_ } `cd '$DOC/examples' && find . ! -type d | sed 's|^\./||' | sort`;
    is_deeply(\@got, \@want, 'nothing else: no hub test, no link, nothing compressed')
        or diag explain \@got;
}

# A private httpd on loopback from the installed, enabled files.
sub check_httpd {
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
    my ($rc, $out) = run('/usr/bin/proxyguard --version');
    my ($version) = `cat '$PGTest::TOP/pg_version.h'` =~ /PG_VERSION "([^"]+)"/;
    is($out, "proxyguard $version\n", 'the installed proxyguard says its version');
    ($rc, $out) = run('/usr/bin/proxyguard probe --status http://127.0.0.1:' . $srv->port
                      . '/proxyguard-status http://127.0.0.1:' . $srv->port . '/');
    is($rc, 0, 'the installed proxyguard probe finds no open proxy (exit 0, OK)') or diag $out;
    like($out, qr/^OK - not an open proxy/m, '... and says so');
    $srv->stop;
    like(do { local (@ARGV, $/) = '/etc/apache2/mods-enabled/proxyguard.load'; <> },
         qr{LoadModule proxyguard_module /usr/lib/apache2/modules/mod_proxyguard\.so},
         'the module came from /usr/lib/apache2/modules');
}

1;
