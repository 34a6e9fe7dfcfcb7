package PGHttp;

# Raw HTTP over a socket to 127.0.0.1: HTTP client libraries rewrite or
# refuse request lines such as "CONNECT host:25 HTTP/1.0", so the tests and
# the demo write the bytes themselves.

use strict;
use warnings;
use IO::Socket::INET;

# A TCP connection to 127.0.0.1:port, from a local address if given.
sub tcp_connect {
    my ($port, $from) = @_;
    my $s = IO::Socket::INET->new(
        PeerAddr => '127.0.0.1',
        PeerPort => $port,
        Proto    => 'tcp',
        Timeout  => 10,
        ($from ? (LocalAddr => $from) : ()),
    ) or die "connect to 127.0.0.1:$port: $!\n";
    $s->autoflush(1);
    return $s;
}

# raw_request(port, bytes [, local address]) -> { status, headers, body, raw }
sub raw_request {
    my ($port, $raw, $from) = @_;
    my $s = tcp_connect($port, $from);
    print $s $raw;
    shutdown($s, 1);        # no more requests: httpd closes after answering
    my $data = '';
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $data .= $buf;
    }
    close $s;
    return parse_response($data);
}

# The same over TLS: raw_request_tls(port, bytes, SNI name [, local address]).
# The server's certificate is the test's own, self-signed: not verified.
# TLS has no half-close to say "no more requests", so a request without a
# Connection header gets "Connection: close" after its request line.
sub raw_request_tls {
    my ($port, $raw, $sni, $from) = @_;
    require IO::Socket::SSL;
    $raw =~ s/\r\n/\r\nConnection: close\r\n/ unless $raw =~ /^Connection:/mi;
    my $s = IO::Socket::SSL->new(
        PeerAddr        => '127.0.0.1',
        PeerPort        => $port,
        Timeout         => 10,
        SSL_hostname    => $sni,
        SSL_verify_mode => IO::Socket::SSL::SSL_VERIFY_NONE(),
        ($from ? (LocalAddr => $from) : ()),
    ) or die "TLS to 127.0.0.1:$port: $IO::Socket::SSL::SSL_ERROR $!\n";
    print $s $raw;
    my $data = '';
    while (1) {
        my $n = sysread($s, my $buf, 65536);
        last unless $n;
        $data .= $buf;
    }
    close $s;
    return parse_response($data);
}

sub parse_response {
    my ($data) = @_;
    my %res = (raw => $data, status => 0, headers => {}, body => '');
    my ($head, $body) = split /\r\n\r\n/, $data, 2;
    return \%res unless defined $head;
    my @lines = split /\r\n/, $head;
    my $status_line = shift @lines // '';
    ($res{status}) = $status_line =~ m{^HTTP/\d\.\d (\d{3})};
    $res{status} //= 0;
    $res{status_line} = $status_line;
    for (@lines) {
        my ($k, $v) = /^([^:]+):\s*(.*)$/ or next;
        $res{headers}{ lc $k } = $v;
    }
    $res{body} = $body // '';
    $res{body} = dechunk($res{body})
        if ($res{headers}{'transfer-encoding'} // '') =~ /chunked/i;
    return \%res;
}

# A kept-alive connection: requests one after another on one socket, as a
# browser sends them (what a connection remembers between requests is
# tested this way).
#   my $c = PGHttp::Conn->new(port [, local address]);
#   my $res = $c->request(bytes);   # one response: Content-Length or chunked
# A server may close a kept-alive connection while it is idle (the event
# MPM does when its workers are short); request() then does what a browser
# does: it connects again and sends the request once more, counting it in
# $c->{reconnects}.  Tests of what one connection remembers check that
# this stayed 0.
package PGHttp::Conn;

sub new {
    my ($class, $port, $from) = @_;
    return bless { sock => PGHttp::tcp_connect($port, $from), buf => '',
                   port => $port, from => $from, reconnects => 0 }, $class;
}

# Reads until $done->() says the buffer holds the whole response (or EOF).
sub _read_until {
    my ($self, $done) = @_;
    until ($done->()) {
        my $n = sysread($self->{sock}, my $chunk, 65536);
        return 0 unless $n;
        $self->{buf} .= $chunk;
    }
    return 1;
}

sub request {
    my ($self, $raw) = @_;
    local $SIG{PIPE} = 'IGNORE';
    my $sent = print { $self->{sock} } $raw;
    my $got = $sent && $self->_read_until(sub { index($self->{buf}, "\r\n\r\n") >= 0 });
    if (!$got && $self->{buf} eq '') {
        # closed while idle: again, on a new connection
        close $self->{sock};
        $self->{sock} = PGHttp::tcp_connect($self->{port}, $self->{from});
        $self->{reconnects}++;
        print { $self->{sock} } $raw;
        $got = $self->_read_until(sub { index($self->{buf}, "\r\n\r\n") >= 0 });
    }
    $got or return PGHttp::parse_response(substr($self->{buf}, 0, length $self->{buf}, ''));
    my $head_len = index($self->{buf}, "\r\n\r\n") + 4;
    my $head = substr($self->{buf}, 0, $head_len);
    my $len;
    if ($head =~ /^Content-Length:\s*(\d+)/mi) {
        $len = $head_len + $1;
        $self->_read_until(sub { length($self->{buf}) >= $len });
    }
    elsif ($head =~ /^Transfer-Encoding:\s*chunked/mi) {
        $self->_read_until(sub { $self->{buf} =~ /\r\n0\r\n(?:[^\r\n]+\r\n)*\r\n/g
                                 and ($len = pos($self->{buf})) });
    }
    $len //= $head_len;
    return PGHttp::parse_response(substr($self->{buf}, 0, $len, ''));
}

sub close { close $_[0]{sock} }

package PGHttp;

sub dechunk {
    my ($data) = @_;
    my $out = '';
    while ($data =~ s/^([0-9a-fA-F]+)[^\r\n]*\r\n//) {
        my $len = hex $1;
        last if $len == 0;
        $out .= substr($data, 0, $len, '');
        $data =~ s/^\r\n//;
    }
    return $out;
}

1;
