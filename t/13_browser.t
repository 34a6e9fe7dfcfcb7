#!/usr/bin/perl
# The HTML status page in a real browser: headless Chromium loads it from
# the test's httpd, the DOM it built is checked, and a screenshot is taken
# (build/status-<mpm>.png; `make screenshot` refreshes docs/status.png).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use PGTest;

my $chromium = `command -v chromium 2>/dev/null`;
chomp $chromium;
if (!$chromium) {
    # make test installs chromium and sets PG_REQUIRE_TOOLS: never a skip there
    fail('chromium is installed') if $ENV{PG_REQUIRE_TOOLS};
    plan skip_all => 'chromium not installed (make test installs it)';
}

# Unsafe: let markup in the request-target past httpd's own checks.  The
# browser asks by IP: ProxyGuardUnknownHost Allow keeps its own requests out
# of the counts, so the numbers below are exact.
my $srv = PGTest->new(name => 'browser', conf => sub {
    "HttpProtocolOptions Unsafe\n" . $_[0]->status_location
    . $_[0]->standard_vhosts(default_extra => 'ProxyGuardUnknownHost Allow');
});
$srv->start;

# Traffic worth looking at: several clients, reasons and ports, and hostile
# text that must arrive in the DOM as text, not markup.
for my $i (1 .. 12) {
    $srv->request("CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n", from => "127.0.3.$i");
}
$srv->request("CONNECT mx0.example.com.tw:587 HTTP/1.0\r\n\r\n", from => '127.0.4.1') for 1 .. 5;
$srv->request("CONNECT 140.112.65.3:443 HTTP/1.0\r\n\r\n", from => '127.0.4.2') for 1 .. 3;
$srv->request("GET http://www.online.sh.cn/ HTTP/1.1\r\nHost: www.online.sh.cn\r\n\r\n", from => '127.0.5.9') for 1 .. 8;
$srv->request("GET http://6.example.cn/zc/chs/img/body.png HTTP/1.1\r\nHost: 6.example.cn\r\nProxy-Connection: keep-alive\r\n\r\n", from => '127.0.5.10') for 1 .. 4;
$srv->request("GET http://evil.test/<script>document.title='pwned'</script> HTTP/1.1\r\nHost: evil.test\r\n\r\n", from => '127.0.6.1') for 1 .. 2;
$srv->request("GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Authorization: Basic eDp5\r\n\r\n", from => '127.0.6.2');

my $url = 'http://127.0.0.1:' . $srv->port . '/proxyguard-status';
my $profile = "$srv->{dir}/chromium-profile";
my @flags = ('--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
             '--no-first-run', '--disable-background-networking',
             '--disable-component-update', '--disable-sync',
             '--hide-scrollbars', "--user-data-dir=$profile");

my $dom = `'$chromium' @flags --dump-dom '$url' 2>/dev/null`;
like($dom, qr/<svg id="timeline-minutes"[^>]*>.*<rect [^>]*fill="#c0392b"/s,
     'the browser built the SVG timeline with bars in it');
like($dom, qr/<td class="n" id="total">35<\/td>/, 'the DOM shows the total of 35 hits');
like($dom, qr/<title>mod_proxyguard status<\/title>/,
     'the page title is ours: the attacker\'s <script> did not run');
like($dom, qr/&lt;script&gt;document\.title='pwned'&lt;\/script&gt;/,
     'the attacker\'s markup is text in the DOM');
like($dom, qr/<td>127\.0\.3\.0\/24<\/td><td class="n">12<\/td><td class="n">12<\/td>/,
     'top networks: 127.0.3.0/24 with 12 hits from 12 addresses');

my $png = "$PGTest::TOP/build/status-$srv->{mpm}.png";
unlink $png;
system("'$chromium' @flags --window-size=1100,1500 --screenshot='$png' '$url' >/dev/null 2>&1");
ok(-s $png && -s $png > 10_000, "screenshot taken: $png") or diag "no screenshot";
open my $fh, '<:raw', $png;
read($fh, my $magic, 8) if $fh;
is($magic // '', "\x89PNG\r\n\x1a\n", 'the screenshot is a PNG');

$srv->stop;
done_testing;
