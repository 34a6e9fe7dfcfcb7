#!/usr/bin/perl
# A bad directive argument stops `apache2 -t` with a message naming the
# directive and the value; good ones pass.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

sub configtest {
    my ($text) = @_;
    my $srv = PGTest->new(name => 'config', conf => sub { $text });
    return $srv->configtest;
}

my ($rc, $out) = configtest(<<"OK");
LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so
ProxyGuard detectonly
ProxyGuardUnknownHost DENY
ProxyGuardAllowHost www.example.com *.example.net 192.0.2.1 2001:db8::1 [2001:db8::2] trailing.dot.
ProxyGuardTableSize 16
ProxyGuardProxyClients 127.0.0.1 10.0.0.0/8 2001:db8::/32 ::1
ProxyGuardConnectPorts 443 8443
ProxyGuardBan 10 60 3600
ProxyGuardBanExempt 192.0.2.0/24 ::1
ProxyGuardLogLimit 0 60
<VirtualHost *:80>
    ServerName v.test
    ProxyGuard Off
    ProxyGuardUnknownHost Allow
    ProxyGuardAllowHost other.test
</VirtualHost>
OK
is($rc, 0, 'valid directives (any case): apache2 -t succeeds') or diag $out;
like($out, qr/Syntax OK/, 'valid directives: Syntax OK');

my @bad = (
    [ 'ProxyGuard Maybe',
      qr/ProxyGuard: invalid value 'Maybe' \(expected On, Off or DetectOnly\)/ ],
    [ 'ProxyGuardUnknownHost Block',
      qr/ProxyGuardUnknownHost: invalid value 'Block' \(expected Allow, Detect or Deny\)/ ],
    [ 'ProxyGuardAllowHost good.test bad/name',
      qr/ProxyGuardAllowHost: 'bad\/name' is not a host name: give the name alone, without scheme, userinfo or path/ ],
    [ 'ProxyGuardAllowHost http://x',
      qr/ProxyGuardAllowHost: 'http:\/\/x' is not a host name: give the name alone, without scheme/ ],
    [ 'ProxyGuardAllowHost *',
      qr/ProxyGuardAllowHost: '\*' is not a host name/ ],
    [ 'ProxyGuardAllowHost a*b.test',
      qr/ProxyGuardAllowHost: 'a\*b\.test' is not a host name/ ],
    [ 'ProxyGuardAllowHost *.',
      qr/ProxyGuardAllowHost: '\*\.' is not/ ],
    [ 'ProxyGuardAllowHost 10.0.0.0/8',
      qr/ProxyGuardAllowHost: '10\.0\.0\.0\/8' is not a host name/ ],
    [ 'ProxyGuardAllowHost 2001:db8::zz',
      qr/ProxyGuardAllowHost: '2001:db8::zz' is not a valid IPv6 address/ ],
    [ 'ProxyGuardAllowHost',
      qr/ProxyGuardAllowHost requires at least one argument/ ],
    [ 'ProxyGuard On Off',
      qr/ProxyGuard takes one argument/ ],
    [ 'ProxyGuardProxyClients 10.0.0.0/33',
      qr/ProxyGuardProxyClients: '10\.0\.0\.0\/33' is not an IP address or CIDR range/ ],
    [ 'ProxyGuardProxyClients proxy.example.com',
      qr/ProxyGuardProxyClients: 'proxy\.example\.com' is not a whole IP address/ ],
    [ 'ProxyGuardProxyClients 10',
      qr/ProxyGuardProxyClients: '10' is not a whole IP address \(write a network as 10\.0\.0\.0\/8/ ],
    [ 'ProxyGuardProxyClients 192.168/16',
      qr/ProxyGuardProxyClients: '192\.168\/16' is not a whole IP address/ ],
    [ 'ProxyGuardBanExempt 10.1',
      qr/ProxyGuardBanExempt: '10\.1' is not a whole IP address/ ],
    [ 'ProxyGuardConnectPorts 443 0',
      qr/ProxyGuardConnectPorts: '0' is not a port from 1 to 65535/ ],
    [ 'ProxyGuardConnectPorts https',
      qr/ProxyGuardConnectPorts: 'https' is not a port from 1 to 65535/ ],
    [ 'ProxyGuardConnectPorts 65536',
      qr/ProxyGuardConnectPorts: '65536' is not a port from 1 to 65535/ ],
    [ 'ProxyGuardProxyPorts 80 1024-',
      qr/ProxyGuardProxyPorts: '1024-' is not a port \(1-65535\) or a range of ports \(low-high\)/ ],
    [ 'ProxyGuardProxyPorts 9000-8000',
      qr/ProxyGuardProxyPorts: '9000-8000' is a range whose low end is above its high end/ ],
    [ 'ProxyGuardBan 10 60',
      qr/ProxyGuardBan takes three arguments/ ],
    [ 'ProxyGuardBan 0 60 3600',
      qr/ProxyGuardBan: '0' is not a number from 1 to 1000000/ ],
    [ 'ProxyGuardBan 10 1m 3600',
      qr/ProxyGuardBan: '1m' is not a number from 1 to 2592000/ ],
    [ 'ProxyGuardBanExempt 192.0.2.0/99',
      qr/ProxyGuardBanExempt: '192\.0\.2\.0\/99' is not an IP address or CIDR range/ ],
    [ "<VirtualHost *:80>\n    ServerName x.test\n    ProxyGuardBan 10 60 60\n</VirtualHost>",
      qr/ProxyGuardBan cannot occur within <VirtualHost> section/ ],
    [ "ProxyGuardBan 10 60 60\nProxyGuardBanCache nosuchcache:1",
      qr/PG0012: ProxyGuardBanCache: no shared object cache provider 'nosuchcache'/ ],
    [ "ProxyGuardBan 10 60 60",
      qr/PG0012: ProxyGuardBanCache: no shared object cache provider 'shmcb' \(LoadModule mod_socache_shmcb\)/ ],
    [ "ProxyGuardBanCache nonexist",
      qr/PG0012: ProxyGuardBanCache: no shared object cache provider 'nonexist'/ ],
    [ 'ProxyGuardLogLimit 10 0',
      qr/ProxyGuardLogLimit: '0' is not a number from 1 to 86400/ ],
    [ 'ProxyGuardLogLimit ten 60',
      qr/ProxyGuardLogLimit: 'ten' is not a number from 0 to 1000000/ ],
    [ 'ProxyGuardTableSize 10',
      qr/ProxyGuardTableSize: '10' is not a number from 16 to 1048576/ ],
    [ 'ProxyGuardTableSize 4k',
      qr/ProxyGuardTableSize: '4k' is not a number from 16 to 1048576/ ],
    [ 'ProxyGuardTableSize 99999999999999999999',
      qr/ProxyGuardTableSize: '99999999999999999999' is not a number/ ],
    [ "<VirtualHost *:80>\n    ServerName x.test\n    ProxyGuardTableSize 64\n</VirtualHost>",
      qr/ProxyGuardTableSize cannot occur within <VirtualHost> section/ ],
    [ "<Directory />\n    ProxyGuard Off\n</Directory>",
      qr/ProxyGuard not allowed in <Directory> context/ ],
    [ "<VirtualHost *:80>\n    ServerName x.test\n    ProxyGuardUnknownHost Sometimes\n</VirtualHost>",
      qr/ProxyGuardUnknownHost: invalid value 'Sometimes'/ ],
);
for my $case (@bad) {
    my ($text, $want) = @$case;
    ($rc, $out) = configtest("$text\n");
    (my $name = $text) =~ s/\s+/ /g;
    isnt($rc, 0, "'$name': apache2 -t fails");
    like($out, $want, "'$name': the message names directive and value") or diag $out;
}

# Listing a mail port is allowed, and warned about at every start.
my $srv = PGTest->new(name => 'config-mail', conf => sub {
    "ProxyGuardProxyClients 127.0.0.1\nProxyGuardConnectPorts 443 587\n" . $_[0]->standard_vhosts;
});
$srv->start;
$srv->stop;
my @warnings = $srv->slurp('logs/error_log') =~ /(PG0005: .*)/g;
is(scalar @warnings, 1, 'ProxyGuardConnectPorts 587: one start-up warning, not one per vhost');
like($warnings[0] // '', qr/^PG0005: ProxyGuardConnectPorts in the main server allows the mail port 587/,
     '... naming where and which port');

# The same for the ports of proxy clients' absolute URIs, ranges included.
$srv = PGTest->new(name => 'config-mail-proxy', conf => sub {
    "ProxyGuardProxyClients 127.0.0.1
ProxyGuardProxyPorts 80 443
"
    . "<VirtualHost *:" . $_[0]->port . ">
    ServerName relay.test
"
    . "    ProxyGuardProxyPorts 1-1024
</VirtualHost>
";
});
$srv->start;
$srv->stop;
@warnings = $srv->slurp('logs/error_log') =~ /(PG0005: .*)/g;
is(scalar @warnings, 3, 'ProxyGuardProxyPorts 1-1024: a warning for each of 25, 465, 587');
like(join("\n", @warnings), qr/^PG0005: ProxyGuardProxyPorts in relay\.test \([^)]*\) allows the mail port 25:.*\n.*465.*\n.*587/,
     '... naming the vhost and each port');
unlike(join("\n", @warnings), qr/main server/, '... and none for the main server\'s 80 443');

done_testing;
