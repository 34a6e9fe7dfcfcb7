#!/usr/bin/perl
# The built Debian packages under lintian (make test-deb; in CI):
# `lintian --pedantic -I` on the .changes (the source package and both
# binary packages) prints nothing.  That the check can fail on the very
# thing it guards: the same .deb with a proxyguard built without the
# builder's flags gets hardening-no-bindnow and hardening-no-fortify-
# functions.  And dpkg-buildflags' CFLAGS reached both compilers, the
# module's through apxs -Wc, too (apxs adds hardening flags of its own,
# so lintian alone cannot tell): gcc recorded the compilation directory
# as "." (-ffile-prefix-map), never the build path, in the debug files.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;

PGScan::need_tool('lintian', 'lintian');
my $top = $PGTest::TOP;
my ($changes) = glob("$top/build/deb/libapache2-mod-proxyguard_*.changes");
ok($changes, 'the packages were built (make deb)') or BAIL_OUT('no .changes');
my ($version) = $changes =~ /_([^_]+)_[^_]+\.changes$/;

# lintian warns when run as root: run it as nobody, as it recommends
# (every file it reads is world-readable), ignoring any lintianrc.
sub lintian {
    my @cmd = ('lintian', '--no-cfg', '--pedantic', '-I', @_);
    unshift @cmd, qw(runuser -u nobody --) if $> == 0;
    my $out = `@cmd 2>&1`;
    return ($? >> 8, $out);
}

my $listed = do { local (@ARGV, $/) = $changes; <> };
for my $file ("libapache2-mod-proxyguard_$version.dsc",
              "libapache2-mod-proxyguard_${version}_amd64.deb",
              "libapache2-mod-proxyguard-dbgsym_${version}_amd64.deb") {
    like($listed, qr/ \Q$file\E$/m, "the .changes lists $file");
}
my ($rc, $out) = lintian($changes);
is($rc, 0, 'lintian --pedantic -I: exit 0');
is($out, '', '... and prints nothing (source, module, program, dbgsym)') or diag $out;

# Any override must say why (a comment line right above it).
my @overrides = grep { -e } glob("$top/debian/*lintian-overrides $top/debian/source/lintian-overrides");
for my $file (@overrides) {
    my @lines = do { local @ARGV = $file; <> };
    my @bare = grep { $lines[$_] !~ /^\s*(#|$)/ && ($_ == 0 || $lines[$_ - 1] !~ /^\s*#/) } 0 .. $#lines;
    is_deeply(\@bare, [], "$file: every override has a comment saying why");
}
ok(1, 'no lintian overrides') unless @overrides;

# The control: proxyguard without CFLAGS, CPPFLAGS and LDFLAGS, in a copy
# of the package.
my $tmp = tempdir('pgt-lintian-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $tmp;
my ($deb) = grep { !/dbgsym/ } glob("$top/build/deb/libapache2-mod-proxyguard_*.deb");
delete @ENV{qw(CFLAGS CPPFLAGS LDFLAGS DEB_BUILD_MAINT_OPTIONS MAKEFLAGS MFLAGS)};
my $plain = "$tmp/proxyguard";
my $build = `make -s -C '$top' CLI='$plain' '$plain' 2>&1`;
is($?, 0, 'proxyguard built without the builder\'s flags') or diag $build;
system('dpkg-deb', '-R', $deb, "$tmp/pkg") == 0 or die "dpkg-deb -R: $?";
system('cp', $plain, "$tmp/pkg/usr/bin/proxyguard") == 0 or die "cp: $?";
system("cd '$tmp/pkg' && find usr -type f -print0 | xargs -0 md5sum > DEBIAN/md5sums") == 0
    or die "md5sums: $?";
system("dpkg-deb -b '$tmp/pkg' '$tmp/plain.deb' >/dev/null") == 0 or die "dpkg-deb -b: $?";
chmod 0644, "$tmp/plain.deb";
($rc, $out) = lintian("$tmp/plain.deb");
like($out, qr{^I: libapache2-mod-proxyguard: hardening-no-bindnow \[usr/bin/proxyguard\]$}m,
     'control: without LDFLAGS, lintian reports hardening-no-bindnow');
like($out, qr{^I: libapache2-mod-proxyguard: hardening-no-fortify-functions \[usr/bin/proxyguard\]$}m,
     '... and without CPPFLAGS hardening-no-fortify-functions');

# The debug files: one per ELF file (the module, the program), each with
# the compilation directory mapped to "."; the plain build keeps the path.
sub line_strings {
    my ($elf) = @_;
    return [ map { /^\s*\[\s*[0-9a-f]+\]\s+(.*)$/ ? $1 : () }
             `readelf -z -p .debug_line_str '$elf' 2>/dev/null` ];
}
system('dpkg-deb', '-x', (glob("$top/build/deb/libapache2-mod-proxyguard-dbgsym_*.deb"))[0],
       "$tmp/dbg") == 0 or die "dpkg-deb -x: $?";
my @debug = sort glob("$tmp/dbg/usr/lib/debug/.build-id/*/*.debug");
is(scalar @debug, 2, 'two debug files: the module and the program');
my %what;
for my $file (@debug) {
    my $strings = line_strings($file);
    my $kind = (grep { $_ eq 'mod_proxyguard.c' } @$strings) ? 'module'
             : (grep { $_ eq 'cli/proxyguard.c' } @$strings) ? 'program' : 'unknown';
    $what{$kind}++;
    ok((grep { $_ eq '.' } @$strings) && !(grep { index($_, $top) == 0 } @$strings),
       "$kind: compiled with dpkg-buildflags' CFLAGS (compilation directory \".\", not $top)");
}
is_deeply(\%what, { module => 1, program => 1 }, '... one for each');
ok(grep({ index($_, $top) == 0 } @{ line_strings($plain) }),
   'control: the plain build records the build path');

done_testing;
