package PGDaemon;

# A memcached or redis-server for a shared ban store, on 127.0.0.1 and a
# port of the caller's choosing, as the ban store tests and the benchmark
# start them (no persistence, nothing written outside /dev/null).
#
#   my $d = PGDaemon->new('redis', $port)->start;
#   $d->config;     # "LoadModule ...\nProxyGuardBanCache redis:127.0.0.1:port\n"
#   $d->stop; $d->start;    # the same port again

use strict;
use warnings;
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep time);
use PGTest;

my %kind = (
    memcache => { bin => 'memcached', module => 'socache_memcache',
                  cmd => sub { ('memcached', '-l', '127.0.0.1', '-p', $_[0], '-U', '0', '-u', 'nobody') } },
    redis    => { bin => 'redis-server', module => 'socache_redis',
                  cmd => sub { ('redis-server', '--bind', '127.0.0.1', '--port', $_[0],
                                '--save', '', '--appendonly', 'no', '--protected-mode', 'yes') } },
);

sub kinds { sort keys %kind }

sub new {
    my ($class, $kind, $port) = @_;
    my $k = $kind{$kind} or die "no such ban store daemon: $kind";
    return bless { kind => $kind, port => $port // PGTest::free_port(), %$k }, $class;
}

sub port { $_[0]{port} }
sub bin  { $_[0]{bin} }

# Is its program installed?
sub installed { system("command -v $_[0]{bin} >/dev/null 2>&1") == 0 }

# The lines a configuration needs to use it as the ban store.
sub config {
    my ($self) = @_;
    return "LoadModule $self->{module}_module $PGTest::MODULES/mod_$self->{module}.so\n"
         . "ProxyGuardBanCache $self->{kind}:127.0.0.1:$self->{port}\n";
}

sub start {
    my ($self) = @_;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        { no warnings 'exec'; exec $self->{cmd}->($self->{port}); }
        POSIX::_exit(127);
    }
    $self->{pid} = $pid;
    my $deadline = time + 10;
    sleep 0.05 until IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $self->{port})
                     || time > $deadline;
    return $self;
}

sub stop {
    my ($self) = @_;
    my $pid = delete $self->{pid} or return;
    kill 'TERM', $pid;
    waitpid($pid, 0);
}

sub DESTROY { $_[0]->stop }

1;
