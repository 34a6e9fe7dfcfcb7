#!/usr/bin/perl
# Malformed and hostile log lines: counted, never fatal, and escaped in
# every output: the terminal report (no control byte reaches the terminal),
# the JSON (valid, whatever the bytes), the HTML (markup stays text: checked
# in headless Chromium, as t/13_browser.t checks the status page), and
# --lines.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Temp qw(tempdir);
use Test::More;
use PGScan;

PGScan::need_tool('chromium', 'chromium');
my $dir = tempdir('pgscan-hostile-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $dir;
my $t = '[02/Aug/2009:17:54:40 +0800]';
my @good = (
    # markup in the request, the user agent and a CONNECT target
    qq{192.0.2.1 - - $t "GET http://evil.test/</code></td></tr></table><script>document.title='pwned'</script> HTTP/1.1" 200 5 "-" "<img src=x onerror=alert(2)>"},
    qq{192.0.2.2 - - $t "CONNECT <b>bold</b>:25 HTTP/1.0" 405 230 "-" "-"},
    # a terminal escape sequence and high bytes, raw (a forged line: httpd
    # itself would have written \\x1b)
    qq{192.0.2.3 - - $t "GET http://\x1b[31mred.test/\xff\xfe HTTP/1.1" 200 77 "-" "-"},
    # a client field that is a host name with an escape in it (HostnameLookups)
    qq{ev\x1b]0;owned\x07il.example - - $t "CONNECT 59.124.98.13:25 HTTP/1.0" 405 230 "-" "-"},
    # what breaks naive JSON
    qq|192.0.2.4 - - $t "GET http://x.test/\\"}], \\"lines\\": 0 HTTP/1.1" 404 10 "-" "-"|,
    # escaped quotes inside %r, as httpd writes them
    qq{192.0.2.5 - - $t "GET /a\\"b\\\\c HTTP/1.1" 200 10 "-" "-"},
    # CRLF line ending
    qq{192.0.2.6 - - $t "CONNECT 1.2.3.4:25 HTTP/1.0" 405 230 "-" "-"\r},
    # a status that is no status: verdict unknown
    qq{192.0.2.7 - - $t "CONNECT 1.2.3.5:25 HTTP/1.0" abc 230 "-" "-"},
    # a time that is no time: counted, in no month
    qq{192.0.2.8 - - [99/Foo/2009:17:54:40 +0800] "CONNECT 1.2.3.6:25 HTTP/1.0" 405 230 "-" "-"},
    # a NUL byte is just a byte of the request
    qq{192.0.2.11 - - $t "GET http://nul.test/\x00 HTTP/1.1" 200 1 "-" "-"},
);
my @bad = (
    '',
    '-',
    "\x00\x01\x02 binary \xff",
    qq{192.0.2.9 - - $t "GET http://evil.test/ HTTP/1.1},        # no closing quote
    qq{192.0.2.10 - - 02/Aug/2009:17:54:40 "GET / HTTP/1.1" 200 1},   # no brackets
    "x" x (2 * 1024 * 1024),                                      # overlong
    qq{<script>alert(3)</script> garbage},
);
my $log = PGScan::spew("$dir/access.log", join '', map { "$_\n" } @good, @bad);
my $n = @good + @bad;

# --- JSON -------------------------------------------------------------
my ($j, $rc) = PGScan::json('--top', '0', $log);
is($rc, 0, 'exit 0: bad lines are never fatal');
is($j->{lines}, $n, "all $n lines counted (the JSON-breaking request did not break it)");
is($j->{unparsed}, scalar(@bad), scalar(@bad) . ' unparsed');
is($j->{overlong}, 1, 'the 2 MB line counted as overlong');
is($j->{hits}{connect}, 5, '5 CONNECT hits');
is($j->{hits}{'absolute-uri'}, 4, '4 absolute-URI hits (markup, ESC, JSON-breaker, NUL)');
is($j->{verdicts}{unknown}, 1, 'the line with status "abc": verdict unknown');
my %c = map { $_->{address} => $_ } @{ $j->{clients} };
ok($c{"ev\x1b]0;owned\x07il.example"}, 'a host-name client keeps its bytes in JSON (escaped as \\u00NN)');
ok(!defined $c{'192.0.2.8'}{first}, 'a time that is no time: first is null');
is(scalar(keys %{ $j->{months} }), 1, 'and it is in no month');
my ($raw_rc, $raw_json) = PGScan::run([ 'scan', '--json', '--top', '0', $log ]);
unlike($raw_json, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'the JSON text holds no raw control or 8-bit byte');
like($raw_json, qr/\\u001b\[31mred\.test/, 'ESC written as \\u001b');

# --- the readable report ---------------------------------------------------
my ($rrc, $report) = PGScan::run([ 'scan', '--top', '0', $log ]);
is($rrc, 0, 'report: exit 0');
unlike($report, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'report: no control byte or 8-bit byte reaches the terminal');
like($report, qr/\\x1b\[31mred\.test\/\\xff\\xfe/, 'report: ESC and high bytes shown as \\xNN');
like($report, qr/ev\\x1b\]0;owned\\x07il\.example/, 'report: the hostile client name too');
like($report, qr/Unparsed lines: 7/, 'report: unparsed lines counted');

# --- --lines ----------------------------------------------------------------
my ($lrc, $listing) = PGScan::run([ 'scan', '--lines', $log ]);
is($lrc, 0, '--lines: exit 0');
unlike($listing, qr/[\x00-\x08\x0b-\x1f\x7f-\xff]/, '--lines: escaped');
is(scalar(() = $listing =~ /^.*\n/mg), $n, '--lines: one line per log line');
is(scalar(() = $listing =~ /\tunparsed\t/g), scalar(@bad), '--lines: the unparsed ones say so');

# --- HTML, in a real browser --------------------------------------------
my $html = "$dir/report.html";
my ($hrc, $hout, $herr) = PGScan::run([ 'scan', '--html', $html, '--top', '0', $log ]);
is($hrc, 0, '--html: exit 0') or diag $herr;
like($hout, qr/^proxyguard scan: 1 file/m, '--html: the report still goes to stdout');
my $page = PGScan::slurp($html);
unlike($page, qr/<script|<img|<b>/i, 'the page holds no markup from the log');
unlike($page, qr/<[^>]*\s(?:src|href)\s*=|url\(|\@import/i, 'self-contained: nothing loaded from elsewhere');
like($page, qr/nul\.test\/\\x00 HTTP/, 'a NUL byte is shown as \\x00, and the rest of its line kept');
unlike($page, qr/[\x00-\x09\x0b-\x1f\x7f-\xff]/, 'no raw control or 8-bit byte in the page');

my $profile = "$dir/chromium-profile";
my @flags = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync',
             '--hide-scrollbars', "--user-data-dir=$profile");
my $dom = `chromium @flags --dump-dom 'file://$html' 2>/dev/null`;
like($dom, qr/<title>proxyguard scan<\/title>/, 'the browser kept our title: no script of the log ran');
unlike($dom, qr/<title>[^<]*pwned/, 'document.title was never changed');
like($dom, qr/&lt;\/code&gt;&lt;\/td&gt;&lt;\/tr&gt;&lt;\/table&gt;&lt;script&gt;document\.title='pwned'/,
     'the attacker\'s markup is text in the DOM');
like($dom, qr/&lt;img src=x onerror=alert\(2\)&gt;/, 'the user agent too');
unlike($dom, qr/<script|<img|<b>/i, 'no element the log asked for exists in the DOM');
like($dom, qr/<svg id="months"[^>]*>.*<rect [^>]*fill="#c0392b"/s,
     'the SVG chart per month has CONNECT bars (the status page\'s colour)');
like($dom, qr/<td class="n" id="total">9<\/td>/, 'the DOM shows the 9 hits');
like($dom, qr/\\x1b\[31mred\.test/, 'ESC shown as \\x1b in the page');

my $png = "$dir/scan.png";
system("chromium @flags --window-size=1100,1500 --screenshot='$png' 'file://$html' >/dev/null 2>&1");
ok(-s $png && -s $png > 10_000, 'the page renders (screenshot taken)');

done_testing;
