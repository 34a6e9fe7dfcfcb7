#!/usr/bin/perl
# The structure docs/README's layout section describes, read off the code
# itself so that it cannot drift:
#  - the call graph of the module's files, from their objects (nm: which
#    file defines a function, which file calls it), the module struct
#    aside: no pure file (pg_*.c) calls a glue file (mod_proxyguard*.c),
#    and the glue files call each other without a circle, through
#    mod_proxyguard.c as the hub of the request path (no glue file calls
#    it back);
#  - every glue file but mod_proxyguard.c has its own header;
#  - no type name is defined in two files of the tree;
#  - `make` builds without installing packages, `make install` installs.
# The MPM argument is ignored: nothing here runs a server.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use Test::More;

my $top = "$FindBin::Bin/..";
chdir $top or die "$top: $!";

sub slurp {
    my ($path) = @_;
    open my $fh, '<', $path or die "$path: $!";
    local $/;
    return <$fh>;
}

# The module's sources, as the Makefile lists them.
my ($list) = slurp('Makefile') =~ /^SOURCES\s*:=((?:.*\\\n)*.*)$/m;
my @sources = grep { /\.c$/ } split /[\s\\]+/, $list // '';
ok(@sources >= 10, 'the Makefile lists the module sources: ' . scalar @sources);
my @glue = grep { /^mod_proxyguard/ } @sources;
my @pure = grep { /^pg_/ } @sources;
is(@glue + @pure, @sources, 'every module source is glue (mod_proxyguard*) '
   . 'or pure (pg_*)');

# Each file compiled on its own, with httpd's and APR's headers.
my $dir = tempdir(CLEANUP => 1);
chomp(my $inc = `apxs -q INCLUDEDIR 2>/dev/null`);
chomp(my $apr = `apr-1-config --cppflags --includes 2>/dev/null`);
my (%defines, %calls);
for my $src (@sources) {
    my $obj = "$dir/" . ($src =~ s/\.c$/.o/r);
    my $cc = system("cc -c -std=gnu99 -O1 -D_GNU_SOURCE -I. -I$inc $apr "
                    . "-o $obj $src 2>$dir/cc.err");
    ok($cc == 0, "$src compiles on its own") or diag(slurp("$dir/cc.err"));
    for (`nm $obj`) {
        my ($type, $sym) = /^\S*\s+([A-Za-z])\s+(\S+)$/ or next;
        next if $sym eq 'proxyguard_module';   # the module struct
        if ($type eq 'T') {
            $defines{$sym} = $src;
        }
        elsif ($type eq 'U') {
            $calls{$src}{$sym} = 1;
        }
    }
}
my %edges;
for my $src (sort keys %calls) {
    for my $sym (keys %{ $calls{$src} }) {
        my $to = $defines{$sym} or next;
        $edges{$src}{$to}{$sym} = 1 if $to ne $src;
    }
}

# No pure file calls glue.
my %is_glue = map { $_ => 1 } @glue;
for my $src (@pure) {
    my @bad = grep { $is_glue{$_} } sort keys %{ $edges{$src} || {} };
    is("@bad", '', "$src calls no glue file");
}

# The glue graph: printed, and without a circle (a depth-first search that
# meets a file on its own path has found one).
for my $src (@glue) {
    my @to = grep { $is_glue{$_} } sort keys %{ $edges{$src} || {} };
    note(sprintf "%-26s -> %s", $src, join(', ', @to) || '(none)');
}
my (%state, @circle);
my $visit;
$visit = sub {
    my ($n, @path) = @_;
    return if ($state{$n} // '') eq 'done';
    if (($state{$n} // '') eq 'open') {
        @circle = (@path, $n) unless @circle;
        return;
    }
    $state{$n} = 'open';
    $visit->($_, @path, $n)
        for grep { $is_glue{$_} } sort keys %{ $edges{$n} || {} };
    $state{$n} = 'done';
};
$visit->($_) for @glue;
is("@circle", '', 'the glue files call each other without a circle');
for my $src (grep { $_ ne 'mod_proxyguard.c' } @glue) {
    my @back = sort keys %{ $edges{$src}{'mod_proxyguard.c'} || {} };
    is("@back", '', "$src calls nothing in the hub, mod_proxyguard.c");
}

# A header per glue file, but the hub's (it exports nothing).
for my $src (grep { $_ ne 'mod_proxyguard.c' } @glue) {
    my $h = $src =~ s/\.c$/.h/r;
    ok(-f $h, "$src has its header, $h");
    like(slurp($src), qr/^#include "\Q$h\E"$/m, "$src includes $h");
}

# No type name defined twice in the tree (typedef'd structs, enums, unions
# and plain typedefs), over the module, the program and the tests' C.
my %where;
for my $file (grep { !m{^build/} } split /\n/, `git ls-files '*.c' '*.h'`) {
    my $text = slurp($file);
    $text =~ s{/\*.*?\*/}{}gs;
    while ($text =~ /\btypedef\b[^;{]*(\{(?:[^{}]++|(?1))*\})?\s*([^;]*);/g) {
        my $decl = $2;
        # the declared name: the last identifier (a function pointer's is
        # the one in (*name))
        my ($name) = $decl =~ /\(\s*\*\s*(\w+)\s*\)/;
        ($name) = $decl =~ /(\w+)\s*(?:\[[^\]]*\])*\s*$/ unless $name;
        push @{ $where{$name} }, $file if $name;
    }
}
my @twice = map { "$_ (@{ $where{$_} })" }
            grep { @{ $where{$_} } > 1 } sort keys %where;
ok(keys %where > 50, 'type names found: ' . scalar keys %where);
is(join('; ', @twice), '', 'no type name is defined in two files');

# The build installs no packages; make install puts the module, the
# program and its man pages under DESTDIR.
my $dry = `make -n -B all 2>&1`;
unlike($dry, qr/deps\.sh|apt-get/, 'make (the build) installs no packages');
like($dry, qr/apxs -c/, '... and builds the module with apxs');
my $dest = tempdir(CLEANUP => 1);
my $out = `make install DESTDIR=$dest PREFIX=/usr 2>&1`;
is($?, 0, 'make install DESTDIR=... PREFIX=/usr') or diag($out);
chomp(my $libexec = `apxs -q LIBEXECDIR`);
ok(-f "$dest$libexec/mod_proxyguard.so", "... the module in $libexec");
ok(-x "$dest/usr/bin/proxyguard", '... the program in /usr/bin');
ok(-f "$dest/usr/share/man/man1/proxyguard.1", '... its man pages');

done_testing();
