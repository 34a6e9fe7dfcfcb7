package PGSquid;

# Debian's Squid on a loopback port, for the probe tests: a real
# third-party forward proxy.
#
#   my $sq = PGSquid->new(access => 'allow all');     # our own rules
#   my $sq = PGSquid->new(access => 'default');       # Debian's squid.conf rules
#   $sq->start; $sq->port; $sq->stop;
#
# Everything it writes goes to a directory of its own (owned by proxy, the
# user it drops to); it runs in the foreground (-N) and is stopped by its
# pid.  Its DNS is pointed at loopback, so that nothing it does leaves the
# machine.

use strict;
use warnings;
use File::Temp qw(tempdir);
use IO::Socket::INET;
use POSIX qw(WNOHANG);
use Test::More;
use Time::HiRes qw(time sleep);
use PGTest;
use PGProbe;

our $SQUID = '/usr/sbin/squid';
our $DEFAULT_CONF = '/etc/squid/squid.conf';

my %RUNNING;
END {
    local $?;
    $_->stop for grep { defined } values %RUNNING;
}

sub available { -x $SQUID && -r $DEFAULT_CONF }

sub new {
    my ($class, %opt) = @_;
    my $dir = tempdir('pgsquid-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PG_KEEP});
    my (undef, undef, $uid, $gid) = getpwnam('proxy');
    chown $uid, $gid, $dir if defined $uid;
    chmod 0755, $dir;
    return bless { dir => $dir, port => PGTest::free_port(), access => $opt{access} || 'default' },
                 $class;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }

# The access rules of Debian's shipped squid.conf, verbatim (comments and
# the listening port aside), or "http_access allow all".
sub access_rules {
    my ($self) = @_;
    return "http_access allow all\n" if $self->{access} eq 'allow all';
    open my $fh, '<', $DEFAULT_CONF or die "$DEFAULT_CONF: $!";
    my @keep;
    while (<$fh>) {
        next if /^\s*(#|$)/;
        next if /^\s*(http_port|coredump_dir)\b/;
        push @keep, $_;
    }
    return join '', @keep;
}

sub config_text {
    my ($self) = @_;
    my $d = $self->{dir};
    return $self->access_rules . <<"CONF";
http_port 127.0.0.1:$self->{port}
visible_hostname proxyguard-test
cache_effective_user proxy
pid_filename $d/squid.pid
cache_log $d/cache.log
access_log stdio:$d/access.log
coredump_dir $d
cache deny all
shutdown_lifetime 1 seconds
dns_nameservers 127.0.0.1
pinger_enable off
netdb_filename none
CONF
}

sub start {
    my ($self) = @_;
    my $conf = "$self->{dir}/squid.conf";
    open my $fh, '>', $conf or die "$conf: $!";
    print $fh $self->config_text;
    close $fh;
    chmod 0644, $conf;
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$self->{dir}/stdout" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec($SQUID, '-N', '-f', $conf) or die "exec squid: $!";
    }
    $self->{pid} = $pid;
    $RUNNING{"$self"} = $self;
    my $deadline = time + 30;
    until (IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port},
                                 Proto => 'tcp', Timeout => 1)) {
        if (time > $deadline || waitpid($pid, WNOHANG) == $pid) {
            diag(PGProbe::slurp("$self->{dir}/stdout") . PGProbe::slurp("$self->{dir}/cache.log"));
            die "squid did not come up on 127.0.0.1:$self->{port}\n";
        }
        sleep 0.1;
    }
    return $self;
}

sub access_log { PGProbe::slurp("$_[0]{dir}/access.log") }

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    delete $RUNNING{"$self"};
    kill 'TERM', $pid;
    my $deadline = time + 15;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            diag("squid $pid did not stop; killed");
            last;
        }
        sleep 0.05;
    }
}

sub DESTROY {
    local $?;
    $_[0]->stop;
}

1;
