package PGProbe;

# Runs build/proxyguard probe for the tests of t/cli/probe*.t and reads
# what it says.
#
#   my $r = PGProbe::run('--json', '--timeout', 2, "http://127.0.0.1:$port/");
#   $r->{exit}; $r->{out}; $r->{err}; $r->{seconds}
#   $r->{json}         the first target's object (with --json)
#   PGProbe::probe($r, 'get')   that probe's object
#
# Also small loopback servers that misbehave (garbage, silence), stopped
# by the test through stop_server (or at exit).

use strict;
use warnings;
use File::Temp ();
use IO::Socket::INET;
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);
use PGTest;

# PG_PROXYGUARD_BIN: another build of the program (a sanitizer build)
our $BIN = $ENV{PG_PROXYGUARD_BIN} || "$PGTest::TOP/build/proxyguard";

sub bin {
    die "$BIN not built (run make cli)\n" unless -x $BIN;
    return $BIN;
}

# run(ARGS...) -> { exit, out, err, seconds, json, jsons }
sub run {
    my (@args) = @_;
    my $dir = File::Temp::tempdir('pgprobe-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    my $t0 = time;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/out" or die;
        open STDERR, '>', "$dir/err" or die;
        exec(bin(), 'probe', @args) or die "exec: $!";
    }
    waitpid($pid, 0);
    my %r = (exit => $? >> 8, signal => $? & 127, seconds => time - $t0,
             out => slurp("$dir/out"), err => slurp("$dir/err"));
    # a crash or a sanitizer report fails the test whatever it asserts
    die "proxyguard probe @args: killed by signal $r{signal}\n$r{err}" if $r{signal};
    die "proxyguard probe @args: sanitizer report\n$r{err}"
        if $r{err} =~ /AddressSanitizer|LeakSanitizer|runtime error:/;
    if (grep { $_ eq '--json' || $_ eq '-j' } @args) {
        my @lines = grep { /\S/ } split /\n/, $r{out};
        $r{jsons} = [ map { my $l = $_; eval { JSON::PP->new->decode($l) } } @lines ];
        $r{json} = $r{jsons}[0];
        $r{json_error} = $@;
    }
    return \%r;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return scalar(<$fh>) // '';
}

# The probe object of that name in a --json result.
sub probe {
    my ($r, $name) = @_;
    my ($p) = grep { $_->{name} eq $name } @{ $r->{json}{probes} || [] };
    return $p;
}

# name => verdict for every probe.
sub verdicts {
    my ($r) = @_;
    return { map { $_->{name} => $_->{verdict} } @{ $r->{json}{probes} || [] } };
}

# Names of probes with one of the verdicts given.
sub with_verdict {
    my ($r, @v) = @_;
    my %want = map { $_ => 1 } @v;
    return sort map { $_->{name} } grep { $want{ $_->{verdict} } } @{ $r->{json}{probes} || [] };
}


# Shows what the program said, when a test fails.
sub show {
    my ($r) = @_;
    diag("exit $r->{exit}\n$r->{out}\n$r->{err}");
}

# --- misbehaving servers ---------------------------------------------

my %CHILDREN;
END {
    local $?;
    stop_server($_) for keys %CHILDREN;
}

# A forked loopback server: handler->($client_socket) per connection.
sub server {
    my ($handler) = @_;
    my $port = PGTest::free_port();
    my $l = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => $port,
                                  Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $SIG{TERM} = sub { exit 0 };
        $SIG{PIPE} = 'IGNORE';      # a client that hangs up ends its turn only
        while (my $c = $l->accept) {
            $handler->($c);
            close $c;
        }
        exit 0;
    }
    close $l;
    $CHILDREN{$pid} = 1;
    return ($port, $pid);
}

sub stop_server {
    my ($pid) = @_;
    return unless delete $CHILDREN{$pid};
    kill 'TERM', $pid;
    my $deadline = time + 5;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); last }
        sleep 0.02;
    }
}

1;
