#!/usr/bin/perl
# LogFormat strings: the presets, httpd.conf's backslash escapes, time
# fields (%t, %{sec}t, %{msec}t, strftime), status conditions, %m/%U
# instead of %r, an IPv6 %v before ":%p", leniency where real logs differ
# from their format (common lines under combined and the reverse), and
# strictness where a wrong format would misread lines.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGScan;

my $dir = tempdir('pgscan-format-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $n = 0;

# scan one log (lines) with a format; returns the decoded JSON (and
# stderr).  Most lines unparsed: exit 3, and stderr says so.
sub scan {
    my ($format, @lines) = @_;
    my $log = PGScan::spew("$dir/f" . ++$n . '.log', join '', map { "$_\n" } @lines);
    my ($j, $rc, $err) = PGScan::json('--top', '0', ($format ? ('--format', $format) : ()), $log);
    my $want = $j->{unparsed} && $j->{unparsed} * 2 > $j->{lines} ? 3 : 0;
    is($rc, $want, "format '" . ($format // 'found from the lines') . "': exit $want") or diag $err;
    return wantarray ? ($j, $err) : $j;
}

my $t = '[02/Aug/2009:17:54:40 +0800]';
my $common = qq{205.209.140.102 - - $t "CONNECT 168.95.5.43:25 HTTP/1.0" 404 723};
my $combined = qq{$common "-" "Mozilla/4.0 (compatible; MSIE 5.5)"};

# --- presets and leniency ---------------------------------------------
my $j = scan(undef, $common, $combined);
is($j->{unparsed}, 0, 'combined (default) reads a common line too: the fields it lacks are not logged');
is($j->{hits}{connect}, 2, '... both CONNECTs');
$j = scan('common', $common, $combined);
is($j->{unparsed}, 0, 'common reads a combined line: what follows the last field is not looked at');
is($j->{verdicts}{rejected}, 2, '... and its size is read right (404 723: rejected)');
($j, my $err) = scan('combined', qq{www.example.com:80 $combined});
is($j->{unparsed}, 1, 'a vhost_combined line under combined: unparsed, not misread');
like($err, qr/^proxyguard: scan: \S+f\d+\.log: 1 of 1 lines are not in the format given; --format vhost_combined reads 1 of the first 1 of them$/m,
     '... most of the file unparsed: exit 3, naming the preset that reads it');
is($j->{unparsed_examples}[0]{reason}, 'unparsed', '... and shown as an example');
$j = scan('vhost_combined', qq{www.example.com:80 $combined});
is($j->{hits}{connect}, 1, 'vhost_combined reads it');
$j = scan('vhost_combined', qq{[::1]:8443 $combined});
is($j->{unparsed}, 0, 'vhost_combined with an IPv6 ServerName ([::1]:8443)');
$j = scan('proxyguard', qq{$common "Mozilla/4.0" connect/deny},
          qq{192.0.2.1 - - $t "GET / HTTP/1.1" 200 5 "curl/8" -/-});
is($j->{hits}{connect}, 1, 'the guide\'s abuse log format (preset proxyguard)');
is_deeply($j->{module}, { hits => 1, disagree => 0 }, '... whose %{PROXYGUARD}e scan reads and agrees with');
$j = scan('combinedio', qq{$combined 120 900});
is($j->{hits}{connect}, 1, 'combinedio (Debian)');

# --- httpd.conf escapes ------------------------------------------------------
$j = scan('%h %l %u %t \"%r\" %>s %b', $combined);
is($j->{hits}{connect}, 1, 'a format pasted from httpd.conf, with \\" escapes');

# --- time fields -------------------------------------------------------------
my $req = '"CONNECT 1.2.3.4:25 HTTP/1.0" 405';
$j = scan('%a [%{%Y-%m-%d %H:%M:%S %z}t] "%r" %>s', qq{192.0.2.1 [2009-08-02 17:54:40 +0800] $req});
is($j->{first}, '2009-08-02T17:54:40+08:00', 'strftime %Y-%m-%d %H:%M:%S %z');
$j = scan('%a %{%d/%b/%Y:%T}t "%r" %>s', qq{192.0.2.1 02/Aug/2009:17:54:40 $req});
is($j->{first}, '2009-08-02T17:54:40+00:00', 'strftime %d/%b/%Y:%T (no zone: UTC)');
$j = scan('%a %{sec}t "%r" %>s', qq{192.0.2.1 1249206880 $req});
is($j->{first}, '2009-08-02T09:54:40+00:00', '%{sec}t');
$j = scan('%a %{msec}t "%r" %>s', qq{192.0.2.1 1249206880123 $req});
is($j->{first}, '2009-08-02T09:54:40+00:00', '%{msec}t');
$j = scan('%a %{end:usec}t "%r" %>s', qq{192.0.2.1 1249206880123456 $req});
is($j->{first}, '2009-08-02T09:54:40+00:00', '%{end:usec}t');
$j = scan(undef, qq{63.251.56.142 - - [25/Jul/2002:12:48:04 -0700] "CONNECT smtp.example.com:25 HTTP/1.0" 200 1456});
is($j->{first}, '2002-07-25T12:48:04-07:00', 'a negative offset (the Apache wiki\'s line)');
$j = scan(undef, qq{63.251.56.142 - - [31/Dec/2009:23:30:00 -0100] "CONNECT a:25 HTTP/1.0" 405 1});
is_deeply([ keys %{ $j->{months} } ], [ '2009-12' ], 'months in the line\'s own offset (2010-01 in UTC)');

# --- other directives --------------------------------------------------------
$j = scan('%h %l %u %t "%r" %>s %b "%400,501{Referer}i" "%!200{User-Agent}i"', $combined);
is($j->{hits}{connect}, 1, 'status conditions (%400,501{...}i, %!200{...}i)');
$j = scan('%{c}a %a %h %m %U %>s', qq{10.0.0.1 192.0.2.7 host.example CONNECT 1.2.3.4:25 405});
is($j->{clients}[0]{address}, '192.0.2.7', '%a (the client httpd reports) wins over %{c}a and %h');
is($j->{hits}{connect}, 1, '%m %U instead of %r: CONNECT is seen');
$j = scan('%h %m %U %>s', qq{192.0.2.1 GET /index.html 200});
is($j->{hits}{'absolute-uri'}, 0, '%U holds the path only: an absolute URI cannot show there');
$j = scan('%h %>s %% "%r"', qq{192.0.2.1 405 % "CONNECT a:25 HTTP/1.0"});
is($j->{hits}{connect}, 1, '%% is a literal %');
$j = scan(undef, qq{192.0.2.1 - - $t "GET http://evil.test/" 200 5});
is($j->{hits}{'absolute-uri'}, 1, 'an HTTP/0.9-style request line without protocol');
$j = scan('%h %>s %b "%r" %^ti %X %k %D %T %P %{pid}P %L', qq{192.0.2.1 405 - "CONNECT a:25 HTTP/1.0" - + 0 12 0 1 1 -});
is($j->{hits}{connect}, 1, 'the other directives are skipped');

# --- strict where it matters ---------------------------------------------------
$j = scan(undef, qq{205.209.140.102 - - $t CONNECT 168.95.5.43:25 HTTP/1.0 404 723},
          qq{205.209.140.102 - - $t "CONNECT 168.95.5.43:25 HTTP/1.0},
          qq{205.209.140.102 - - 02/Aug/2009:17:54:40 "CONNECT a:25 HTTP/1.0" 404 1},
          qq{205.209.140.102 - -});
is($j->{unparsed}, 4, 'no quotes, an unclosed quote, no brackets, a line ending early: unparsed');
($j, $err) = scan(undef, qq{205.209.140.102 - - $t CONNECT 168.95.5.43:25 HTTP/1.0 404 723});
like($err, qr/^proxyguard: scan: \S+f\d+\.log: 1 of 1 lines are in no preset: give their LogFormat with --format$/m,
     'a file no preset reads, and no --format: exit 3, asking for the LogFormat');
is($j->{hits}{connect}, 0, '... and never counted as hits');
$j = scan(undef, qq{192.0.2.1 - - $t "GET /a\\" 200 1 \\"b HTTP/1.1" 200 5 "-" "-"});
is($j->{unparsed}, 0, 'an escaped quote inside %r does not end it');
is($j->{verdicts}{unknown}, 0, '... and the status after it is read');

done_testing;
