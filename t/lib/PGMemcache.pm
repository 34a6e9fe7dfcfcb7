package PGMemcache;
# A memcached for the ban store that answers as it is told: the memcache
# text protocol (set, get, delete) on 127.0.0.1 and a free port, one
# process per connection.  The answer to a get is chosen by the mode in a
# file, read at each command, so a test switches it while httpd runs:
#   normal   every set STORED, every get "not found" (END), or the value
#            of $self->{values}{KEY TEXT} (the ban key, "pgban:ADDR")
#   huge     every get "VALUE k 0 300000000", then as many bytes as fast
#            as the reader takes them (apr_memcache buffers a value whole)
#   drip     every get "VALUE k 0 10", then one byte every 0.3 s
# mod_socache_memcache sends a key as its namespace, ":" and the hex of
# our key: values are looked up by that hex.
#
#   my $mc = PGMemcache->new(values => { 'pgban:127.0.0.44' => 4000000000 });
#   $mc->config;                   # the LoadModule and ProxyGuardBanCache lines
#   $mc->mode('huge');
#   $mc->gets;                     # gets answered so far
#   $mc->stop;
use strict;
use warnings;
use File::Temp qw(tempfile);
use IO::Socket::INET;
use POSIX ();
use Time::HiRes qw(sleep);
use PGTest;

sub new {
    my ($class, %opt) = @_;
    my $sock = IO::Socket::INET->new(Listen => 16, LocalAddr => '127.0.0.1', LocalPort => 0,
                                     Proto => 'tcp', ReuseAddr => 1) or die "listen: $!";
    my (undef, $modefile) = tempfile('pgmc-mode-XXXXXX', TMPDIR => 1, UNLINK => 1);
    my (undef, $logfile) = tempfile('pgmc-log-XXXXXX', TMPDIR => 1, UNLINK => 1);
    my $self = bless { port => $sock->sockport, modefile => $modefile, logfile => $logfile,
                       values => $opt{values} || {}, owner => $$ }, $class;
    $self->mode('normal');
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setpgrp(0, 0);      # its connection processes stop with it
        $SIG{CHLD} = 'IGNORE';
        $SIG{PIPE} = 'IGNORE';
        while (my $c = $sock->accept) {
            my $kid = fork // next;
            if ($kid == 0) { $self->_serve($c); POSIX::_exit(0); }
            close $c;
        }
        POSIX::_exit(0);
    }
    POSIX::setpgid($pid, $pid);   # either side may be first
    close $sock;
    $self->{pid} = $pid;
    return $self;
}

sub port { $_[0]{port} }

sub config {
    return "LoadModule socache_memcache_module $PGTest::MODULES/mod_socache_memcache.so\n"
         . "ProxyGuardBanCache memcache:127.0.0.1:$_[0]{port}\n";
}

sub mode {
    my ($self, $mode) = @_;
    open my $f, '>', "$self->{modefile}.new" or die $!;
    print $f $mode;
    close $f;
    rename "$self->{modefile}.new", $self->{modefile} or die $!;
}

sub _mode {
    open my $f, '<', $_[0]{modefile} or return 'normal';
    local $/;
    return <$f>;
}

sub _log {
    my ($self, $line) = @_;
    open my $f, '>>', $self->{logfile} or return;
    print $f "$line\n";
    close $f;
}

# get lines answered so far, as "MODE KEY" (the key as hex is decoded)
sub gets {
    my ($self) = @_;
    open my $f, '<', $self->{logfile} or return ();
    return map { chomp; $_ } <$f>;
}

sub _key_text {
    my ($key) = @_;
    return $key =~ /:([0-9a-fA-F]+)$/ ? pack('H*', $1) : $key;
}

sub _serve {
    my ($self, $c) = @_;
    $c->autoflush(1);
    while (defined(my $line = <$c>)) {
        $line =~ s/\r?\n$//;
        if ($line =~ /^set (\S+) \d+ \d+ (\d+)/) {
            read($c, my $data, $2 + 2);
            print $c "STORED\r\n";
        }
        elsif ($line =~ /^delete /) {
            print $c "DELETED\r\n";
        }
        elsif ($line =~ /^get (\S+)/) {
            my ($key, $mode) = ($1, $self->_mode);
            my $text = _key_text($key);
            $self->_log("$mode $text");
            if ($mode eq 'huge') {
                print $c "VALUE $key 0 300000000\r\n";
                my $chunk = 'x' x 65536;
                while (print $c $chunk) {}
                return;
            }
            if ($mode eq 'drip') {
                print $c "VALUE $key 0 10\r\n";
                for (1 .. 40) { print $c '1' or return; sleep 0.3; }
                return;
            }
            my $v = $self->{values}{$text};
            print $c defined $v ? "VALUE $key 0 " . length($v) . "\r\n$v\r\nEND\r\n" : "END\r\n";
        }
        else {
            print $c "ERROR\r\n";
        }
    }
}

sub stop {
    my ($self) = @_;
    return if !$self->{pid} || $$ != $self->{owner};
    # the listener and its connection processes: one process group
    kill 'TERM', -$self->{pid};
    waitpid($self->{pid}, 0);
    delete $self->{pid};
}

sub DESTROY { $_[0]->stop }

1;
