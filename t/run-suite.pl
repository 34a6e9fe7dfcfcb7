#!/usr/bin/perl
# Runs the whole suite in one TAP::Harness: the C unit tests once, then every
# integration test (t/*.t) under each MPM (event, worker, prefork), the MPM
# passed as the test's argument, then, once each under the first MPM, the
# tests of the proxyguard program (t/cli/*.t) and of the integration files
# (t/integrations/*.t: conf/ checked by each file's own tool; what they
# check does not depend on the MPM).  The last line is the harness's
# "Result: PASS" or "Result: FAIL".
#
#   perl t/run-suite.pl [--mpm event,worker,prefork] [--dir t/soak]
#                       [--once t/cli,t/integrations] [unit-binary ...]
use strict;
use warnings;
use FindBin;
use Getopt::Long;
use TAP::Harness;

my $mpms = $ENV{PG_MPMS} || 'event,worker,prefork';
my $dir = $FindBin::Bin;
my $once;
GetOptions('mpm=s' => \$mpms, 'dir=s' => \$dir, 'once=s' => \$once)
    or die "usage: $0 [--mpm list] [--dir tests] [--once tests] [unit-binary ...]\n";
# the run-once tests belong to the whole suite, not to --dir runs
$once //= $dir eq $FindBin::Bin ? "$FindBin::Bin/cli,$FindBin::Bin/integrations" : '';
my @units = @ARGV;

my (@tests, %args);
for my $bin (@units) {
    die "$bin: not an executable\n" unless -x $bin;
    my $alias = "unit/" . ($bin =~ s{.*/}{}r);
    push @tests, [ $bin, $alias ];
    $args{$alias} = [];
}
my @files = sort glob("$dir/*.t");
die "no tests in $dir\n" unless @files;
for my $mpm (split /,/, $mpms) {
    for my $file (@files) {
        my $alias = "$mpm/" . ($file =~ s{.*/}{}r);
        push @tests, [ $file, $alias ];
        $args{$alias} = [ $mpm ];
    }
}

my ($first_mpm) = split /,/, $mpms;
for my $file (map { sort glob("$_/*.t") } grep { length } split /,/, $once) {
    my $alias = $file =~ s{.*/([^/]+)/([^/]+)$}{$1/$2}r;
    push @tests, [ $file, $alias ];
    $args{$alias} = [ $first_mpm ];
}

my $harness = TAP::Harness->new({
    verbosity => $ENV{PG_VERBOSE} ? 1 : 0,
    lib       => [ "$FindBin::Bin/lib" ],
    test_args => \%args,
    # C unit tests are executables that print TAP; everything else is Perl.
    exec      => sub {
        my ($h, $file) = @_;
        return $file =~ /\.t$/ ? undef : [ $file ];
    },
});
my $aggregate = $harness->runtests(@tests);
exit($aggregate->all_passed ? 0 : 1);
