#!/usr/bin/perl
# make mutants: break the module and the program on purpose, one small
# mutation at a time, and check that the suite notices.
#
#   perl tools/mutants.pl [--only NAME,...] [--list] [--check]
#                         [--no-baseline] [--keep] [--mpm event]
#                         [--timeout SECONDS] [--list-file FILE]
#
# The mutations are listed in tools/mutants.txt (file, an exact text to
# find, its replacement, the tests that must catch it).  For each one:
# a fresh copy of the tree (never the tree itself: `git ls-files`, tracked
# and untracked, ignored files left out), the mutation applied, the build
# the tests need (module, unit tests, program), then its tests in order
# until the first failure.  It prints a table, mutant -> caught by (the
# first failing test) or SURVIVED, and exits non-zero when any mutant
# survived, did not build, or no longer matches its source.
#
# Before the mutants, the same tests run on the unmutated copy (the
# baseline): a test that already fails would "catch" every mutant, so a
# failing baseline stops the run.  --check only verifies that every
# pattern still occurs exactly once (seconds; no build, no test).
#
# One mutant at a time, under nice: usable on a 2-core machine.  Test
# files run under one MPM (event unless --mpm), with PG_REQUIRE_TOOLS=1;
# every httpd a test left behind (a hung or killed test) is stopped by its
# pid file, found in the mutant's own TMPDIR.
use strict;
use warnings;
use Cwd qw(abs_path getcwd);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);
use File::Temp qw(tempdir);
use Getopt::Long;
use POSIX qw(setsid WNOHANG);
use Time::HiRes qw(time sleep);

my $top = abs_path(dirname(__FILE__) . '/..');
my %opt = (mpm => 'event', timeout => 600, 'list-file' => "$top/tools/mutants.txt");
GetOptions(\%opt, 'only=s', 'list', 'check', 'no-baseline', 'keep', 'mpm=s', 'timeout=i', 'list-file=s')
    && !@ARGV   # a name without --only would otherwise run all of them
    or die "usage: $0 [--only NAME,...] [--list] [--check] [--no-baseline] [--keep] [--mpm MPM]\n";
die "--mpm: event, worker or prefork\n" unless $opt{mpm} =~ /^(event|worker|prefork)$/;

$| = 1;
setpriority(0, 0, 10) if getpriority(0, 0) < 10;      # nice

my @mutants = read_list($opt{'list-file'});
if ($opt{only}) {
    my %want = map { $_ => 1 } split /,/, $opt{only};
    my %known = map { $_->{name} => 1 } @mutants;
    my @unknown = grep { !$known{$_} } sort keys %want;
    die "--only: no mutant named @unknown\n" if @unknown;
    @mutants = grep { $want{ $_->{name} } } @mutants;
}
if ($opt{list}) {
    printf "%-36s %-26s %s\n", $_->{name}, $_->{file}, $_->{what} for @mutants;
    exit 0;
}

# ---------------------------------------------------------------------------
# The list

sub unescape {
    my ($s) = @_;
    $s =~ s/\\(.)/$1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1 eq '\\' ? '\\' : die "unknown escape \\$1\n"/ge;
    return $s;
}

sub read_list {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!\n";
    my (@list, $cur, %seen);
    while (my $line = <$fh>) {
        chomp $line;
        next if $line =~ /^\s*(#|$)/;
        if ($line =~ /^\[([\w.-]+)\]$/) {
            die "$path:$.: mutant $1 listed twice\n" if $seen{$1}++;
            push @list, $cur = { name => $1, line => $. };
            next;
        }
        my ($key, $value) = $line =~ /^(what|file|find|replace|tests)\s*=\s?(.*)$/
            or die "$path:$.: not a 'key = value' line: $line\n";
        die "$path:$.: '$key' outside a [mutant] block\n" unless $cur;
        die "$path:$.: '$key' given twice for $cur->{name}\n" if exists $cur->{$key};
        $cur->{$key} = $key eq 'find' || $key eq 'replace' ? unescape($value) : $value;
    }
    for my $m (@list) {
        for my $key (qw(what file find replace tests)) {
            die "$path:$m->{line}: mutant $m->{name} has no '$key'\n" unless defined $m->{$key};
        }
        die "$path:$m->{line}: mutant $m->{name}: find is empty\n" unless length $m->{find};
        die "$path:$m->{line}: mutant $m->{name}: replace equals find\n" if $m->{find} eq $m->{replace};
        $m->{tests} = [ split ' ', $m->{tests} ];
        for my $t (@{ $m->{tests} }) {
            die "$path:$m->{line}: mutant $m->{name}: no test $t\n"
                unless $t eq 'unit' || -f "$top/$t";
        }
    }
    die "$path: no mutants\n" unless @list;
    return @list;
}

# Every pattern exactly once in its file (of the tree at $root).
sub check_patterns {
    my ($root, @list) = @_;
    my @rotten;
    for my $m (@list) {
        my $text = slurp("$root/$m->{file}");
        if (!defined $text) {
            push @rotten, "$m->{name}: $m->{file} does not exist";
            next;
        }
        my $n = () = $text =~ /\Q$m->{find}\E/g;
        push @rotten, "$m->{name}: its text occurs $n times in $m->{file} (must be once)" if $n != 1;
    }
    return @rotten;
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or return undef;
    local $/;
    return scalar <$fh>;
}

if ($opt{check}) {
    my @rotten = check_patterns($top, @mutants);
    print "$_\n" for @rotten;
    print scalar(@mutants) . " mutants, " . (@rotten ? scalar(@rotten) . ' no longer match' : 'every pattern matches once') . "\n";
    exit(@rotten ? 1 : 0);
}

# ---------------------------------------------------------------------------
# Copies, builds, tests

my $work = tempdir('pg-mutants-XXXXXX', TMPDIR => 1, CLEANUP => 0);
chmod 0755, $work;
my $pristine = "$work/pristine";
my $logs = "$work/logs";
make_path($pristine, $logs);

sub run {
    my ($cmd, $log) = @_;
    return system("$cmd >>'$log' 2>&1") == 0;
}

# The tree as git sees it (tracked and untracked files, ignored ones left
# out: no build products), copied at the start of the run: later edits to
# the tree do not reach it.
sub snapshot {
    my $list = -e "$top/.git"
        ? "git ls-files -z --cached --others --exclude-standard "
          . "| xargs -0 sh -c 'for f; do [ -e \"\$f\" ] && printf \"%s\\0\" \"\$f\"; done' sh"
        # not a git work tree (an unpacked release): all but build products
        : "find . \\( -path ./build -o -path ./.libs -o -name '*.lo' -o -name '*.slo' "
          . "-o -name '*.la' -o -name '*.o' \\) -prune -o -type f -print0";
    my $ok = system("cd '$top' && $list | tar --null -T - -cf - | tar -C '$pristine' -xf -") == 0;
    die "could not copy the tree to $pristine\n" unless $ok;
}

sub needs {
    my (@tests) = @_;
    my %need;
    for (@tests) {
        if ($_ eq 'unit') { $need{unit} = 1 }
        elsif (m{^t/cli/}) { $need{cli} = 1; $need{module} = 1 }
        else { $need{module} = 1 }
    }
    return %need;
}

sub build {
    my ($dir, $log, %need) = @_;
    my @targets;
    push @targets, 'build/.libs/mod_proxyguard.so' if $need{module};
    push @targets, 'build/unit/test_decide', 'build/unit/test_table' if $need{unit};
    push @targets, 'build/proxyguard' if $need{cli};
    return run("cd '$dir' && make @targets", $log);
}

# Stop every httpd a test left running under $tmp (by the pid files the
# harness writes there), and make sure it is gone.
sub stop_leftovers {
    my ($tmp) = @_;
    my @pids;
    for my $pidfile (split /\n/, `find '$tmp' -name httpd.pid 2>/dev/null`) {
        my ($pid) = (slurp($pidfile) // '') =~ /(\d+)/ or next;
        my $cmdline = slurp("/proc/$pid/cmdline") // '';
        push @pids, $pid if $cmdline =~ /\Q$tmp\E/;
    }
    return unless @pids;
    kill 'TERM', @pids;
    my $deadline = time + 15;
    sleep 0.1 while time < $deadline && grep { kill 0, $_ } @pids;
    kill 'KILL', grep { kill 0, $_ } @pids;
}

# One test (file or 'unit') in $dir: 'pass', 'fail' or 'timeout'.
sub run_test {
    my ($dir, $test, $log) = @_;
    my $tmp = "$dir/tmp";
    make_path($tmp);
    chmod 0755, $tmp;
    my @cmd = $test eq 'unit'
        ? ('prove', '--exec', '', 'build/unit/test_decide', 'build/unit/test_table')
        : ('prove', '-I', 't/lib', $test, '::', $opt{mpm});
    open my $out, '>>', $log or die "$log: $!";
    print $out "\n=== $test\n";
    close $out;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        setsid();
        chdir $dir or die "$dir: $!";
        $ENV{PG_REQUIRE_TOOLS} = 1;
        $ENV{TMPDIR} = $tmp;
        delete $ENV{PG_MODULE_SO};
        open STDOUT, '>>', $log or die;
        open STDERR, '>&', \*STDOUT or die;
        open STDIN, '<', '/dev/null';
        exec @cmd or POSIX::_exit(127);
    }
    my $deadline = time + $opt{timeout};
    my $result;
    while (1) {
        my $done = waitpid($pid, WNOHANG);
        if ($done == $pid) { $result = $? == 0 ? 'pass' : 'fail'; last }
        if (time > $deadline) {
            kill 'TERM', -$pid;
            sleep 2;
            kill 'KILL', -$pid;
            waitpid($pid, 0);
            $result = 'timeout';
            last;
        }
        sleep 0.2;
    }
    stop_leftovers($tmp);
    return $result;
}

sub apply {
    my ($dir, $m) = @_;
    my $path = "$dir/$m->{file}";
    my $text = slurp($path);
    my $n = () = $text =~ /\Q$m->{find}\E/g;
    die "$m->{name}: its text occurs $n times in $m->{file}\n" unless $n == 1;
    $text =~ s/\Q$m->{find}\E/$m->{replace}/;
    open my $fh, '>', $path or die "$path: $!";
    print $fh $text;
    close $fh;
    my $t = time + 2;               # newer than anything built from the copy
    utime $t, $t, $path;
}

# ---------------------------------------------------------------------------

my $t0 = time;
snapshot();
my @rotten = check_patterns($pristine, @mutants);
if (@rotten) {
    print "The mutation list no longer matches the sources:\n";
    print "  $_\n" for @rotten;
    print "Fix tools/mutants.txt (each 'find' must occur exactly once).\n";
    exit 2;
}

my @all_tests;
{
    my %seen;
    @all_tests = grep { !$seen{$_}++ } map { @{ $_->{tests} } } @mutants;
}
print "mutants: " . scalar(@mutants) . ", tests they name: " . scalar(@all_tests)
      . ", MPM $opt{mpm}, work in $work\n";
if (!build($pristine, "$logs/baseline.log", needs(@all_tests))) {
    print "the unmutated tree does not build: see $logs/baseline.log\n";
    exit 2;
}
if (!$opt{'no-baseline'}) {
    my $tb = time;
    my @failing = grep { run_test($pristine, $_, "$logs/baseline.log") ne 'pass' } @all_tests;
    if (@failing) {
        print "baseline: these tests fail WITHOUT any mutation, so they cannot judge one:\n";
        print "  $_\n" for @failing;
        print "see $logs/baseline.log\n";
        exit 2;
    }
    printf "baseline: all %d tests pass unmutated (%.0f s)\n", scalar @all_tests, time - $tb;
}

printf "\n%-36s %-26s %s\n", 'mutant', 'file', 'caught by';
printf "%-36s %-26s %s\n", '-' x 36, '-' x 26, '-' x 30;
my (@survived, @broken);
for my $m (@mutants) {
    my $tm = time;
    my $dir = "$work/m";
    remove_tree($dir);
    system('cp', '-a', $pristine, $dir) == 0 or die "cp: $!";
    my $log = "$logs/$m->{name}.log";
    apply($dir, $m);
    my $verdict;
    if (!build($dir, $log, needs(@{ $m->{tests} }))) {
        $verdict = 'DOES NOT BUILD';
        push @broken, $m->{name};
    }
    else {
        for my $test (@{ $m->{tests} }) {
            my $r = run_test($dir, $test, $log);
            next if $r eq 'pass';
            $verdict = $r eq 'timeout' ? "$test (timed out)" : $test;
            last;
        }
        if (!$verdict) {
            $verdict = 'SURVIVED';
            push @survived, $m->{name};
        }
    }
    printf "%-36s %-26s %s (%.0f s)\n", $m->{name}, $m->{file}, $verdict, time - $tm;
    remove_tree($dir) unless $opt{keep};
}

my $secs = time - $t0;
printf "\n%d mutants: %d caught, %d survived, %d did not build; %.0f s in all (%dm%02ds)\n",
       scalar @mutants, @mutants - @survived - @broken, scalar @survived, scalar @broken,
       $secs, $secs / 60, $secs % 60;
if (@survived || @broken) {
    print "SURVIVED: $_ (log: $logs/$_.log)\n" for @survived;
    print "DOES NOT BUILD: $_ (log: $logs/$_.log)\n" for @broken;
    print "work directory kept: $work\n";
    exit 1;
}
remove_tree($work) unless $opt{keep};
exit 0;
