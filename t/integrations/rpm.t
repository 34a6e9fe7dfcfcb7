#!/usr/bin/perl
# rpm/mod_proxyguard.spec under rpm's own tools, on this Debian machine:
# rpm/build.sh (a git archive tarball, rpmbuild -ba --nodeps with the apxs
# path and httpd-mmn of this host) builds the source and binary RPMs, %check
# (the unit tests) included; rpmlint on the spec and both packages prints
# nothing but the lines explained below, each there only because this is a
# Debian host; rpm -qlp / -qp --requires show the files, the config files
# (noreplace) and the httpd-mmn requirement; and the module, the settings
# and the program taken out of the binary RPM run: a private httpd on
# loopback loads the RPM's conf.modules.d/10-proxyguard.conf (its relative
# LoadModule path) and conf.d/proxyguard.conf, rejects CONNECT, and the
# RPM's proxyguard probes it.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;

PGScan::need_tool(@$_) for [qw(rpmbuild rpm)], [qw(rpmlint rpmlint)], [qw(cpio cpio)],
                           [qw(git git)];
my $top = $PGTest::TOP;
my ($version) = `cat '$top/pg_version.h'` =~ /PG_VERSION "([^"]+)"/;
my $arch = `rpm --eval '%{_arch}'`;
chomp $arch;
my $tmp = tempdir('pgt-rpm-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PG_KEEP});

sub run { my $out = `@_ 2>&1`; return ($? >> 8, $out) }

# ---- rpmbuild
my ($rc, $out) = run("'$top/rpm/build.sh' -ba '$tmp/rpmbuild'");
is($rc, 0, 'rpm/build.sh: rpmbuild -ba --nodeps builds the spec') or diag $out;
my ($rpm) = $out =~ m{^(\S+/RPMS/\Q$arch\E/mod_proxyguard-\Q$version\E-1\.\Q$arch\E\.rpm)$}m;
my ($srpm) = $out =~ m{^(\S+/SRPMS/mod_proxyguard-\Q$version\E-1\.src\.rpm)$}m;
ok($rpm && -f $rpm, "the binary RPM: mod_proxyguard-$version-1.$arch.rpm") or BAIL_OUT('no rpm');
ok($srpm && -f $srpm, "the source RPM: mod_proxyguard-$version-1.src.rpm") or BAIL_OUT('no srpm');
my $log = do { local (@ARGV, $/) = "$tmp/rpmbuild/rpmbuild.log"; <> };
like($log, qr/^Executing\(%check\)/m, '%check ran');
my @unit = $log =~ /^(1\.\.\d+)$/mg;
ok(@unit == 2 && $log !~ /^not ok/m, "... both unit tests passed (@unit)");

# ---- rpmlint
# Each line here exists only because of this host; everything else fails.
my @host = (
    [ qr/^mod_proxyguard\.(?:$arch|src): E: (?:no-signature|no-packager-tag|no-group-tag)$/,
      'Fedora\'s rpmlint configuration filters these (Koji signs and sets Packager; '
      . 'Group is obsolete); Debian\'s rpmlint reads only its defaults' ],
    [ qr/^mod_proxyguard\.spec: W: no-buildroot-tag$/,
      'the same for BuildRoot, which rpm >= 4.6 ignores (the spec, and the spec in the SRPM)' ],
    [ qr/^mod_proxyguard\.(?:$arch|src): W: invalid-license Apache-2\.0$/,
      'Debian\'s rpmlint has an empty ValidLicenses list; Fedora\'s license data lists '
      . 'the SPDX name Apache-2.0' ],
    [ qr{^mod_proxyguard\.\Q$arch\E: W: unstripped-binary-or-object (?:/usr/bin/proxyguard|/usr/lib64/httpd/modules/mod_proxyguard\.so)$},
      'Debian\'s rpm builds no -debuginfo package (its macros never add %debug_package); '
      . 'Fedora\'s find-debuginfo strips both into one' ],
    [ qr{^mod_proxyguard\.\Q$arch\E: W: manpage-not-compressed bz2 /usr/share/man/man1/proxyguard(?:-probe|-scan)?\.1$},
      'Debian\'s brp-compress uses bash\'s read -d under #!/bin/sh (dash) and compresses '
      . 'nothing; Fedora gzips man pages, and its rpmlint expects gz, not bz2' ],
    [ qr/^mod_proxyguard\.\Q$arch\E: W: no-manual-page-for-binary proxyguard$/,
      'rpmlint 2.4.0 records a man page\'s section ("1"), not its name (fixed upstream '
      . 'since); proxyguard.1 is in the package (checked below)' ],
);
sub rpmlint_lines {
    my ($rc, $out) = run("cd '$tmp' && rpmlint @_");
    return ($out, [ grep { /^\S+: [EWI]: / } split /\n/, $out ]);
}
my ($lint, $lines) = rpmlint_lines("'$top/rpm/mod_proxyguard.spec'", "'$srpm'", "'$rpm'");
like($lint, qr/^ 2 packages and 1 specfiles checked;/m, 'rpmlint checked the spec and both packages')
    or diag $lint;
my (@unexplained, %why);
for my $line (@$lines) {
    my ($entry) = grep { $line =~ $_->[0] } @host;
    if ($entry) { push @{ $why{ $entry->[1] } }, $line } else { push @unexplained, $line }
}
is_deeply(\@unexplained, [], 'rpmlint: nothing but the Debian host\'s lines') or diag $lint;
note("$_:\n  " . join("\n  ", @{ $why{$_} })) for sort keys %why;
# the control: a spec that writes into the buildroot in %build
my $bad = do { local (@ARGV, $/) = "$top/rpm/mod_proxyguard.spec"; <> };
$bad =~ s/^(%build\n)/$1touch \$RPM_BUILD_ROOT\/x\n/m or die 'no %build';
mkdir "$tmp/bad" or die "$tmp/bad: $!";
open my $fh, '>', "$tmp/bad/mod_proxyguard.spec" or die "$tmp/bad: $!";
print $fh $bad;
close $fh;
(undef, $lines) = rpmlint_lines("'$tmp/bad/mod_proxyguard.spec'");
ok((grep { /: E: rpm-buildroot-usage %build / } @$lines)
   && (grep { my $l = $_; !grep { $l =~ $_->[0] } @host } @$lines),
   'control: rpmlint reports a spec that writes $RPM_BUILD_ROOT in %build, unexplained');

# ---- the packages' metadata
is(`rpm -qp --qf '%{NAME} %{VERSION} %{RELEASE} %{LICENSE} %{ARCH}' '$rpm'`,
   "mod_proxyguard $version 1 Apache-2.0 $arch", 'name, version, release, licence, arch');
my %req = map { chomp; ($_ => 1) } `rpm -qp --requires '$rpm'`;
my ($mmn) = grep { /^httpd-mmn = / } keys %req;
my ($major) = `cat "\$(apxs -q INCLUDEDIR)/ap_mmn.h"` =~ /^#define MODULE_MAGIC_NUMBER_MAJOR (\d+)$/m;
is($mmn, "httpd-mmn = ${major}x8664",
   'Requires: httpd-mmn = this httpd\'s module magic number, in Fedora\'s form');
ok($req{$_}, "Requires (found by rpm): $_")
    for 'libapr-1.so.0()(64bit)', 'libnghttp2.so.14()(64bit)', 'libz.so.1()(64bit)';
my %breq = map { chomp; s/\s.*//r => 1 } `rpm -qp --requires '$srpm'`;
ok($breq{$_}, "BuildRequires: $_")
    for qw(gcc make httpd-devel apr-devel apr-util-devel pkgconfig(libnghttp2) pkgconfig(zlib));

my (%flags, %mode);
for (`rpm -qp --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILENAMES}\n]' '$rpm'`) {
    /^(\S*) (\S+) (\S+)$/ or next;
    ($flags{$3}, $mode{$3}) = ($1, $2);
}
my @config = qw(/etc/httpd/conf.modules.d/10-proxyguard.conf /etc/httpd/conf.d/proxyguard.conf
                /etc/fail2ban/filter.d/apache-proxyguard.conf
                /etc/fail2ban/jail.d/apache-proxyguard.conf);
like($flags{$_} // 'absent', qr/^(?=.*c)(?=.*n)/, "%config(noreplace): $_") for @config;
my $doc = "/usr/share/doc/mod_proxyguard-$version";
for my $file (qw(/usr/lib64/httpd/modules/mod_proxyguard.so /usr/bin/proxyguard),
              "/usr/share/licenses/mod_proxyguard-$version/LICENSE", "$doc/README.md",
              "$doc/guide.md",
              map { "$doc/examples/$_" } qw(prometheus/proxyguard.rules.yml grafana/proxyguard.json
                                            icinga2/proxyguard.conf nagios/proxyguard.cfg
                                            lnav/proxyguard_log.json)) {
    ok(defined $flags{$file} && $flags{$file} !~ /c/, "packaged: $file");
}
ok(exists $flags{"/usr/share/man/man1/$_.1"} || exists $flags{"/usr/share/man/man1/$_.1.gz"},
   "packaged: the man page $_.1") for qw(proxyguard proxyguard-probe proxyguard-scan);
ok((grep { m{^\Q$doc\E/examples/crowdsec/(?!\.tests/)} } keys %flags), 'packaged: the CrowdSec collection');
ok(!(grep { m{/\.tests(?:/|$)} } keys %flags), '... without its hub tests');
is_deeply([ grep { m{^\Q$doc\E/examples/} && $mode{$_} !~ /^d/ && ($mode{$_} !~ /^-/ || $flags{$_} !~ /d/) }
            sort keys %flags ], [],
          'every example is a %doc file (no link of the tests\' layouts: lnav\'s formats/)');
ok(exists $flags{"/etc/fail2ban/$_"}, "co-owned directory (fail2ban is only Suggested): /etc/fail2ban/$_")
    for 'filter.d', 'jail.d';
ok(!(grep { m{^/(?:usr/lib/apache2|etc/apache2)/} } keys %flags), 'no Debian path in the RPM');

# ---- what the RPM installs, at work
my $root = "$tmp/root";
mkdir $root or die "$root: $!";
system("cd '$root' && rpm2cpio '$rpm' | cpio -idm --quiet") == 0 or die "rpm2cpio: $?";
chmod 0755, $tmp, $root;
is(do { local (@ARGV, $/) = "$root/etc/httpd/conf.modules.d/10-proxyguard.conf"; <> }
   =~ s/^#.*\n//mgr, "LoadModule proxyguard_module modules/mod_proxyguard.so\n",
   'conf.modules.d/10-proxyguard.conf: the LoadModule line, relative to ServerRoot');
my $settings = do { local (@ARGV, $/) = "$root/etc/httpd/conf.d/proxyguard.conf"; <> };
unlike($settings, qr/APACHE_LOG_DIR|Debian|apache2/, 'conf.d/proxyguard.conf: no Debian path or variable');
like($settings, qr{^    #CustomLog logs/proxyguard\.log combined env=PROXYGUARD$}m,
     '... the abuse log in httpd\'s logs/');

# the RPM's own module, not this tree's (nor, under PG_ASAN, its ASan build)
my $srv = PGTest->new(name => 'rpm', load_module => 0, packaged_module => 1, conf => sub {
    "Include $root/etc/httpd/conf.modules.d/10-proxyguard.conf\n"
    . "Include $root/etc/httpd/conf.d/proxyguard.conf\n"
    . $_[0]->standard_vhosts;
});
symlink("$root/usr/lib64/httpd/modules", $srv->dir . '/modules') or die "symlink: $!";
$srv->start;
my $mark = $srv->log_mark('logs/error_log');
is($srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n")->{status}, 405,
   'the RPM\'s module, loaded by its own LoadModule line, rejects CONNECT (405)');
like($srv->log_since('logs/error_log', $mark), qr/PG0001: action=deny reason=connect /,
     '... and logs it (PG0001)');
is($srv->status('json')->{json}{total}, 1, 'the RPM\'s status page (conf.d/proxyguard.conf) counted it');
my $prog = "$root/usr/bin/proxyguard";
is(`'$prog' --version`, "proxyguard $version\n", 'the RPM\'s proxyguard says its version');
($rc, $out) = run("'$prog' probe --status http://127.0.0.1:" . $srv->port
                  . '/proxyguard-status http://127.0.0.1:' . $srv->port . '/');
is($rc, 0, '... and its probe finds no open proxy (exit 0)') or diag $out;
$srv->stop;

done_testing;
