#!/usr/bin/perl
# conf/icinga2/proxyguard.conf, checked by Icinga 2 itself (Debian's
# icinga2-bin), in a configuration root of this test's own (no file under
# /etc/icinga2, /var or /run is read or written; the test checks it):
#   - `icinga2 daemon -C` accepts it beside the ITL and the plugins'
#     CheckCommands, with a Host and Services using it; broken copies (a
#     syntax error, an unknown template) are refused;
#   - as Icinga parsed it (its object dump): every argument is an option
#     that `proxyguard probe --help` lists, the URL positional and last, the
#     command's timeout above the plugin's -t;
#   - the real daemon, started for a few seconds, builds the command lines
#     and runs them against real httpds on loopback: mod_proxyguard OK (0),
#     a stock httpd WARNING (1), an open proxy CRITICAL (2), a server that
#     never answers UNKNOWN (3) at the -t the service gives, with the
#     plugin's perfdata parsed by Icinga; every optional argument and two
#     URLs map to options the program accepts.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use File::Path qw(make_path);
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;
use PGProbe;
use PGMonitor;
use PGScan;

PGScan::need_tool('icinga2', 'icinga2-bin');
my $top = $PGTest::TOP;
my $bin = PGProbe::bin();
my $file = "$top/conf/icinga2/proxyguard.conf";
my @system = qw(/etc/icinga2 /var/lib/icinga2 /var/cache/icinga2 /var/log/icinga2
                /var/spool/icinga2 /run/icinga2);
my $system_before = PGMonitor::snapshot(@system);

# A configuration root of our own: the paths and the user as constants.
my $root = tempdir('pgicinga-XXXXXX', TMPDIR => 1, CLEANUP => 1);
make_path(map { "$root/$_" } qw(data log cache spool run));
my @define = map { ('-D', $_) } "DataDir=$root/data", "LogDir=$root/log", "CacheDir=$root/cache",
    "SpoolDir=$root/spool", "InitRunDir=$root/run", 'RunAsUser=root', 'RunAsGroup=root';
my $plugins = -e '/usr/share/icinga2/include/plugins' ? "include <plugins>\n" : '';
fail('the ITL ships <plugins> (icinga2-common)') if !$plugins && $ENV{PG_REQUIRE_TOOLS};

sub icinga2_conf {
    my ($command_file, $objects) = @_;
    return qq{const PluginDir = "/usr/lib/nagios/plugins"\ninclude <itl>\n$plugins}
         . qq{include "$command_file"\n$objects};
}

sub validate {
    my ($conf) = @_;
    PGScan::spew("$root/icinga2.conf", $conf);
    my $out = `icinga2 daemon -C -c '$root/icinga2.conf' @define 2>&1`;
    return ($? >> 8, $out);
}

my $objects = <<'EOF';
object Host "web" {
  check_command = "dummy"
  address = "127.0.0.1"
}
object Service "open-proxy" {
  host_name = "web"
  check_command = "proxyguard"
}
EOF

# --- icinga2 daemon -C ------------------------------------------------------
my ($rc, $out) = validate(icinga2_conf($file, $objects));
is($rc, 0, 'icinga2 daemon -C accepts conf/icinga2/proxyguard.conf') or diag $out;
like($out, qr/Finished validating the configuration file/, '... and says it validated');
like($out, qr/Instantiated 1 Service\./, '... with the Service using it');
unlike($out, qr/warning\//, '... without a warning');

my $text = PGScan::slurp($file);
for my $broken ([ 'a missing brace', sub { $_[0] =~ s/\}\s*\z//r } ],
                [ 'an unknown template', sub { $_[0] =~ s/import "plugin-check-command"/import "plugin-check-commands"/r } ],
                [ 'an attribute CheckCommand has not', sub { $_[0] =~ s/^\targuments = \{/\targument = {/mr } ]) {
    my ($what, $break) = @$broken;
    my $copy = "$root/broken.conf";
    my $bad = $break->($text);
    isnt($bad, $text, "broken copy ($what): made");
    PGScan::spew($copy, $bad);
    my ($brc, $bout) = validate(icinga2_conf($copy, $objects));
    isnt($brc, 0, "icinga2 daemon -C refuses a copy with $what") or diag $bout;
    like($bout, qr/critical\/config|Config validation failed/, "... saying so ($what)");
}

# --- as Icinga parsed it ------------------------------------------------------
validate(icinga2_conf($file, $objects));
my ($command) = grep { $_->{type} eq 'CheckCommand' && $_->{name} eq 'proxyguard' }
    netstrings("$root/cache/icinga2.debug");
ok($command, "Icinga's object dump has CheckCommand proxyguard");
my $p = $command->{properties};
my $help = PGProbe::run('--help')->{out};
my %args = %{ $p->{arguments} };
for my $key (sort grep { /^-/ } keys %args) {
    like($help, qr/^  -[a-zA-Z0-9], \Q$key\E\b/m, "argument $key is an option proxyguard probe --help lists");
    ok($args{$key}{description}, "argument $key has a description");
}
is_deeply([ grep { !/^-/ } keys %args ], [ 'url' ], 'one positional argument: url');
ok($args{url}{skip_key}, 'url: skip_key (positional)');
ok(($args{url}{order} // 0) > 0, 'url: after the options (order > 0)');
is_deeply($p->{command}, [ '$proxyguard_binary$', 'probe', '--plugin' ], 'command: proxyguard probe --plugin');
is($p->{vars}{proxyguard_binary}, '/usr/bin/proxyguard', 'the default binary: the packages\' /usr/bin/proxyguard');
my $plugin_t = $p->{vars}{proxyguard_timeout};
like($plugin_t, qr/^\d+$/, "vars.proxyguard_timeout: $plugin_t s");
cmp_ok($p->{timeout}, '>=', $plugin_t + 2, "timeout ($p->{timeout} s) leaves the plugin's -t ($plugin_t s) time to report");
cmp_ok($p->{timeout}, '<', 60, "... and is shorter than Icinga's default 60 s");
is(PGScan::slurp("$root/run/icinga2.pid") // '', '', 'daemon -C started no daemon');

# --- the real daemon runs it ---------------------------------------------------
my $t = PGMonitor::targets();
my %want;       # service => [ exit, output regex ]
my $services = '';
my $service = sub {
    my ($name, $exit, $like, %vars) = @_;
    $want{$name} = [ $exit, $like ];
    $vars{proxyguard_binary} //= $bin;
    $services .= qq|object Service "$name" {\n  host_name = "web"\n  check_command = "proxyguard"\n|
               . qq|  check_interval = 1s\n  retry_interval = 1s\n  max_check_attempts = 1\n|
               . join('', map { "  vars.$_ = " . icinga_value($vars{$_}) . "\n" } sort keys %vars)
               . "}\n";
};
$service->('ok', 0, qr/\APROXYGUARD OK - \Q$t->{ok}{url}\E: not an open proxy/, proxyguard_url => $t->{ok}{url});
$service->('warning', 1, qr/\APROXYGUARD WARNING - /, proxyguard_url => $t->{warning}{url});
$service->('critical', 2, qr/\APROXYGUARD CRITICAL - .*OPEN PROXY/, proxyguard_url => $t->{critical}{url});
$service->('unknown', 3, qr/\APROXYGUARD UNKNOWN - timed out after 2 s \(--timeout\), in the baseline/,
           proxyguard_url => $t->{unknown}{url}, proxyguard_timeout => 2);
# every optional argument, each a real option of the program: it would
# exit 3 on one it does not know
$service->('all-options', 0, qr/\APROXYGUARD OK - /, proxyguard_url => $t->{ok}{url},
           proxyguard_status_url => $t->{ok}{status}, proxyguard_h2c => 'true',
           proxyguard_only => 'get,connect,h2-connect', proxyguard_source => '127.0.0.1',
           proxyguard_canary => '127.0.0.1', proxyguard_address => '127.0.0.1');
$service->('two-urls', 1, qr/\APROXYGUARD WARNING - \Q$t->{ok}{url}\E: .*; \Q$t->{warning}{url}\E: /,
           proxyguard_url => [ $t->{ok}{url}, $t->{warning}{url} ]);
# the defaults: the host's address, -t 8, the packages' binary path (not
# run here: only the command line Icinga builds is checked)
$services .= <<'EOF';
object Host "v6" {
  check_command = "dummy"
  address6 = "::1"
  enable_active_checks = false
}
object Service "defaults" {
  host_name = "v6"
  check_command = "proxyguard"
  check_interval = 1s
}
object Host "v6-in-address" {
  check_command = "dummy"
  # loopback, written long: the default URL may only ever name loopback
  address = "0:0:0:0:0:0:0:1"
  enable_active_checks = false
}
object Service "defaults" {
  host_name = "v6-in-address"
  check_command = "proxyguard"
  check_interval = 1s
}
EOF
my $run_conf = icinga2_conf($file, <<"EOF" . $services);
object CheckerComponent "checker" { }
object FileLogger "test" {
  path = "$root/log/icinga2.log"
  severity = "notice"
}
object Host "web" {
  check_command = "dummy"
  address = "127.0.0.1"
  enable_active_checks = false
}
EOF
($rc, $out) = validate($run_conf);
is($rc, 0, 'the test configuration validates') or diag $out;

my $t0 = time;
my $pid = fork // die "fork: $!";
if (!$pid) {
    open STDOUT, '>', "$root/log/stdout" or die;
    open STDERR, '>&', \*STDOUT or die;
    exec('icinga2', 'daemon', '-c', "$root/icinga2.conf", @define) or die "exec icinga2: $!";
}
# until every service's command (and the default one) has run once
my @urls = map { $_->{url} } @$t{qw(ok warning critical unknown)};
my $log = '';
until (time - $t0 > 40) {
    $log = PGScan::slurp("$root/log/icinga2.log") // '';
    my $done = grep { $log =~ /terminated with exit code \d+\n/ && $log =~ /\('[^\n]*\Q$_\E'\) terminated/ } @urls;
    last if $done == @urls && $log =~ /\Q'http:\/\/[::1]\/'\E\) terminated/
        && $log =~ /\Q'http:\/\/[0:0:0:0:0:0:0:1]\/'\E\) terminated/ && $log =~ /'--h2c'[^\n]*terminated/;
    sleep 0.2;
}
kill 'TERM', $pid;
my $stop = time + 20;
while (waitpid($pid, WNOHANG) == 0) {
    if (time > $stop) { kill 'KILL', $pid; waitpid($pid, 0); fail('icinga2 stopped on TERM'); last }
    sleep 0.1;
}
diag sprintf('icinga2 ran for %.1f s', time - $t0);
my %result = map { ($_->{name} =~ s/^web!//r) => $_->{update}{last_check_result} }
    grep { $_->{type} eq 'Service' } netstrings("$root/data/icinga2.state");

for my $name (sort keys %want) {
    my ($exit, $like) = @{ $want{$name} };
    my $cr = $result{$name};
    ok($cr, "service $name was checked") or next;
    is($cr->{exit_status}, $exit, "service $name: exit $exit") or diag explain $cr;
    like($cr->{output}, $like, "service $name: the plugin's line");
    is($cr->{command}[0], $bin, "service $name: runs the program");
    is_deeply([ @{ $cr->{command} }[1, 2] ], [ 'probe', '--plugin' ], "service $name: probe --plugin");
}
my $cmd = sub { join ' ', @{ $result{$_[0]}{command} || [] } };
like($cmd->('ok'), qr/ --timeout 8 \Q$t->{ok}{url}\E\z/, 'ok: -t 8 by default, the URL last');
like($cmd->('unknown'), qr/ --timeout 2 /, 'unknown: the service\'s proxyguard_timeout is -t');
cmp_ok($result{unknown}{execution_end} - $result{unknown}{execution_start}, '<', 4,
       'unknown: the check ended at its -t 2, well before the command\'s timeout');
for my $opt ('--status', '--h2c', '--only', '--source', '--canary', '--address') {
    like($cmd->('all-options'), qr/ \Q$opt\E /, "all-options: $opt is passed");
}
like($cmd->('two-urls'), qr/ \Q$t->{ok}{url}\E \Q$t->{warning}{url}\E\z/, 'two-urls: both, positional');
unlike($cmd->('ok'), qr/--h2c/, 'ok: no --h2c unless proxyguard_h2c');
ok(grep({ $_ eq 'proxied=14' || /^proxied=\d+$/ } @{ $result{critical}{performance_data} || [] }),
   "critical: Icinga parsed the plugin's perfdata (" . join(' ', @{ $result{critical}{performance_data} || [] }) . ')');
like($log, qr{\('/usr/bin/proxyguard' 'probe' '--plugin' '--timeout' '8' 'http://\[::1\]/'\)},
     'defaults: /usr/bin/proxyguard, -t 8, http://[ADDRESS6]/ from the host');
like($log, qr{\('/usr/bin/proxyguard' 'probe' '--plugin' '--timeout' '8' 'http://\[0:0:0:0:0:0:0:1\]/'\)},
     'defaults: an IPv6 address in the host\'s address, in brackets');

is(PGMonitor::snapshot(@system), $system_before, 'nothing under /etc, /var or /run of icinga2 was touched');
$_->{srv} && $_->{srv}->stop for values %$t;

done_testing;

# An Icinga value: a string, a boolean, a number or an array of strings.
sub icinga_value {
    my ($v) = @_;
    return '[ ' . join(', ', map { icinga_value($_) } @$v) . ' ]' if ref $v eq 'ARRAY';
    return $v if $v =~ /^(?:true|false|\d+)$/;
    return JSON::PP->new->allow_nonref->encode("$v");
}

# Icinga's state and object files: netstrings, each a JSON object.
sub netstrings {
    my ($path) = @_;
    my $data = PGScan::slurp($path) // '';
    my @objects;
    while ($data =~ /\G(\d+):/gc) {
        my $len = $1;
        my $json = substr($data, pos($data), $len);
        pos($data) += $len + 1;
        push @objects, JSON::PP->new->decode($json);
    }
    return @objects;
}
