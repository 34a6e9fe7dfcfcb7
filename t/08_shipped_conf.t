#!/usr/bin/perl
# The files operators install: conf/proxyguard.load and conf/proxyguard.conf
# (a2enmod layout) load and work as shipped; every registered directive is
# documented in docs/directives.md.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $top = $PGTest::TOP;
my $so = PGTest::module_so();

# The .load file, pointed at the freshly built module instead of
# /usr/lib/apache2/modules.
open my $fh, '<', "$top/conf/proxyguard.load" or die $!;
my $load = do { local $/; <$fh> };
like($load, qr{^LoadModule proxyguard_module /usr/lib/apache2/modules/mod_proxyguard\.so$}m,
     'proxyguard.load loads the module from Debian\'s module directory');
$load =~ s{/usr/lib/apache2/modules/mod_proxyguard\.so}{$so};

my $srv = PGTest->new(name => 'shipped', load_module => 0, conf => sub {
    my ($s) = @_;
    $s->write_file('mods-enabled/proxyguard.load', $load);
    return "Define APACHE_LOG_DIR $s->{dir}/logs\n"
         . "Include $s->{dir}/mods-enabled/proxyguard.load\n"
         . "Include $top/conf/proxyguard.conf\n"
         . $s->standard_vhosts;
});
my ($rc, $out) = $srv->configtest;
is($rc, 0, 'shipped .load + .conf: apache2 -t succeeds') or diag $out;
$srv->start;
# stock httpd answers CONNECT 405 too: the module's own trace proves it was it
my $mark = $srv->log_mark('logs/error_log');
is($srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n")->{status}, 405,
   'shipped config: CONNECT 405');
my @lines = $srv->log_since('logs/error_log', $mark) =~ /(PG0001: action=deny reason=connect .*)/g;
is(scalar @lines, 1, 'shipped config: ... logged once by the module (PG0001 reason=connect)');
like($srv->slurp('logs/access_log'), qr/"CONNECT 59\.124\.98\.13:25 HTTP\/1\.0" 405 pg=connect\/deny/,
     'shipped config: ... and PROXYGUARD set for the access log');
is($srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: x\r\n\r\n")->{status}, 403,
   'shipped config: foreign absolute URI 403');
is($srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n")->{status}, 200,
   'shipped config: our site served');
my $status = $srv->status('json');
is($status->{status}, 200, 'shipped config: /proxyguard-status answers (Require local)');
is($status->{json}{total}, 2, 'shipped config: ... and has counted the two hits');
$srv->stop;

# Every directive the module registers has its section in the reference.
open $fh, '<', "$top/mod_proxyguard_config.c" or die $!;
my @directives = do { local $/; <$fh> } =~ /AP_INIT_\w+\("(\w+)"/g;
is(scalar @directives, 14, 'found the directive table: the 14 directives') or diag "@directives";
open $fh, '<', "$top/docs/directives.md" or die "docs/directives.md: $!";
my $doc = do { local $/; <$fh> };
my %section = map { /^(\w+)\n/ ? ($1 => $_) : () } split /^## /m, $doc;
for my $d (@directives) {
    my $text = $section{$d} // '';
    ok($text ne '', "docs/directives.md has a section for $d");
    for my $field (qw(Description Syntax Default Context Override Status Module Compatibility)) {
        like($text, qr/^\| $field \|/m, "$d: $field");
    }
    like($text, qr/^```apache\n.*\b$d\b/ms, "$d: an example");
}

done_testing;
