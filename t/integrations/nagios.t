#!/usr/bin/perl
# conf/nagios/proxyguard.cfg, checked by the real NRPE and Nagios (Debian's
# nagios-nrpe-server, nagios-nrpe-plugin, nagios4-core), in directories of
# this test's own (nothing under /etc/nagios*, /var or /run is touched):
#   - its one setting, read as nrpe reads it: command[check_proxyguard],
#     with the plugin's -t equal to the Icinga file's;
#   - nrpe itself (it has no check mode: it logs a bad line and carries on,
#     "Continuing with errors") loads the file as shipped and defines the
#     command exactly, with no error in its debug log; a broken copy (a
#     Nagios definition put in it) is reported there;
#   - the command line, with the program's and the URL's paths put to this
#     build and to real httpds on loopback, run by a real nrpe and asked for
#     by check_nrpe as the file's Nagios command_line does: mod_proxyguard
#     OK (0), stock httpd WARNING (1), an open proxy CRITICAL (2), a server
#     that never answers UNKNOWN (3) from the plugin itself (its request's
#     5 s bound, inside -t 8), inside check_nrpe's default 10 s, the
#     plugin's line passed through;
#   - the Nagios definitions in its comments pass `nagios4 -v`; a broken
#     copy does not.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use File::Temp qw(tempdir);
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;
use PGProbe;
use PGMonitor;
use PGScan;

PGScan::need_tool('nrpe', 'nagios-nrpe-server');
PGScan::need_tool('nagios4', 'nagios4-core');
my $check_nrpe = '/usr/lib/nagios/plugins/check_nrpe';
if (!-x $check_nrpe) {
    fail("$check_nrpe is installed (nagios-nrpe-plugin)") if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => 'check_nrpe not installed (Debian package nagios-nrpe-plugin)';
}
my $top = $PGTest::TOP;
my $file = "$top/conf/nagios/proxyguard.cfg";
my $text = PGScan::slurp($file);
my @system = qw(/etc/nagios /etc/nagios4 /var/lib/nagios /var/lib/nagios4 /var/log/nagios4
                /var/cache/nagios4 /run/nagios /run/nagios4);
my $system_before = PGMonitor::snapshot(@system);

# --- the file, read as nrpe reads it: NAME=VALUE lines, '#' comments ---------
my @settings = grep { /\S/ && !/^\s*#/ } split /\n/, $text;
is(scalar @settings, 1, 'one setting in the file') or diag explain \@settings;
my ($name, $line) = ($settings[0] // '') =~ /^command\[([^\]]+)\]=(.*)$/;
is($name, 'check_proxyguard', 'it defines command[check_proxyguard]');
like($line, qr{^/usr/bin/proxyguard probe --plugin -t (\d+) http://127\.0\.0\.1/$},
     'the packages\' /usr/bin/proxyguard, probe --plugin, -t, the local URL');
my ($plugin_t) = $line =~ / -t (\d+) /;
my ($icinga_t) = PGScan::slurp("$top/conf/icinga2/proxyguard.conf") =~ /^\s*vars\.proxyguard_timeout = (\d+)$/m;
is($plugin_t, $icinga_t, "the plugin's -t ($plugin_t s) is the Icinga CheckCommand's");
unlike($line, qr/\$ARG/, 'no $ARGn$: dont_blame_nrpe can stay 0');

# a private nrpe: its own port and files, run as nagios (as the package's)
my $dir = tempdir('pgnrpe-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $bin = "$dir/proxyguard";        # where the nagios user can run it
copy(PGProbe::bin(), $bin) or die "copy: $!";
chmod 0755, $bin;
my $port = PGTest::free_port();

sub nrpe_conf {
    my (@includes) = @_;
    return join '', "log_file=$dir/nrpe.log\ndebug=1\npid_file=$dir/nrpe.pid\n",
        "server_address=127.0.0.1\nserver_port=$port\nallowed_hosts=127.0.0.1\n",
        "nrpe_user=nagios\nnrpe_group=nagios\ndont_blame_nrpe=0\n",
        "command_timeout=60\nconnection_timeout=300\n",
        map { "include=$_\n" } @includes;
}

# Starts nrpe in the foreground (-f) and waits until it listens: (pid, log).
sub nrpe_start {
    my ($conf) = @_;
    PGScan::spew("$dir/nrpe.cfg", $conf);
    unlink "$dir/nrpe.log";
    system('chown', '-R', 'nagios:nagios', $dir) == 0 or die "chown $dir";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/nrpe.out" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('nrpe', '-c', "$dir/nrpe.cfg", '-f') or die "exec nrpe: $!";
    }
    my $deadline = time + 10;
    until (PGScan::slurp("$dir/nrpe.log") =~ /Listening for connections on port $port/) {
        die "nrpe did not start:\n" . PGScan::slurp("$dir/nrpe.log") . PGScan::slurp("$dir/nrpe.out")
            if time > $deadline || waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    return ($pid, PGScan::slurp("$dir/nrpe.log"));
}

sub nrpe_stop {
    my ($pid) = @_;
    kill 'TERM', $pid;
    my $deadline = time + 10;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); fail('nrpe stopped on TERM'); last }
        sleep 0.05;
    }
}

# The errors nrpe's parser logs before it carries on.
my $nrpe_errors = qr/No variable (?:name|value) specified|Unknown option specified|Invalid command|Continuing with errors/;

# --- nrpe loads the file as shipped ---------------------------------------------
copy($file, "$dir/shipped.cfg") or die;
my ($pid, $log) = nrpe_start(nrpe_conf("$dir/shipped.cfg"));
like($log, qr/^\[\d+\] Added command\[check_proxyguard\]=\Q$line\E$/m, 'nrpe defines command[check_proxyguard] exactly as written');
unlike($log, $nrpe_errors, 'nrpe logs no error reading the file');
nrpe_stop($pid);
# a broken copy: a Nagios object definition uncommented into it
PGScan::spew("$dir/broken.cfg", $text =~ s/^# (define command \{)$/$1/mr);
($pid, $log) = nrpe_start(nrpe_conf("$dir/broken.cfg"));
like($log, $nrpe_errors, 'a broken copy (a live "define command {" line): nrpe logs the error');
nrpe_stop($pid);

# --- its command line, run by nrpe for check_nrpe --------------------------------
my $t = PGMonitor::targets();
my $derived = '';
for my $which (qw(ok warning critical unknown)) {
    my $cmd = $line;
    is($cmd =~ s{^/usr/bin/proxyguard }{$bin }, 1, "$which: the program's path put to this build");
    is($cmd =~ s{ http://127\.0\.0\.1/$}{ $t->{$which}{url}}, 1, "$which: the URL put to the target's");
    $derived .= "command[check_proxyguard_$which]=$cmd\n";
}
PGScan::spew("$dir/derived.cfg", $derived);
($pid, $log) = nrpe_start(nrpe_conf("$dir/derived.cfg"));
unlike($log, $nrpe_errors, 'nrpe reads the derived commands without an error');

# the Nagios side: the command_line of the file's define command
my @blocks = $text =~ /^# (define \w+ \{\n(?:#(?! \}).*\n)*)# \}\n/mg;
my $nagios_objects = join '', map { s/^# {0,1}//mgr . "}\n" } @blocks;
my ($command_line) = $nagios_objects =~ /^\s+command_line\s+(.+)$/m;
like($command_line, qr{^\Q$check_nrpe\E -H \$HOSTADDRESS\$ -c check_proxyguard -t (\d+):UNKNOWN$},
     "the Nagios command runs check_nrpe -c check_proxyguard");
my ($nrpe_t) = $command_line =~ / -t (\d+):/;
cmp_ok($nrpe_t, '>=', $plugin_t + 2, "check_nrpe's -t ($nrpe_t s) leaves the plugin's -t ($plugin_t s) time to report");

my %runs;
for my $which (qw(ok warning critical unknown)) {
    my $cl = $command_line =~ s/\$HOSTADDRESS\$/127.0.0.1/r =~ s/-c check_proxyguard/-c check_proxyguard_$which -p $port/r;
    $runs{$which} = spawn(split / /, $cl);
}
# and with check_nrpe's default timeout (10 s): the plugin's -t 8 fits it
$runs{'unknown, check_nrpe default -t'} = spawn($check_nrpe, '-H', '127.0.0.1', '-p', $port, '-c', 'check_proxyguard_unknown');
finish($_) for values %runs;
for my $which (qw(ok warning critical unknown)) {
    my $r = $runs{$which};
    is($r->{exit}, $t->{$which}{exit}, "check_nrpe, $which: exit $t->{$which}{exit}, the plugin's") or diag $r->{out};
    like($r->{out}, qr/\APROXYGUARD \U$which\E - .* \| probes=\d+ rejected=\d+ local=\d+ proxied=\d+ tunneled=\d+ suspect=\d+ error=\d+ time=[\d.]+s\n\z/,
         "check_nrpe, $which: the plugin's line and perfdata, passed through");
}
like($runs{critical}{out}, qr/OPEN PROXY for this client/, 'check_nrpe, critical: an open proxy, proven');
for my $which ('unknown', 'unknown, check_nrpe default -t') {
    my $r = $runs{$which};
    is($r->{exit}, 3, "check_nrpe, $which: UNKNOWN");
    # inside -t 8, the baseline's request keeps its own 5 s bound
    like($r->{out}, qr/\APROXYGUARD UNKNOWN - \Q$t->{unknown}{url}\E: could not test: no HTTP answer to GET \/: timed out \|/,
         "check_nrpe, $which: the plugin's own line (the request timed out), not check_nrpe's socket timeout");
    cmp_ok($r->{seconds}, '<', 10, sprintf("check_nrpe, $which: over in %.2f s, inside check_nrpe's default 10 s", $r->{seconds}));
    cmp_ok($r->{seconds}, '>=', 4.9, "check_nrpe, $which: ... at the request's 5 s bound");
}
like(PGScan::slurp("$dir/nrpe.log"), qr/Running command: \Q$bin\E probe --plugin -t $plugin_t \Q$t->{ok}{url}\E/,
     'nrpe ran the command line as the file writes it');
nrpe_stop($pid);

# --- nagios4 -v on the file's Nagios definitions ------------------------------------
my $ndir = tempdir('pgnagios-XXXXXX', TMPDIR => 1, CLEANUP => 1);
mkdir "$ndir/checkresults";
PGScan::spew("$ndir/objects.cfg", <<'EOF');
define timeperiod {
    timeperiod_name 24x7
    alias           always
    monday          00:00-24:00
}
define command {
    command_name    notify-none
    command_line    /bin/true
}
define contact {
    contact_name                  admin
    host_notifications_enabled    0
    service_notifications_enabled 0
    host_notification_period      24x7
    service_notification_period   24x7
    host_notification_options     n
    service_notification_options  n
    host_notification_commands    notify-none
    service_notification_commands notify-none
}
define service {
    name                  generic-service
    register              0
    max_check_attempts    1
    check_interval        5
    retry_interval        1
    check_period          24x7
    notification_interval 0
    notification_period   24x7
    contacts              admin
}
define host {
    host_name             www
    address               127.0.0.1
    max_check_attempts    1
    check_period          24x7
    notification_interval 0
    notification_period   24x7
    contacts              admin
}
EOF
PGScan::spew("$ndir/nagios.cfg", join '', map { "$_\n" }
    "log_file=$ndir/nagios.log", "cfg_file=$ndir/objects.cfg", "cfg_file=$ndir/proxyguard.cfg",
    "object_cache_file=$ndir/objects.cache", "precached_object_file=$ndir/objects.precache",
    "status_file=$ndir/status.dat", "temp_file=$ndir/nagios.tmp", "temp_path=$ndir",
    "lock_file=$ndir/nagios.lock", "check_result_path=$ndir/checkresults",
    "state_retention_file=$ndir/retention.dat", "command_file=$ndir/nagios.cmd",
    'nagios_user=nagios', 'nagios_group=nagios');
sub nagios_verify {
    my ($objects) = @_;
    PGScan::spew("$ndir/proxyguard.cfg", $objects);
    system('chown', '-R', 'nagios:nagios', $ndir) == 0 or die "chown $ndir";
    my $out = `nagios4 -v '$ndir/nagios.cfg' 2>&1`;
    return ($? >> 8, $out);
}
like($nagios_objects, qr/define command \{.*define service \{/s, "the file's comments hold a define command and a define service");
my ($rc, $out) = nagios_verify($nagios_objects);
is($rc, 0, 'nagios4 -v accepts the define command and define service') or diag $out;
like($out, qr/Checked 1 services\..*Total Errors:\s+0/s, '... its service checked, no error');
($rc, $out) = nagios_verify($nagios_objects =~ s/(check_command\s+)check_nrpe_proxyguard/${1}check_nrpe_proxyguarde/r);
isnt($rc, 0, 'nagios4 -v refuses a copy whose service names a command not defined');
like($out, qr/Service check command 'check_nrpe_proxyguarde' .* not defined/, '... saying which');

is(PGMonitor::snapshot(@system), $system_before, 'nothing under /etc, /var or /run of nagios was touched');
$_->{srv} && $_->{srv}->stop for values %$t;
done_testing;

# A command run in the background: its output to a file, timed.
sub spawn {
    my (@cmd) = @_;
    my $out = File::Temp->new(DIR => $dir);
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', $out->filename or die;
        open STDERR, '>&', \*STDOUT or die;
        exec(@cmd) or die "exec $cmd[0]: $!";
    }
    return { pid => $pid, file => $out, t0 => $t0 };
}

sub finish {
    my ($r) = @_;
    waitpid($r->{pid}, 0);
    $r->{exit} = $? >> 8;
    $r->{seconds} = time - $r->{t0};
    $r->{out} = PGScan::slurp($r->{file}->filename);
}
