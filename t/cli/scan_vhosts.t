#!/usr/bin/perl
# Whose names are ours: --host patterns, `apachectl -S` output (saved in a
# file, or run: apache2 -f CONF -S, or $APACHE2CTL -S), and with %v in the
# format each line judged by the names of its own vhost, on its port.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGTest;
use PGScan;

my $dir = tempdir('pgscan-vhosts-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $saved = "$FindBin::Bin/scan/vhosts.txt";
my $t = '[02/Aug/2009:17:54:40 +0800]';

# vhost:port, request, Host; then the reason with %v, and without it
my @cases = (
    [ 'www.example.com:80',  'GET / HTTP/1.1', 'example.com',        'none', 'none' ],
    [ 'www.example.com:80',  'GET / HTTP/1.1', 'Shop.Example.ORG',   'none', 'none' ],
    [ 'www.example.com:80',  'GET / HTTP/1.1', 'secure.example.com', 'unknown-host', 'none' ],
    [ 'www.example.com:443', 'GET / HTTP/1.1', 'secure.example.com', 'none', 'none' ],
    [ 'www.example.com:443', 'GET / HTTP/1.1', 'example.com',        'unknown-host', 'none' ],
    [ 'default.test:80',     'GET http://example.com/ HTTP/1.1', 'default.test', 'absolute-uri', 'none' ],
    [ 'www.example.com:80',  'GET http://example.com/ HTTP/1.1', 'example.com', 'none', 'none' ],
    [ 'www.example.com:80',  'GET https://secure.example.com/ HTTP/1.1', 'www.example.com', 'absolute-uri', 'none' ],
    [ 'www.example.com:443', 'GET https://www.example.com/ HTTP/1.1', 'www.example.com', 'none', 'none' ],
    # httpd prints no aliases for the only vhost of an address: --host
    [ 'other.test:8080',     'GET / HTTP/1.1', 'a.test',             'unknown-host', 'unknown-host' ],
    [ 'wild.test:8080',      'GET / HTTP/1.1', 'x.wild.test',        'unknown-host', 'unknown-host' ],
    # a vhost -S does not list (the main server): its %v is its own name
    [ 'localhost:80',        'GET / HTTP/1.1', 'localhost',          'none', 'unknown-host' ],
    [ 'www.example.com:80',  'GET / HTTP/1.1', 'evil.test',          'unknown-host', 'unknown-host' ],
    # %p is the canonical port (80 unless ServerName says otherwise); -S
    # knows wild.test listens on 8080 only: the URI's port is ours.  Without
    # %v and %p the port is --port's 80, and 8080 is another server.
    [ 'wild.test:80',        'GET http://wild.test:8080/ HTTP/1.1', 'wild.test', 'none', 'absolute-uri' ],
);
my $with_v = PGScan::spew("$dir/other_vhosts_access.log", join '', map {
    sprintf(qq{%s 192.0.2.%d - - $t "%s" 200 500 "%s"\n}, $_->[0], 1, $_->[1], $_->[2])
} @cases);
my $without_v = PGScan::spew("$dir/access.log", join '', map {
    sprintf(qq{192.0.2.%d - - $t "%s" 200 500 "%s"\n}, 1, $_->[1], $_->[2])
} @cases);
my $fmt_v = '%v:%p %h %l %u %t "%r" %>s %O "%{Host}i"';
my $fmt = '%h %l %u %t "%r" %>s %O "%{Host}i"';

sub reasons {
    my (@args) = @_;
    my ($rc, $out, $err) = PGScan::run([ 'scan', '--lines', @args ]);
    is($rc, 0, "scan --lines @args[0 .. 3]: exit 0") or diag $err;
    return [ map { (split /\t/)[1] } split /\n/, $out ];
}

my $got = reasons('--format', $fmt_v, '--vhosts-from', $saved, $with_v);
for my $i (0 .. $#cases) {
    is($got->[$i], $cases[$i][3], "with %v: $cases[$i][0] \"$cases[$i][1]\" Host $cases[$i][2]: $cases[$i][3]");
}
$got = reasons('--format', $fmt, '--vhosts-from', $saved, $without_v);
for my $i (0 .. $#cases) {
    is($got->[$i], $cases[$i][4], "without %v (any vhost's name): \"$cases[$i][1]\" Host $cases[$i][2]: $cases[$i][4]");
}

# --host: ours everywhere, wildcards as ServerAlias
$got = reasons('--format', $fmt_v, '--vhosts-from', $saved, '--host', 'a.test', '-H', '*.wild.test', $with_v);
is($got->[9], 'none', '--host a.test');
is($got->[10], 'none', '-H *.wild.test: a wildcard as in ServerAlias');
is($got->[12], 'unknown-host', 'evil.test is still foreign');
# --host alone, no -S
$got = reasons('--format', $fmt, '--host', 'www.example.com', '--host', '*.example.org', $without_v);
is_deeply([ @$got[0, 1] ], [ 'unknown-host', 'none' ], '--host alone: example.com is not ours, shop.example.org is');

my ($j) = PGScan::json('--format', $fmt_v, '--vhosts-from', $saved, $with_v);
is($j->{names}{vhosts}, 6, 'the saved -S output lists 6 vhost entries');
is($j->{names}{vhost_names}, 9, '... with 9 names (ServerNames, aliases, wild aliases)');
ok($j->{names}{per_vhost}, '... judged per vhost (%v)');

# --- httpd itself: apache2 -f CONF -S and $APACHE2CTL -S -------------------
my $srv = PGTest->new(name => 'scan-vhosts', conf => sub { $_[0]->standard_vhosts });
$srv->write_config;
my $port = $srv->port;
my $live = PGScan::spew("$dir/live.log", join '', map { "$_\n" }
    qq{default.test:$port 192.0.2.1 - - $t "GET http://shop.example.org/ HTTP/1.1" 200 5 "shop.example.org"},
    qq{www.example.com:$port 192.0.2.1 - - $t "GET http://shop.example.org/ HTTP/1.1" 200 5 "shop.example.org"},
    qq{www.example.com:$port 192.0.2.1 - - $t "GET / HTTP/1.1" 200 5 "example.com"});
$got = reasons('--format', $fmt_v, '--httpd-config', $srv->conf_path, $live);
is_deeply($got, [ 'absolute-uri', 'none', 'none' ],
          '--httpd-config: apache2 -f CONF -S gives each vhost its names');
my $wrapper = PGScan::spew("$dir/fake-apache2ctl", "#!/bin/sh\nexec apache2 -f '" . $srv->conf_path . "' \"\$@\"\n");
chmod 0755, $wrapper;
my ($rc, $out, $err) = PGScan::run([ 'scan', '--lines', '--format', $fmt_v, '-S', $live ],
                                   env => { APACHE2CTL => $wrapper });
is($rc, 0, '-S runs $APACHE2CTL -S') or diag $err;
is_deeply([ map { (split /\t/)[1] } split /\n/, $out ], [ 'absolute-uri', 'none', 'none' ],
          '-S: the same names');

# --- errors ------------------------------------------------------------------
($rc, $out, $err) = PGScan::run([ 'scan', '--httpd-config', "$dir/nonexistent.conf", $live ]);
is($rc, 3, '--httpd-config with a missing file: exit 3');
like($err, qr/^proxyguard: scan: apache2 -f \Q$dir\E\/nonexistent\.conf -S failed \(exit status \d+\): it must print httpd's vhosts$/m,
     '... saying that apache2 -S failed');
($rc, $out, $err) = PGScan::run([ 'scan', '-S', $live ], env => { APACHE2CTL => "$dir/no-such-apachectl" });
is($rc, 3, '-S with no apachectl: exit 3');
like($err, qr/^proxyguard: scan: could not run \Q$dir\E\/no-such-apachectl: No such file or directory$/m,
     '... saying it could not be run');
($rc, $out, $err) = PGScan::run([ 'scan', '--vhosts-from', "$dir/missing.txt", $live ]);
is($rc, 3, '--vhosts-from a missing file: exit 3');
like($err, qr/^proxyguard: scan: \Q$dir\E\/missing\.txt: No such file or directory$/m, '... naming it');
($rc, $out, $err) = PGScan::run([ 'scan', '--host', 'http://www.example.com/', $live ]);
is($rc, 2, '--host with a URL: usage error');
like($err, qr/^proxyguard: scan: not a host name: give the name alone/m, '... saying what a host is');

done_testing;
