#!/usr/bin/perl
# Monitoring hosts kept out of bans (issue 18, 2): one remote
# `proxyguard probe` run (19 probes, most refused) is more than a low
# ProxyGuardBan threshold and the shipped jail's maxretry.
#
# - ProxyGuardBanExempt: a real probe run from an exempt address leaves no
#   ban (?json lists none, its next normal request is served); the same run
#   from an address not exempt is banned.
# - fail2ban's ignoreip: a real fail2ban server (private socket, pid file,
#   in-memory database, the dummy action writing to a file of this test)
#   runs the shipped filter and jail on the httpd's live error log, with
#   ignoreip set to the monitoring address and ignoreself off, so that
#   ignoreip alone keeps it out (fail2ban-regex does not apply ignoreip).
#   The monitoring address is never banned although its deny lines exceed
#   maxretry ("Ignore ... by ip" in fail2ban's log); a second address,
#   exempt in the module but not ignored by the jail, with the same run, is
#   banned by fail2ban.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(make_path);
use Test::More;
use Time::HiRes qw(time sleep);
use PGTest;
use PGProbe;

PGProbe::bin();
for my $tool (qw(fail2ban-server fail2ban-client)) {
    next if `command -v $tool 2>/dev/null`;
    fail("$tool is installed") if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => "$tool not installed (make test installs fail2ban)";
}
my $monitor = '127.0.0.60';     # exempt in the module, ignored by the jail
my $stranger = '127.0.0.61';    # neither
my $other = '127.0.0.62';       # exempt in the module only

my $srv = PGTest->new(name => 'monitoring', conf => sub {
    "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
    . "ProxyGuardBan 3 60 600\nProxyGuardBanExempt $monitor $other\n"
    . $_[0]->status_location . $_[0]->standard_vhosts;
});
$srv->start;
my $dir = $srv->dir;
my $url = 'http://127.0.0.1:' . $srv->port . '/';

# --- a real fail2ban server on the live error log -------------------------
my $cfg = "$dir/fail2ban";
make_path($cfg);
system('cp', '-r', '/etc/fail2ban/.', $cfg) == 0 or die 'copy /etc/fail2ban';
copy("$PGTest::TOP/conf/fail2ban/filter.d/apache-proxyguard.conf", "$cfg/filter.d/") or die $!;
copy("$PGTest::TOP/conf/fail2ban/jail.d/apache-proxyguard.conf", "$cfg/jail.d/") or die $!;
$srv->write_file('fail2ban/fail2ban.local', "[Definition]\nsocket = $dir/f2b.sock\n"
                 . "pidfile = $dir/f2b.pid\nlogtarget = $dir/f2b.log\ndbfile = :memory:\nloglevel = INFO\n");
$srv->write_file('fail2ban/jail.d/zz-test.local', "[DEFAULT]\nbanaction = dummy\nbanaction_allports = dummy\n"
                 . "[sshd]\nenabled = false\n"
                 . "[apache-proxyguard]\nenabled = true\nlogpath = $dir/logs/error_log\n"
                 . "ignoreself = false\nignoreip = $monitor\n"
                 . "action = dummy[target=\"$dir/f2b.dummy\"]\n");
my $f2b = "fail2ban-client -c '$cfg'";
my $out = `$f2b start 2>&1`;
is($? >> 8, 0, 'fail2ban server starts with the shipped jail, ignoreip set') or diag $out;
END { system("$f2b stop >/dev/null 2>&1") if $f2b }
like(`$f2b get apache-proxyguard ignoreip 2>&1`, qr/\Q$monitor\E/, 'the jail ignores the monitoring address');
like(`$f2b get apache-proxyguard maxretry 2>&1`, qr/^5$/m, 'the shipped maxretry (5)');

sub banned_by_module {
    my ($addr) = @_;
    return scalar grep { $_->{address} eq $addr } @{ $srv->json->{bans} || [] };
}
sub page { $srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n", from => $_[0])->{status} }
sub deny_lines {
    my ($addr) = @_;
    my @l = $srv->slurp('logs/error_log') =~ /\[client \Q$addr\E:\d+\] PG0001: action=deny/g;
    return scalar @l;
}

# --- the probe runs --------------------------------------------------------
for my $from ($monitor, $other) {
    my $r = PGProbe::run('--timeout', 3, '--json', '--source', $from, $url);
    is($r->{exit}, 0, "probe from $from (exempt): OK, every probe rejected") or PGProbe::show($r);
    ok(@{ $r->{json}{probes} || [] } >= 18, "probe from $from: the whole matrix ran ("
                                            . scalar(@{ $r->{json}{probes} || [] }) . ' probes)');
    ok(deny_lines($from) > 5, "probe from $from: more deny lines (" . deny_lines($from)
                              . ") than ProxyGuardBan's 3 and the jail's maxretry");
    ok(!banned_by_module($from), "probe from $from: no ban listed in ?json");
    is(page($from), 200, "probe from $from: its next normal request is served");
}
unlike($srv->slurp('logs/error_log'), qr/\[client \Q$monitor\E:\d+\] PG0010/, 'no ban start logged for the monitoring address');

my $r = PGProbe::run('--timeout', 3, '--json', '--source', $stranger, $url);
is($r->{exit}, 0, "probe from $stranger (not exempt): still OK, every probe rejected") or PGProbe::show($r);
ok(banned_by_module($stranger), "probe from $stranger: banned (listed in ?json)");
is(page($stranger), 403, "probe from $stranger: its next normal request is refused");
like($srv->slurp('logs/error_log'), qr/\[client \Q$stranger\E:\d+\] PG0010: ban start/, '... PG0010 logged');

# --- fail2ban: the other address banned, the monitoring one ignored --------
my $deadline = time + 30;
my $status = '';
until ($status =~ /Banned IP list:.*\Q$other\E/ || time > $deadline) {
    sleep 0.5;
    $status = `$f2b status apache-proxyguard 2>&1`;
}
like($status, qr/Banned IP list:.*\Q$other\E/, "fail2ban banned $other (module-exempt, not ignored)")
    or diag $status, $srv->slurp('f2b.log');
unlike($status, qr/Banned IP list:.*\Q$monitor\E/, "fail2ban did not ban $monitor (ignoreip)");
my $f2blog = $srv->slurp('f2b.log');
like($f2blog, qr/\[apache-proxyguard\] Ignore \Q$monitor\E by ip/, "fail2ban's log: $monitor ignored by ignoreip");
unlike($f2blog, qr/Ban \Q$monitor\E\b/, "fail2ban's log: no ban of $monitor");
my $dummy = $srv->slurp('f2b.dummy');
like($dummy, qr/^\+\Q$other\E$/m, "the ban action ran for $other");
unlike($dummy, qr/^\+\Q$monitor\E$/m, "the ban action never ran for $monitor");

system("$f2b stop >/dev/null 2>&1");
$f2b = undef;
$srv->stop;
done_testing;
