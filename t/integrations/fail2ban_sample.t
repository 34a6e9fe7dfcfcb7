#!/usr/bin/perl
# The fail2ban sample log, conf/fail2ban/tests/files/logs/apache-proxyguard,
# in fail2ban's own test format ("# failJSON: {...}" above each line), as a
# pull request to fail2ban would add it beside filter.d/apache-proxyguard.conf;
# and the jail's logpath, %(apache_error_log)s.
#
# - A real httpd (t/lib/PGLogLines.pm) writes one line of every kind; the
#   test writes them in the sample format, annotated from what it sent, and
#   the committed sample must be the same to the letter but for times,
#   pids and client ports: so its lines are a real httpd's, and stay so
#   (PG_WRITE_SAMPLE=1 rewrites the committed file from this run).
# - fail2ban-regex, over the committed and the fresh sample: every
#   "match": true line matched with its "host", no other line matched.
# - fail2ban-testcases, fail2ban's own sample test (samplestestcase.py: the
#   time and host of every line, every failregex used by a sample, no
#   greedy catch-all before <HOST>), run from a temporary copy of the
#   installed fail2ban package whose tests/files/logs holds our sample,
#   with a copy of /etc/fail2ban whose filter.d holds our filter; a broken
#   filter and a broken sample make it fail.
# - The jail's %(apache_error_log)s, set the way fail2ban sets it (a
#   paths-overrides.local), plus the per-vhost logpath of docs/fail2ban.md:
#   a real fail2ban server reads every file, and bans across them.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../lib";
use File::Copy qw(copy);
use File::Temp ();
use Test::More;
use Time::HiRes qw(sleep time);
use PGTest;
use PGScan;
use PGFail2ban;
use PGLogLines;

PGScan::need_tool($_, 'fail2ban') for qw(fail2ban-regex fail2ban-testcases fail2ban-client);
PGScan::need_tool('node', 'nodejs');        # the HTTP/2 ([remote]) lines
my $top = $PGTest::TOP;
my $sample = "$top/conf/fail2ban/tests/files/logs/apache-proxyguard";
my $filter = "$top/conf/fail2ban/filter.d/apache-proxyguard.conf";
my $evil = PGLogLines::evil_address();

# --- a real httpd's lines, in the sample format ---------------------------
my $run = PGLogLines::run(name => 'f2b-sample');
my $fresh = sample_text($run->{lines});
my $dir = $run->{srv}->dir;
my $fresh_file = $run->{srv}->write_file('apache-proxyguard', $fresh);
if ($ENV{PG_WRITE_SAMPLE}) {
    open my $fh, '>', $sample or die "$sample: $!";
    print $fh $fresh;
    close $fh;
    note("wrote $sample");
}
my $committed = PGTest->slurp_abs($sample);
my @sample = read_sample($committed);
is(scalar @sample, scalar @{ $run->{lines} }, scalar(@sample) . ' annotated lines in the committed sample, one for each line of the run');
is(shape($committed), shape($fresh),
   'the committed sample is what a real httpd writes now (but for times, pids and ports)')
    or diag "rewrite it with: PG_WRITE_SAMPLE=1 prove -I t/lib t/integrations/fail2ban_sample.t\n"
            . "and check the diff";

# what the sample covers: every failregex's kind of line, and the traps
my %covered;
for my $s (@sample) {
    my ($j, $l) = @$s;
    my ($form, $addr, $tag, $rest) = $l =~ /^\[[^]]+\] \[[^]]+\] \[pid [^]]+\] \[(client|remote) (\S+):\d+\] (PG\d{4}|AH\d{5}): (.*)$/
        or next;
    my ($action, $reason) = $rest =~ /^action=(\w+) reason=(\S+)/;
    my $m = $j->{match} ? 'match' : 'no match';
    $covered{"$m " . ($tag =~ /^AH/ ? "httpd's own" : $tag)}++;
    $covered{"$m $form"}++;
    $covered{"$m IPv6"}++ if $addr =~ /:/;
    $covered{"$m $action $reason"}++ if $action;
    $covered{"$m hostile" . ($tag =~ /^AH/ ? " httpd's own" : '')}++ if $rest =~ /\[client(?: |%20)\Q$evil\E:1\]/;
    # httpd's ", referer: ..." suffix (default ErrorLogFormat), hostile or not
    $covered{"$m $tag referer"}++ if $rest =~ /, referer: /;
    $covered{"$m hostile referer"}++ if $rest =~ /, referer: .*\[client \Q$evil\E:1\]/;
}
my @want = ('match PG0010', 'match client', 'match remote', 'match IPv6', 'match hostile',
            (map { "match deny $_" } qw(connect absolute-uri unknown-host connect-port proxy-port
                                        proxy-scheme dynamic-backend)),
            'match PG0001 referer', 'match PG0010 referer', 'match hostile referer', 'no match PG0001 referer',
            'no match PG0006', 'no match hostile', "no match hostile httpd's own",
            (map { "no match detect $_" } qw(unknown-host proxy-header connect absolute-uri)));
is_deeply([ grep { !$covered{$_} } @want ], [], 'the sample has every kind of line (' . join(', ', @want) . ')');
is(scalar(grep { $_->[0]{match} } @sample), scalar(grep { $_->{ban} } @{ $run->{lines} }),
   'match lines: as many as the lines the test expects fail2ban to take');

# --- fail2ban-regex -------------------------------------------------------
my $cfg = PGFail2ban::config("$dir/fail2ban");
for my $f ([ 'the committed sample', $sample ], [ "this run's sample", $fresh_file ]) {
    my ($name, $path) = @$f;
    my ($want, $got) = regex_check($cfg, $path);
    is_deeply($got, $want, "fail2ban-regex, $name: each match line with its host, no other line");
    ok(!grep({ $_ eq $evil } values %$got), "fail2ban-regex, $name: never $evil (the hostile text's)");
}
# the check can fail: a filter that forgets HTTP/2's [remote]
(my $broken = PGTest->slurp_abs($filter)) =~ s/\(\?:client\|remote\)/client/ or die 'no (?:client|remote) in the filter';
my $broken_filter = $run->{srv}->write_file('broken/apache-proxyguard.conf', $broken);
my ($want_b, $got_b) = regex_check(PGFail2ban::config("$dir/fail2ban-broken", filter => $broken_filter), $sample);
my @lost = grep { !exists $got_b->{$_} } keys %$want_b;
ok(@lost && !grep({ !/\[remote / } @lost),
   'with [remote] taken out of the filter, exactly the remote lines are lost (' . scalar(@lost) . ')');

# --- fail2ban-testcases ---------------------------------------------------
my ($rc, $out) = testcases($sample);
is($rc, 0, 'fail2ban-testcases: the shipped filter passes its sample test') or diag $out;
like($out, qr/^Ran 1 test/m, '... one test: testSampleRegexsAPACHE-PROXYGUARD') or diag $out;
($rc, $out) = testcases($fresh_file);
is($rc, 0, "fail2ban-testcases: ... and on this run's lines") or diag $out;
($rc, $out) = testcases($sample, $broken_filter);
isnt($rc, 0, 'fail2ban-testcases fails with a filter that forgets [remote]');
like($out, qr/Line not matched when should have/, '... a line not matched when it should have');
(my $wrong = $committed) =~ s/("match": true , "host": ")127\.0\.0\.21"/${1}127.0.0.99"/ or die 'no 127.0.0.21 line';
($rc, $out) = testcases($run->{srv}->write_file('wrong/apache-proxyguard', $wrong));
isnt($rc, 0, 'fail2ban-testcases fails on a sample with a wrong host');
like($out, qr/127\.0\.0\.99/, '... and names it');

# --- the jail's logpath ---------------------------------------------------
# %(apache_error_log)s as a paths-overrides.local sets it, and the
# per-vhost logs of docs/fail2ban.md; the run's lines dealt out over them
my $doc = PGTest->slurp_abs("$top/docs/fail2ban.md");
my ($vhost_ini) = grep { /^logpath/m } $doc =~ /^```ini\n(.*?)^```/msg;
ok($vhost_ini && $vhost_ini =~ m{^logpath = %\(apache_error_log\)s\n\s+/var/www/\*/logs/error\.log$}m,
   'docs/fail2ban.md shows per-vhost error logs beside %(apache_error_log)s') or diag $vhost_ini;
my @logs = ("$dir/logs/error_log", "$dir/logs/shop-error_log", "$dir/www/a/logs/error.log",
            "$dir/www/b/logs/error.log");
my @text = ('') x @logs;
my $i = 0;
$text[ $i++ % @logs ] .= "$_->{line}\n" for @{ $run->{lines} };
$run->{srv}->write_file(substr($logs[$_], length($dir) + 1), $text[$_]) for 0 .. $#logs;
my $jcfg = PGFail2ban::config("$dir/fail2ban-jail", jail => 1);
(my $local = $vhost_ini // '') =~ s{/var/www/}{$dir/www/}g;
$run->{srv}->write_file('fail2ban-jail/jail.d/apache-proxyguard.local', $local);
$run->{srv}->write_file('fail2ban-jail/paths-overrides.local', "[DEFAULT]\napache_error_log = $dir/logs/*error_log\n");
$run->{srv}->write_file('fail2ban-jail/fail2ban.local', "[Definition]\nsocket = $dir/f2b.sock\n"
                        . "pidfile = $dir/f2b.pid\nlogtarget = $dir/f2b.log\ndbfile = :memory:\n");
$run->{srv}->write_file('fail2ban-jail/jail.d/zz-test.local', "[DEFAULT]\nbanaction = dummy\n"
                        . "banaction_allports = dummy\n[sshd]\nenabled = false\n"
                        . "[apache-proxyguard]\nignoreself = false\n"
                        . "action = dummy[target=\"$dir/f2b.dummy\"]\n");
my $f2b = "fail2ban-client -c '$jcfg'";
$out = `$f2b start 2>&1`;
is($? >> 8, 0, 'a fail2ban server starts with the shipped jail on %(apache_error_log)s') or diag $out;
END { system("$f2b stop >/dev/null 2>&1") if $f2b }
my @files = sort map { m{^\W*?(/\S+)$} ? $1 : () } split /\n/, `$f2b get apache-proxyguard logpath 2>&1`;
is_deeply(\@files, [ sort @logs ], 'it reads the error logs %(apache_error_log)s names and the per-vhost ones') or diag `$f2b get apache-proxyguard logpath 2>&1`;
my %lines_of;
$lines_of{ $_->{from} }++ for grep { $_->{ban} } @{ $run->{lines} };
my $failed = 0;
$failed += $_ for values %lines_of;
my @banned = sort grep { $lines_of{$_} >= 5 } keys %lines_of;       # the jail's maxretry
my $status = '';
my $deadline = time + 20;
while (time < $deadline) {
    $status = `$f2b status apache-proxyguard 2>&1`;
    last if $status =~ /Total failed:\s+$failed\b/ && $status =~ /Currently banned:\s+@{[ scalar @banned ]}\b/;
    sleep 0.2;
}
like($status, qr/Total failed:\s+$failed\b/, "every deny and ban-start line of every file counted ($failed)") or diag $status;
my ($list) = $status =~ /Banned IP list:\s*(.*)/;
is_deeply([ sort split ' ', $list // '' ], \@banned,
          "banned: the address with maxretry's 5 lines, spread over several files (@banned)") or diag $status;
system("$f2b stop >/dev/null 2>&1");
undef $f2b;
done_testing;

# ---------------------------------------------------------------------------

# The run's PG lines in fail2ban's sample format.
sub sample_text {
    my ($lines) = @_;
    my $text = <<'HEAD';
# Sample log for filter.d/apache-proxyguard.conf (mod_proxyguard, an Apache
# httpd 2.4 module against open-proxy abuse), in Apache's error log in its
# default ErrorLogFormat: the lines a real httpd with mod_proxyguard wrote
# (mod_proxyguard's t/integrations/fail2ban_sample.t checks at each run that
# it still writes these lines, and rewrites this file with PG_WRITE_SAMPLE=1).
# Matched: PG0001 action=deny lines of every reason, PG0010 ban starts, the
# address from httpd's "[client IP:port]" (HTTP/2: "[remote IP:port]").
# Not matched: action=detect lines, PG0006 summaries, httpd's own lines, and
# addresses in the request's own text (URI, Host, and the Referer header
# that httpd appends as ", referer: VALUE" to every line of a request that
# sent one), which come later in the line.
HEAD
    for my $l (@$lines) {
        my $time = iso_time($l->{line});
        my $json = $l->{ban} ? qq{{ "time": "$time", "match": true , "host": "$l->{from}" }}
                             : qq{{ "match": false }};
        $text .= "\n# $l->{desc}\n# failJSON: $json\n$l->{line}\n";
    }
    return $text;
}

# [Fri Dec 04 19:09:54.751617 2026] -> 2026-12-04T19:09:54
sub iso_time {
    my ($line) = @_;
    my %mon;
    @mon{qw(Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec)} = (1 .. 12);
    my ($b, $d, $t, $y) = $line =~ /^\[\w{3} (\w{3}) (\d\d) (\d\d:\d\d:\d\d)(?:\.\d+)? (\d{4})\]/
        or die "no time: $line";
    return sprintf '%04d-%02d-%02dT%s', $y, $mon{$b}, $d, $t;
}

# ([failJSON object, the line below it], ...)
sub read_sample {
    my ($text) = @_;
    require JSON::PP;
    my @out;
    my @l = split /\n/, $text;
    for my $i (0 .. $#l - 1) {
        push @out, [ JSON::PP->new->decode($1), $l[ $i + 1 ] ] if $l[$i] =~ /^# failJSON: (.*)$/;
    }
    return @out;
}

# The sample with what changes from run to run masked.
sub shape { PGLogLines::shape($_[0] =~ s/"time": "[^"]+"/"time": "T"/gr) }

# fail2ban-regex over a sample: (the match lines' hosts, what it matched),
# both { line => address }.
sub regex_check {
    my ($cfg, $path) = @_;
    my %want = map { $_->[1] => $_->[0]{host} } grep { $_->[0]{match} } read_sample(PGTest->slurp_abs($path));
    my %got = map { $_->[1] => $_->[0] } PGFail2ban::matched_lines($cfg, $path);
    return (\%want, \%got);
}

# fail2ban-testcases' sample test of our filter on a sample log, run from a
# temporary copy of the installed package (its tests read their sample logs
# next to their own code, in fail2ban/tests/files/logs) and a copy of
# /etc/fail2ban (FAIL2BAN_CONFIG_DIR) holding the filter.
sub testcases {
    my ($log, $flt) = @_;
    # the Python fail2ban-testcases runs with (its #! line), not PATH's
    chomp(my $bin = `command -v fail2ban-testcases 2>/dev/null`);
    my ($python) = PGTest->slurp_abs($bin) =~ /^#!\s*(\S+)/ or die "$bin: no #! line";
    chomp(my $pkg = `'$python' -c 'import fail2ban, os; print(os.path.dirname(os.path.dirname(fail2ban.__file__)))'`);
    die "no fail2ban package with its tests in '$pkg'" unless -f "$pkg/fail2ban/tests/samplestestcase.py";
    my $tree = File::Temp::tempdir('f2b-testcases-XXXXXX', TMPDIR => 1, CLEANUP => 1);
    system('cp', '-r', "$pkg/fail2ban", "$tree/fail2ban") == 0 or die 'copy the fail2ban package';
    copy($log, "$tree/fail2ban/tests/files/logs/apache-proxyguard") or die "sample: $!";
    PGFail2ban::config("$tree/config", $flt ? (filter => $flt) : ());
    # fail2ban-testcases takes ./fail2ban before the installed package
    my $cmd = "cd '$tree' && FAIL2BAN_CONFIG_DIR='$tree/config' '$python' '$bin'"
            . " -f -n -l critical 'testSampleRegexsAPACHE-PROXYGUARD' 2>&1";
    my $out = `$cmd`;
    return ($? >> 8, $out);
}
