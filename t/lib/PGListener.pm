package PGListener;

# A loopback listener standing for a foreign site (HTTP) or a mail server
# (SMTP) in forward-proxy tests: whatever status the proxy answers, a test
# asserts whether this listener received a connection at all.
#
#   my $site = PGListener->new(addr => '127.0.0.3', kind => 'http');
#   my $smtp = PGListener->new(addr => '127.0.0.4', kind => 'smtp');
#   ... $site->port ...
#   is($site->connections, 0, 'nothing reached the foreign site');
#   my @seen = $site->seen;    # first bytes of each connection
#   $site->reset;  $site->stop;
#
# A forked child accepts connections and appends one line per connection
# (its first bytes, escaped) to a file, so the count survives in the
# parent.  The http kind answers 200 "FOREIGN-SITE"; the smtp kind greets
# with "220 ... ESMTP" and answers 250 to every line, as a relay would; the
# drop kind reads a request and closes without a word (a proxy relaying to
# it answers 502: reached, and no answer).  The ftp kind is a hostile FTP
# server for mod_proxy_ftp: it logs in anyone and sends the data
# connection where it likes, to data => "addr:port" (EPSV: the port on the
# control connection's address; with epsv => 0 it refuses EPSV so that the
# client falls back to PASV, which names the address too).

use strict;
use warnings;
use File::Temp qw(tempfile);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(_exit);
use Time::HiRes qw(sleep time);
use PGTest;

my %LIVE;
END {
    local $?;
    $_->stop for grep { defined } values %LIVE;
}

sub new {
    my ($class, %opt) = @_;
    my $addr = $opt{addr} || '127.0.0.3';
    my $kind = $opt{kind} || 'http';
    my %ftp = (data => $opt{data} // '127.0.0.1:1', epsv => $opt{epsv} // 1);
    my ($port, $sock);
    for (1 .. 50) {
        $port = PGTest::free_port();
        $sock = IO::Socket::INET->new(Listen => 64, LocalAddr => $addr, LocalPort => $port,
                                      Proto => 'tcp', ReuseAddr => 1) and last;
    }
    die "listener on $addr: $!" unless $sock;
    my (undef, $file) = tempfile("pgl-$kind-XXXXXX", TMPDIR => 1, UNLINK => 1);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        $kind eq 'ftp' ? _serve_ftp($sock, $file, \%ftp) : _serve($sock, $kind, $file);
        _exit(0);
    }
    close $sock;
    my $self = bless { addr => $addr, port => $port, kind => $kind, file => $file,
                       pid => $pid, owner => $$ }, $class;
    $LIVE{"$self"} = $self;
    return $self;
}

sub _serve {
    my ($sock, $kind, $file) = @_;
    $SIG{TERM} = sub { _exit(0) };
    while (my $c = $sock->accept) {
        $c->autoflush(1);
        print $c "220 relay.test ESMTP ready\r\n" if $kind eq 'smtp';
        my $data = '';
        my $sel = IO::Select->new($c);
        my $deadline = time + 2;
        while (time < $deadline && length($data) < 4096 && $sel->can_read(0.2)) {
            my $n = sysread($c, my $buf, 4096) or last;
            $data .= $buf;
            if ($kind eq 'smtp') {
                print $c "250 ok\r\n" for ($buf =~ /\n/g);
            }
            last if $kind ne 'smtp' && $data =~ /\r\n\r\n/;
        }
        if ($kind eq 'http') {
            print $c "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
                   . "Connection: close\r\n\r\nFOREIGN-SITE\n";
        }
        (my $line = substr($data, 0, 300)) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
        open my $fh, '>>', $file or next;
        print $fh "$line\n";
        close $fh;
        close $c;
    }
}

# One FTP session per connection, every command logged on the
# connection's line.
sub _serve_ftp {
    my ($sock, $file, $ftp) = @_;
    $SIG{TERM} = sub { _exit(0) };
    my ($daddr, $dport) = split /:/, $ftp->{data};
    my $pasv = join(',', split(/\./, $daddr), int($dport / 256), $dport % 256);
    my %answer = (
        USER => '331 any password', PASS => '230 logged in', TYPE => '200 ok',
        CWD => '250 ok', PWD => '257 "/"', SYST => '215 UNIX', FEAT => '211 end',
        SIZE => '213 10', MDTM => '213 20260101000000', OPTS => '200 ok',
        REST => '350 ok', QUIT => '221 bye',
        EPSV => $ftp->{epsv} ? "229 Entering Extended Passive Mode (|||$dport|)"
                             : '500 no EPSV',
        PASV => "227 Entering Passive Mode ($pasv)",
        RETR => '150 here it comes', LIST => '150 here it comes',
        NLST => '150 here it comes',
    );
    while (my $c = $sock->accept) {
        $c->autoflush(1);
        print $c "220 ftp.test ready\r\n";
        my $seen = '';
        my $sel = IO::Select->new($c);
        my $deadline = time + 5;
        my $buf = '';
        while (time < $deadline && $sel->can_read(0.5)) {
            my $n = sysread($c, my $more, 4096) or last;
            $buf .= $more;
            while ($buf =~ s/^([^\n]*)\n//) {
                (my $line = $1) =~ s/\r$//;
                my ($cmd) = $line =~ /^(\w+)/;
                $seen .= "$line|";
                my $reply = $answer{ uc($cmd // '') } // '502 no';
                print $c "$reply\r\n";
                print $c "226 done\r\n" if $reply =~ /^150/;
            }
        }
        (my $line = substr($seen, 0, 300)) =~ s/([^\x20-\x7e])/sprintf('\\x%02x', ord $1)/ge;
        open my $fh, '>>', $file or next;
        print $fh "$line\n";
        close $fh;
        close $c;
    }
}

sub addr { $_[0]{addr} }
sub port { $_[0]{port} }
sub hostport { "$_[0]{addr}:$_[0]{port}" }

# Connections so far; waits briefly, since a proxied request may still be
# on its way when the client already has its answer.
sub seen {
    my ($self, $wait) = @_;
    sleep($wait // 0.05);
    open my $fh, '<', $self->{file} or return ();
    return map { chomp; $_ } <$fh>;
}

sub connections { scalar(my @s = $_[0]->seen($_[1])) }

sub reset {
    my ($self) = @_;
    open my $fh, '>', $self->{file} or die "$self->{file}: $!";
    close $fh;
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid} && $self->{owner} == $$;
    kill 'TERM', $self->{pid};
    waitpid $self->{pid}, 0;
    delete $self->{pid};
    delete $LIVE{"$self"};
}

sub DESTROY {
    local $?;
    $_[0]->stop;
}

1;
