package PGTest;

# Integration-test harness for mod_proxyguard: a private httpd on 127.0.0.1,
# free ports, the freshly built module loaded by absolute path, a config
# written here, raw request bytes over sockets.
#
#   my $srv = PGTest->new(name => 'core', ports => 1, conf => sub { ... });
#   $srv->start;                  # asserts the MPM really loaded
#   my $res = $srv->request("GET / HTTP/1.0\r\n\r\n");
#   $srv->stop;                   # asserts no crash / sanitizer report
#
# The MPM comes from the first test argument or PG_MPM (default event).

use strict;
use warnings;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(sleep time);
use PGHttp;

our $TOP = abs_path(dirname(__FILE__) . '/../..');
our $MODULES = '/usr/lib/apache2/modules';

# Every server started and not yet stopped, so that a test that dies still
# stops its servers (END runs before File::Temp removes their directories).
my %RUNNING;
END {
    local $?;
    $_->stop for grep { defined } values %RUNNING;
}

sub mpm {
    my $mpm = $ARGV[0] || $ENV{PG_MPM} || 'event';
    die "unknown MPM '$mpm'\n" unless $mpm =~ /^(event|worker|prefork)$/;
    return $mpm;
}

sub module_so {
    my $so = $ENV{PG_MODULE_SO} || "$TOP/build/.libs/mod_proxyguard.so";
    die "module not built: $so (run make)\n" unless -f $so;
    return $so;
}

# A port nothing listens on now, never handed out before in this process
# (servers are often built before any of them starts), and below Linux's
# ephemeral range (32768-60999), so no client connection can hold it.
# Random, because binding port 0 right after a close may give the same
# port again.
my %PORT_GIVEN;
sub free_port {
    for (1 .. 200) {
        my $port = 20000 + int(rand(12000));
        next if $PORT_GIVEN{$port};
        my $s = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1',
                                      LocalPort => $port, Proto => 'tcp')
            or next;
        close $s;
        $PORT_GIVEN{$port} = 1;
        return $port;
    }
    die "no free port in 20000-31999\n";
}

# new(name => ..., ports => N, conf => sub { my ($srv) = @_; return $text },
#     loglevel => 'warn', load_module => 0 (the config loads it itself),
#     packaged_module => 1 (what the config loads is a package's build,
#     not this tree's: under PG_ASAN only the runtime is checked),
#     mpm_conf => MPM sizing instead of the small default,
#     user => 0 (no User/Group lines: a root-run httpd keeps root),
#     plain_logs => 1 (the access log in httpd's common format, and no
#     abuse_log: the benchmarks compare with stock httpd, whose logs should
#     be what an operator's are, not the tests' PROXYGUARD fields))
sub new {
    my ($class, %opt) = @_;
    my $mpm = mpm();
    # CLEANUP happens in the creating process only (File::Temp checks)
    my $dir = tempdir("pgt-$opt{name}-$mpm-XXXXXX", TMPDIR => 1,
                      CLEANUP => !$ENV{PG_KEEP});
    chmod 0755, $dir;       # children run as nobody
    my $self = bless {
        name  => $opt{name},
        mpm   => $mpm,
        dir   => $dir,
        ports => [ map { free_port() } 1 .. ($opt{ports} || 1) ],
        conf  => $opt{conf} || sub { '' },
        loglevel => $opt{loglevel} || 'warn proxyguard:info',
        load_module => $opt{load_module} // 1,
        packaged_module => $opt{packaged_module} // 0,
        mpm_conf => $opt{mpm_conf},
        user => $opt{user} // 1,
        plain_logs => $opt{plain_logs} // 0,
    }, $class;
    for my $d (qw(logs run htdocs cores)) {
        make_path("$dir/$d");
        chmod 0755, "$dir/$d";
    }
    chmod 01777, "$dir/cores";      # CoreDumpDirectory: children run as nobody
    $self->write_file('htdocs/index.html', "default-site-home\n");
    return $self;
}

sub dir  { $_[0]{dir} }
sub port { $_[0]{ports}[ $_[1] || 0 ] }

sub write_file {
    my ($self, $rel, $content, $mode) = @_;
    my $path = "$self->{dir}/$rel";
    make_path(dirname($path));
    chmod 0755, dirname($path);
    open my $fh, '>', $path or die "$path: $!";
    print $fh $content;
    close $fh;
    chmod $mode // 0644, $path;
    return $path;
}

# A document root of its own with an index.html saying who served it.
sub docroot {
    my ($self, $label) = @_;
    $self->write_file("htdocs/$label/index.html", "site:$label\n");
    return "$self->{dir}/htdocs/$label";
}

# A PHP-like catch-all: a CGI reached through FallbackResource that answers
# 200 to every method and records each call in cgi-calls.log.
sub catchall_docroot {
    my ($self, $label) = @_;
    my $calls = "$self->{dir}/logs/cgi-calls.log";
    $self->write_file('logs/cgi-calls.log', '', 0666);
    $self->write_file("htdocs/$label/catchall.cgi", <<"CGI", 0755);
#!/usr/bin/perl
open my \$fh, '>>', '$calls';
print \$fh "\$ENV{REQUEST_METHOD} \$ENV{REQUEST_URI}\\n";
close \$fh;
print "Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\n";
print "catchall:$label saw \$ENV{REQUEST_METHOD}\\n";
CGI
    return "$self->{dir}/htdocs/$label";
}

sub cgi_calls {
    my ($self) = @_;
    return $self->slurp('logs/cgi-calls.log');
}

sub config_text {
    my ($self) = @_;
    my $dir = $self->{dir};
    my $mpm = $self->{mpm};
    my $load = $self->{load_module}
             ? 'LoadModule proxyguard_module ' . module_so() : '';
    # mod_cgid for threaded MPMs, mod_cgi for prefork, as httpd recommends
    my $cgi = $mpm eq 'prefork' ? 'cgi' : 'cgid';
    my $script_sock = $cgi eq 'cgid' ? qq{ScriptSock "$dir/run/cgid.sock"\n} : '';
    my $user = $> == 0 && $self->{user} ? "User nobody\nGroup nogroup\n" : '';
    my $listen = join '', map { "Listen 127.0.0.1:$_\n" } @{ $self->{ports} };
    my $extra = $self->{conf}->($self);
    my $logs = $self->{plain_logs}
        ? qq{LogFormat "%h %l %u %t \\"%r\\" %>s %b" common\nCustomLog "$dir/logs/access_log" common\n}
        : qq{LogFormat "%a \\"%r\\" %>s pg=%{PROXYGUARD}e/%{PROXYGUARD_ACTION}e note=%{PROXYGUARD}n" pg\n}
          . qq{CustomLog "$dir/logs/access_log" pg\nCustomLog "$dir/logs/abuse_log" pg env=PROXYGUARD\n};
    my $threads = $mpm eq 'prefork' ? ''
        : "ThreadsPerChild 8\nThreadLimit 8\nMinSpareThreads 8\nMaxSpareThreads 16\n";
    my $mpm_conf = $self->{mpm_conf}
        // "StartServers 2\nMaxRequestWorkers 16\nServerLimit 16\n$threads";
    return <<"CONF";
ServerRoot "$dir"
DefaultRuntimeDir "$dir/run"
PidFile "$dir/run/httpd.pid"
Mutex file:$dir/run default
LoadModule mpm_${mpm}_module $MODULES/mod_mpm_${mpm}.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_host_module $MODULES/mod_authz_host.so
LoadModule mime_module $MODULES/mod_mime.so
LoadModule dir_module $MODULES/mod_dir.so
LoadModule ${cgi}_module $MODULES/mod_${cgi}.so
$script_sock$load
TypesConfig /etc/mime.types
$user$listen
ServerName localhost
ErrorLog "$dir/logs/error_log"
LogLevel $self->{loglevel}
${logs}DocumentRoot "$dir/htdocs"
KeepAliveTimeout 2
Timeout 10
CoreDumpDirectory "$dir/cores"
$mpm_conf<Directory />
    Require all granted
</Directory>
$extra
CONF
}

sub conf_path { "$_[0]{dir}/httpd.conf" }

# How apache2 is run: plain, or (PG_ASAN=1) with the sanitizer runtime
# preloaded for an ASan+UBSan build of the module (PG_MODULE_SO).
sub apache2_env {
    return () unless $ENV{PG_ASAN};
    chomp(my $rt = `clang -print-file-name=libclang_rt.asan-x86_64.so`);
    die "no ASan runtime ($rt)\n" unless -f $rt;
    return (LD_PRELOAD => $rt,
            ASAN_OPTIONS => 'detect_leaks=0:abort_on_error=0',
            UBSAN_OPTIONS => 'print_stacktrace=1');
}

# PG_VALGRIND=1: httpd and every process it forks under valgrind
# (memcheck), one log per process in the server's directory, checked at
# stop.
sub valgrind_prefix {
    my ($self) = @_;
    return () unless $ENV{PG_VALGRIND};
    # httpd daemonizes and makes its workers by fork, which valgrind always
    # follows; what it execs (CGI scripts) runs natively
    return ('valgrind', '--vgdb=no', '--trace-children=no',
            '--child-silent-after-fork=no', '--num-callers=30',
            "--log-file=$self->{dir}/logs/valgrind.%p");
}

sub run_apache2 {
    my ($self, @args) = @_;
    my %env = apache2_env();
    local @ENV{ keys %env } = values %env;
    my @prefix = $args[0] eq '-k' && $args[1] eq 'start' ? $self->valgrind_prefix : ();
    my $cmd = join ' ', map { "'$_'" } @prefix, 'apache2', '-f', $self->conf_path, @args;
    # a crashing child leaves a core in CoreDumpDirectory (known_httpd_crash)
    $cmd = "ulimit -c unlimited 2>/dev/null; $cmd";
    my $out = `$cmd 2>&1`;
    return ($? >> 8, $out);
}

sub write_config {
    my ($self) = @_;
    $self->write_file('httpd.conf', $self->config_text);
}

# apache2 -t on the current config: (exit status, output)
sub configtest {
    my ($self) = @_;
    $self->write_config;
    return $self->run_apache2('-t');
}

sub start {
    my ($self) = @_;
    $self->write_config;
    my ($rc, $out) = $self->run_apache2('-k', 'start');
    die "apache2 -k start failed: $out\n" if $rc;
    my $pidfile = "$self->{dir}/run/httpd.pid";
    my $deadline = time + 15;
    # up = pid file, every port answering, and the MPM's start-up notice
    # (written by the parent once its children are forked)
    until (-s $pidfile && $self->_all_ports_up
           && $self->slurp('logs/error_log') =~ /\[mpm_\w+:notice\].*resuming normal operations/) {
        if (time > $deadline) {
            diag($self->slurp('logs/error_log'));
            die "httpd did not come up on @{ $self->{ports} }\n";
        }
        sleep 0.05;
    }
    chomp(my $pid = $self->slurp('run/httpd.pid'));
    $self->{pid} = $pid;
    $self->{running} = 1;
    $self->{owner} = $$;
    $RUNNING{"$self"} = $self;
    like($self->slurp('logs/error_log'),
         qr/\[mpm_$self->{mpm}:notice\].*resuming normal operations/,
         "$self->{name}: httpd runs the $self->{mpm} MPM");
    if ($ENV{PG_ASAN}) {
        # a sanitizer run that sanitized nothing would pass: look
        # (a stock server, load_module => 0 and no LoadModule of its own,
        # runs the runtime alone)
        my $maps = $self->slurp_abs("/proc/$pid/maps");
        my $so = module_so();
        if ($self->{load_module} || ($maps =~ /mod_proxyguard/ && !$self->{packaged_module})) {
            ok($maps =~ /libclang_rt\.asan/ && $maps =~ /\Q$so\E/,
               "$self->{name}: httpd runs with the ASan runtime and the ASan module");
        } else {
            ok($maps =~ /libclang_rt\.asan/,
               "$self->{name}: httpd (no module of this tree's ASan build) runs with the ASan runtime");
        }
    }
    return $self;
}

sub _all_ports_up {
    my ($self) = @_;
    for my $port (@{ $self->{ports} }) {
        my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                      Proto => 'tcp', Timeout => 1) or return 0;
        close $s;
    }
    return 1;
}

sub stop {
    my ($self) = @_;
    # only the process that started it: forked load generators exit too
    return unless $self->{running} && $self->{owner} == $$;
    $self->{running} = 0;
    delete $RUNNING{"$self"};
    kill 'TERM', $self->{pid};      # what apache2 -k stop sends
    my $limit = $ENV{PG_VALGRIND} ? 120 : 15;
    my $deadline = time + $limit;
    my $stopped = 1;
    while (kill(0, $self->{pid})) {
        if (time > $deadline) {
            kill 'KILL', -$self->{pid}, $self->{pid};
            $stopped = 0;
            last;
        }
        sleep 0.05;
    }
    # an httpd that hangs at shutdown is a bug like a crash: a failure,
    # not a note (the KILL above only cleans up after it)
    ok($stopped, "$self->{name}: httpd $self->{pid} stopped within $limit s of SIGTERM")
        or diag("httpd $self->{pid} did not stop; killed with SIGKILL");
    $self->check_error_log;
}

# The suite fails on any crash or sanitizer report, whatever the tests said.
sub check_error_log {
    my ($self) = @_;
    $self->check_valgrind if $ENV{PG_VALGRIND};
    my $log = $self->slurp('logs/error_log');
    my (@bad, @known);
    for my $line (grep { /exit signal|AddressSanitizer|runtime error:|LeakSanitizer/ }
                  split /\n/, $log) {
        my $known = $self->known_httpd_crash($line);
        if ($known) { push @known, $known } else { push @bad, $line }
    }
    diag("$self->{name}: $_") for @known;
    ok(!@bad, "$self->{name}: error_log shows no crash or sanitizer report"
              . (@known ? ' (but ' . @known . ' known httpd crash, see above)' : ''))
        or diag(join "\n", @bad[0 .. ($#bad < 20 ? $#bad : 20)]);
}

# httpd 2.4's event MPM (2.4.71 here; unchanged on 2.4.x and trunk) crashes
# now and then at an ungraceful stop or restart: the child's main thread,
# in signal_threads() -> close_worker_sockets(), reads worker_sockets[i]
# while that worker is closing the same connection (close_connection() ->
# ap_queue_info_push_pool() -> apr_pool_destroy(ptrans), whose allocator
# unmaps the block that holds the apr_socket_t), then apr_os_sock_get() on
# it faults.  It happens without mod_proxyguard loaded (docs/testing.md).
# Only exactly that crash is excused, and only when its core proves it:
# SIGSEGV in the child's main thread, apr_os_sock_get() called from
# mod_mpm_event.so by close_socket_nonblocking_(csd, "close_worker_sockets",
# ...) (the caller's name is still in r14: apr_os_sock_get faults on its
# first instruction), on a socket whose memory is gone.  No core, no gdb,
# another MPM or any other frame: a failure as before.
sub known_httpd_crash {
    my ($self, $line) = @_;
    return undef unless $self->{mpm} eq 'event'
        && $line =~ /AH00051: child pid (\d+) exit signal Segmentation fault \(11\), possible coredump in (\S+)/;
    my ($pid, $dir) = ($1, $2);
    my ($core) = grep { -f } "$dir/core.$pid", "$dir/core";
    return undef unless $core;
    my $gdb = `gdb -nx -batch -ex 'bt 3' -ex 'x/s \$r14' -ex 'x/gx \$rsi' /usr/sbin/apache2 '$core' 2>&1`;
    return undef unless $gdb =~ /^Program terminated with signal SIGSEGV/m
        && $gdb =~ /^\[Current thread is 1 \(Thread 0x[0-9a-f]+ \(LWP $pid\)\)\]/m
        && $gdb =~ /^#0 +0x[0-9a-f]+ in apr_os_sock_get \(\) from \S*libapr-1\.so/m
        && $gdb =~ /^#1 +0x[0-9a-f]+ in \?\? \(\) from \S*mod_mpm_event\.so/m
        && $gdb =~ /^#2 +0x[0-9a-f]+ in \?\? \(\) from \S*mod_mpm_event\.so/m
        && $gdb =~ /^0x[0-9a-f]+:\s+"close_worker_sockets"$/m
        && $gdb =~ /^0x[0-9a-f]+:\s+Cannot access memory at address/m;
    return "child $pid died of httpd's event MPM close_worker_sockets() "
         . "use-after-free at an ungraceful stop or restart (not the module's; core $core)";
}

# Every valgrind log of this server: "ERROR SUMMARY: 0 errors", and there
# must be logs at all (a run that traced nothing would pass).
sub check_valgrind {
    my ($self) = @_;
    my @logs = glob("$self->{dir}/logs/valgrind.*");
    my (@bad, $clean);
    for my $log (@logs) {
        my $text = $self->slurp_abs($log);
        if ($text =~ /ERROR SUMMARY: [1-9]/ || $text =~ /Invalid (read|write|free)|uninitialised/) {
            push @bad, $log;
        }
        $clean++ if $text =~ /ERROR SUMMARY: 0 errors/;
    }
    ok(@logs >= 2 && $clean && !@bad, "$self->{name}: valgrind: " . scalar(@logs)
                                      . " process logs, $clean with ERROR SUMMARY: 0 errors, none with errors")
        or diag(join "\n", map { $self->slurp_abs($_) } @bad[0 .. ($#bad < 2 ? $#bad : 2)]);
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    $self->stop if $self->{running};
}

sub slurp {
    my ($self, $rel) = @_;
    return $self->slurp_abs("$self->{dir}/$rel");
}

sub slurp_abs {
    my ($self, $path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    my $data = <$fh>;
    return $data // '';
}

# Byte offset into a log, to look only at what comes after it.
sub log_mark {
    my ($self, $rel) = @_;
    return -s "$self->{dir}/$rel" || 0;
}

sub log_since {
    my ($self, $rel, $mark) = @_;
    return substr($self->slurp($rel), $mark // 0);
}

# Send raw bytes, read the answer to EOF.  Options: port => index,
# from => local address (e.g. 127.0.0.2).
sub request {
    my ($self, $raw, %opt) = @_;
    return PGHttp::raw_request($self->port($opt{port} || 0), $raw, $opt{from});
}

# The status handler, as conf/proxyguard.conf maps it.
sub status_location {
    return "<Location \"/proxyguard-status\">\n"
         . "    SetHandler proxyguard-status\n    Require local\n</Location>\n";
}

# GET the status page in a format ('' for HTML); JSON comes back decoded.
sub status {
    my ($self, $format, %opt) = @_;
    my $q = $format ? "?$format" : '';
    my $res = $self->request("GET /proxyguard-status$q HTTP/1.0\r\n\r\n", %opt);
    if (($format // '') eq 'json' && $res->{status} == 200) {
        require JSON::PP;
        $res->{json} = eval { JSON::PP->new->decode($res->{body}) };
        $res->{json_error} = $@;
    }
    return $res;
}

# ?json decoded (undef if it does not parse), and ?auto as a hash of its
# "Key: value" lines.
sub json {
    my ($self, %opt) = @_;
    return $self->status('json', %opt)->{json};
}

sub auto {
    my ($self, %opt) = @_;
    return { map { /^(\w+): (.*)$/ ? ($1, $2) : () }
             split /\n/, $self->status('auto', %opt)->{body} };
}

# An Allow header as a sorted list, for comparing sets: httpd builds it
# from a hash of registered methods, so its order says nothing.
sub allow_set {
    my ($allow) = @_;
    return join ',', sort grep { length } split /\s*,\s*/, $allow // '';
}

# Send a graceful (USR1) or full (HUP) restart and wait until the new
# generation answers.
sub restart {
    my ($self, $signal) = @_;
    my $mark = $self->log_mark('logs/error_log');
    kill $signal, $self->{pid};
    my $deadline = time + 15;
    until ($self->log_since('logs/error_log', $mark) =~ /resuming normal operations/
           && $self->_all_ports_up) {
        die "httpd did not come back after $signal\n" if time > $deadline;
        sleep 0.05;
    }
}

# Two standard vhosts on every port: the first (default) and a named one.
sub standard_vhosts {
    my ($self, %opt) = @_;
    $opt{$_} //= '' for qw(default_extra www_extra);
    my $text = '';
    for my $i (0 .. $#{ $self->{ports} }) {
        my $port = $self->port($i);
        my $default_root = $self->docroot("default$i");
        my $www_root = $self->docroot("www$i");
        $text .= <<"VH";
<VirtualHost *:$port>
    ServerName default.test
    DocumentRoot "$default_root"
    $opt{default_extra}
</VirtualHost>
<VirtualHost *:$port>
    ServerName www.example.com
    ServerAlias example.com *.example.org
    DocumentRoot "$www_root"
    $opt{www_extra}
</VirtualHost>
VH
    }
    return $text;
}

1;
