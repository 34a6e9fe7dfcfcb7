#!/usr/bin/perl
# The docs cannot rot: every fenced block of README.md and docs/*.md that is
# configuration or a command is exercised here.
#   apache  each block passes apache2 -t (the installed module path is the
#           freshly built one; common modules are loaded around it)
#   yaml    promtool check config
#   ini     with the shipped filter and jail, in a real fail2ban server
#           (dummy ban action) that the documented fail2ban-client commands
#           then talk to
#   sh      make: the target exists (make -n); grep: run on a real access
#           log; curl: run against a real server; fail2ban-client: above
# Blocks without a language (sample output) and json (sample output) are not
# commands.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Copy qw(copy);
use File::Path qw(make_path);
use Test::More;
use PGTest;

my $top = $PGTest::TOP;
my $so = PGTest::module_so();
my @blocks;
for my $file (map { "$top/$_" } 'README.md', map { "docs/$_" } sort map { s{.*/}{}r } glob("$top/docs/*.md")) {
    open my $fh, '<', $file or die "$file: $!";
    my $text = do { local $/; <$fh> };
    (my $name = $file) =~ s{^\Q$top\E/}{};
    my $n = 0;
    while ($text =~ /^```(\w*)\n(.*?)^```/msg) {
        push @blocks, { file => $name, lang => $1, body => $2, n => ++$n };
    }
}
ok(@blocks > 30, scalar(@blocks) . ' fenced blocks found');
my %seen;
$seen{ $_->{lang} }++ for @blocks;
is_deeply([ sort grep { !/^(apache|sh|ini|yaml|json|)$/ } keys %seen ], [],
          'every block is of a kind this test knows');

# --- apache ---------------------------------------------------------
my $preload = join '', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
    qw(proxy proxy_http proxy_connect socache_shmcb socache_memcache socache_redis remoteip status);
for my $b (grep { $_->{lang} eq 'apache' } @blocks) {
    (my $conf = $b->{body}) =~ s{/usr/lib/apache2/modules/mod_proxyguard\.so}{$so}g;
    my $load = $conf =~ /LoadModule proxyguard_module/ ? '' : "LoadModule proxyguard_module $so\n";
    my $srv = PGTest->new(name => 'docs', load_module => 0, conf => sub {
        "Define APACHE_LOG_DIR $_[0]{dir}/logs\n$preload$load$conf";
    });
    my ($rc, $out) = $srv->configtest;
    ok($rc == 0 && $out =~ /Syntax OK/, "$b->{file} apache block $b->{n}: apache2 -t") or diag "$out\n$conf";
}

# --- yaml (Prometheus scrape configuration) --------------------------
for my $b (grep { $_->{lang} eq 'yaml' } @blocks) {
    SKIP: {
        skip 'promtool not installed', 1 unless `command -v promtool 2>/dev/null` || $ENV{PG_REQUIRE_TOOLS};
        my $srv = PGTest->new(name => 'docs-yaml');
        my $path = $srv->write_file('prometheus.yml', $b->{body});
        my $out = `promtool check config '$path' 2>&1`;
        is($? >> 8, 0, "$b->{file} yaml block $b->{n}: promtool check config") or diag $out;
    }
}

# --- sh -------------------------------------------------------------
my @sh = map { my $b = $_; map { { %$b, cmd => $_ } } grep { /\S/ && !/^\s*#/ } split /\n/, $b->{body} }
         grep { $_->{lang} eq 'sh' } @blocks;
my (@fail2ban_cmds, @probe_cmds);
for my $c (@sh) {
    (my $cmd = $c->{cmd}) =~ s/\s+#.*$//;
    my $where = "$c->{file}: `$cmd`";
    if ($cmd =~ /^make demo$/) {
        # for real, on a free port; then the documented way to stop it
        my $port = PGTest::free_port();
        my $out = `DEMO_PORT=$port make -s -C '$top' demo 2>&1`;
        is($? >> 8, 0, "$where: runs") or diag $out;
        like($out, qr/CONNECT 59\.124\.98\.13:25 HTTP\/1\.0\n  -> HTTP\/1\.1 405 /, "$where: shows the CONNECT probe answered 405");
        like($out, qr/GET http:\/\/www\.online\.sh\.cn\/ HTTP\/1\.1\n.*\n  -> HTTP\/1\.1 403 /, "$where: ... the absolute-URI probe 403");
        like($out, qr/^  ProxyGuardTotal: \d+$/m, "$where: ... and ?auto lines of the status page");
        like($out, qr/^OK - not an open proxy for this client \(127\.0\.0\.1\): all \d+ probes rejected/m,
             "$where: ... and proxyguard probe finds no open proxy");
        like($out, qr/^proxyguard scan: 1 file, \d+ lines, 0 unparsed$/m,
             "$where: ... and proxyguard scan reads the demo's own access log, every line");
        my ($guarded) = $out =~ /^(What the access log shows:.*?)^For comparison/ms;
        like($guarded // '', qr/^Did it work\?  Nothing in these logs shows a relayed request or an accepted CONNECT tunnel\.$/m,
             "$where: ... the guarded server's log: nothing relayed");
        like($guarded // '', qr/^  origin-form +[1-9]\d*\n    origin-form +[1-9]/m,
             "$where: ... its status-page and by-address reads are origin-form");
        like($guarded // '', qr/^  suspect +0\n  undetermined +0$/m, "$where: ... and nothing is suspect or undetermined");
        like($out, qr/^!! 1 request may have been relayed through this server \(1 suspect, 0 undetermined\); 1 CONNECT tunnel was accepted\.$/m,
             "$where: ... and the replayed open proxy's log leads with the headline");
        like($out, qr/Stop it with: make demo-stop/, "$where: ... and how to stop it");
        $out = `DEMO_PORT=$port make -s -C '$top' demo-stop 2>&1`;
        like($out, qr/stopped httpd/, "$where: make demo-stop stops it");
    }
    elsif ($cmd =~ /^make\s+(\S+)/) {
        # make test is CI's own command; the others are long runs
        system("make -n -C '$top' $1 >/dev/null 2>&1");
        is($? >> 8, 0, "$where: the make target exists");
    }
    elsif ($cmd =~ /^grep\s+-E\s+'([^']+)'\s+(\S+)$/) {
        my $re = $1;
        my $srv = PGTest->new(name => 'docs-grep');
        my $log = $srv->write_file('access.log', join '', map { "$_\n" }
            '205.209.140.102 - - [03/Aug/2009:04:16:19 +0800] "CONNECT 140.112.65.3:25 HTTP/1.0" 200 1144 "-" "-"',
            '218.154.135.125 - - [30/May/2004:12:18:21 +0800] "GET http://www.online.sh.cn/ HTTP/1.1" 200 1362',
            '198.51.100.7 - - [30/May/2004:12:18:22 +0800] "GET /index.html HTTP/1.1" 200 1362',
            '198.51.100.8 - - [30/May/2004:12:18:23 +0800] "POST /login?next=http://x/ HTTP/1.1" 302 0');
        (my $run = $cmd) =~ s/\Q$2\E$/'$log'/;
        my @hits = `$run`;
        is(scalar @hits, 2, "$where: finds the two probes in a sample access log");
        ok(!grep({ /index\.html|login/ } @hits), "$where: and not the ordinary requests");
    }
    elsif ($cmd =~ m{^curl -d unban=(\S+) http://127\.0\.0\.1/proxyguard-status$}) {
        my $addr = $1;
        my $srv = PGTest->new(name => 'docs-curl', conf => sub {
            "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
            . "ProxyGuardBan 10 60 3600\n" . $_[0]->status_location . $_[0]->standard_vhosts;
        });
        $srv->start;
        (my $run = $cmd) =~ s{http://127\.0\.0\.1/}{'http://127.0.0.1:' . $srv->port . '/'}e;
        my $out = `$run 2>&1`;
        is($? >> 8, 0, "$where: curl succeeds against a server with bans");
        like($out, qr/^ban on \Q$addr\E lifted/m, "$where: the server lifts the ban");
        $srv->stop;
    }
    elsif ($cmd =~ /^fail2ban-client /) {
        push @fail2ban_cmds, [ $where, $cmd ];
    }
    elsif ($cmd =~ /^proxyguard probe(?: |$)/) {
        push @probe_cmds, [ $where, $cmd ];
    }
    elsif ($cmd =~ /^proxyguard scan /) {
        # the articles' real log lines as the files the line names: plain,
        # rotated, gzip; the command must succeed, and its output must be
        # what it says it is
        my $srv = PGTest->new(name => 'docs-scan');
        my $dir = $srv->dir;
        for my $f (map { m{^(access\.log[.\d]*(?:\.gz)?)$} ? $1 : () } split ' ', $cmd) {
            copy("$FindBin::Bin/cli/scan/articles.log", "$dir/$f") or die $!;
            system('gzip', '-nf', "$dir/$f") == 0 && rename("$dir/$f.gz", "$dir/$f") if $f =~ /\.gz$/;
        }
        (my $run = $cmd) =~ s{^proxyguard }{$top/build/proxyguard };
        my $out = `cd '$dir' && $run 2>&1`;
        is($? >> 8, 0, "$where: runs on the articles' log lines, exit 0") or diag $out;
        if ($cmd =~ /--json/) {
            require JSON::PP;
            my $j = eval { JSON::PP->new->decode($out) };
            ok($j && $j->{hits}{connect} > 0, "$where: JSON, with the articles' CONNECTs") or diag $out;
        }
        elsif ($cmd =~ /--html (\S+)/) {
            like($srv->slurp($1), qr/<svg/, "$where: writes the HTML page, with its charts");
        }
        elsif ($cmd =~ /--lines/) {
            my @rows = map { [ split /\t/ ] } split /\n/, $out;
            ok(@rows && !grep({ @$_ != 7 } @rows), "$where: --lines gives lines of seven fields")
                or diag $out;
            if ($cmd =~ /\$3 == "suspect" \|\| \$3 == "undetermined"/) {
                is(scalar(grep { $_->[2] =~ /^(suspect|undetermined)$/ } @rows), 6,
                   "$where: lists exactly the articles' 6 suspect lines") or diag $out;
            }
        }
        elsif ($cmd =~ /--emit nftables/) {
            my $file = $srv->write_file('rules.nft', $out);
            my $check = `nft -c -f '$file' 2>&1`;
            is($? >> 8, 0, "$where: nft -c accepts the rules") or diag $check;
        }
        else {
            like($out, qr/^proxyguard scan: \d+ files?, \d+ lines/m, "$where: prints its report");
        }
    }
    else {
        fail("$where: a shell command this test does not know how to exercise");
    }
}

# --- proxyguard probe: against a real server with the module --------------
# Every documented probe line, its URLs pointed at this server: it must run
# and find no open proxy (exit 0), and --json must be JSON.
if (@probe_cmds) {
    require JSON::PP;
    my $srv = PGTest->new(name => 'docs-probe', conf => sub {
        $_[0]->status_location . $_[0]->standard_vhosts;
    });
    $srv->start;
    my $port = $srv->port;
    for my $c (@probe_cmds) {
        my ($where, $cmd) = @$c;
        (my $run = $cmd) =~ s{http://127\.0\.0\.1/}{http://127.0.0.1:$port/}g;
        $run =~ s{^proxyguard }{$top/build/proxyguard };
        my $out = `$run --timeout 3 2>&1`;
        is($? >> 8, 0, "$where: runs, exit 0 (OK)") or diag $out;
        if ($cmd =~ /--json/) {
            ok(eval { JSON::PP->new->decode($out) }, "$where: prints JSON") or diag $out;
        }
    }
    $srv->stop;
}

# --- ini + fail2ban-client: a real fail2ban server ---------------------
my @ini = grep { $_->{lang} eq 'ini' } @blocks;
SKIP: {
    skip 'fail2ban not installed', 1 unless `command -v fail2ban-server 2>/dev/null` || $ENV{PG_REQUIRE_TOOLS};
    my $srv = PGTest->new(name => 'docs-f2b');
    my $dir = $srv->dir;
    my $cfg = "$dir/fail2ban";
    make_path($cfg);
    system('cp', '-r', '/etc/fail2ban/.', $cfg) == 0 or die 'copy /etc/fail2ban';
    copy("$top/conf/fail2ban/filter.d/apache-proxyguard.conf", "$cfg/filter.d/") or die $!;
    copy("$top/conf/fail2ban/jail.d/apache-proxyguard.conf", "$cfg/jail.d/") or die $!;
    # the documented local file, verbatim
    $srv->write_file("fail2ban/jail.d/apache-proxyguard.local", $_->{body}) for @ini;
    # this test's own settings: private socket, no firewall, our log, no sshd
    my $log = $srv->write_file('logs/error.log', '');
    $srv->write_file('fail2ban/fail2ban.local', "[Definition]\nsocket = $dir/f2b.sock\n"
                     . "pidfile = $dir/f2b.pid\nlogtarget = $dir/f2b.log\ndbfile = :memory:\n");
    $srv->write_file('fail2ban/jail.d/zz-test.local', "[DEFAULT]\nbanaction = dummy\n"
                     . "banaction_allports = dummy\n[sshd]\nenabled = false\n"
                     . "[apache-proxyguard]\nlogpath = $log\n");
    my $out = `fail2ban-client -c '$cfg' start 2>&1`;
    is($? >> 8, 0, 'a fail2ban server starts with the documented jail enabled') or diag $out;
    for my $c (@fail2ban_cmds) {
        my ($where, $cmd) = @$c;
        (my $run = $cmd) =~ s/^fail2ban-client /fail2ban-client -c '$cfg' /;
        $out = `$run 2>&1`;
        is($? >> 8, 0, "$where: runs against it") or diag $out;
        like($out, qr/apache-proxyguard/, "$where: ... and names the jail") if $cmd =~ /status/;
    }
    system("fail2ban-client -c '$cfg' stop >/dev/null 2>&1");
}

done_testing;
