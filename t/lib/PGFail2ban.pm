package PGFail2ban;

# The shipped fail2ban filter (conf/fail2ban/filter.d/apache-proxyguard.conf)
# run by the real fail2ban-regex over an error_log a test's httpd wrote:
#
#   my %by_ip = PGFail2ban::matches($srv, 'logs/error_log');
#   is($by_ip{'127.0.0.2'}, 27, 'every deny line of the stranger matched');
#   PGFail2ban::check_deny_lines($srv, '127.0.0.2', 'dynamic-backend');
#
# Returns the matched addresses with their number of lines, or () when
# fail2ban is not installed (the caller says whether that is a failure).

use strict;
use warnings;
use File::Copy qw(copy);
use File::Path qw(make_path);
use PGTest;
use Test::More ();

sub available { `command -v fail2ban-regex 2>/dev/null` ? 1 : 0 }

# Tests (Test::More) that the filter matches every deny line of one address
# in the error_log, at least one of them of the given reason (a missing
# fail2ban fails under PG_REQUIRE_TOOLS, else skips, and says so).
sub check_deny_lines {
    my ($srv, $ip, $reason) = @_;
    my $all = $srv->slurp('logs/error_log');
    my $prefix = qr/^\[[^]]*\] \[proxyguard:warn\] \[pid [^]]*\] \[client \Q$ip\E:\d+\]/m;
    my $of_reason = () = $all =~ /$prefix PG0001: action=deny reason=\Q$reason\E /g;
    my $deny = () = $all =~ /$prefix PG0001: action=deny /g;
    SKIP: {
        Test::More::fail('fail2ban-regex is installed') if !available() && $ENV{PG_REQUIRE_TOOLS};
        Test::More::skip('fail2ban-regex not installed', 2) unless available();
        my %by_ip = matches($srv, 'logs/error_log');
        Test::More::ok($of_reason > 0, "the error_log has $of_reason $reason deny lines of $ip");
        Test::More::is($by_ip{$ip}, $deny,
                       "fail2ban-regex matched every deny line of $ip ($deny), the $reason ones among them");
    }
}

sub matches {
    my ($srv, $rel) = @_;
    return () unless available();
    my %got;
    $got{ $_->[0] }++ for matched_lines(config($srv->dir . '/fail2ban-filter'), $srv->dir . "/$rel");
    return %got;
}

# A copy of fail2ban's configuration (/etc/fail2ban) in $cfg with the
# shipped filter added (jail => 1: and the shipped jail), or the filter
# file given as filter => PATH instead.
sub config {
    my ($cfg, %opt) = @_;
    make_path($cfg);
    system('cp', '-r', '/etc/fail2ban/.', $cfg) == 0 or die 'copy /etc/fail2ban';
    my $conf = "$PGTest::TOP/conf/fail2ban";
    copy($opt{filter} // "$conf/filter.d/apache-proxyguard.conf", "$cfg/filter.d/apache-proxyguard.conf")
        or die "filter: $!";
    copy("$conf/jail.d/apache-proxyguard.conf", "$cfg/jail.d/") or die "jail: $!" if $opt{jail};
    return $cfg;
}

# fail2ban-regex with the filter of configuration $cfg over $log: one
# [address, line] for every line it matched, in the log's order.
sub matched_lines {
    my ($cfg, $log) = @_;
    my $out = `fail2ban-regex -c '$cfg' -o '<ip>\t<msg>' '$log' apache-proxyguard 2>&1`;
    die "fail2ban-regex failed:\n$out" if $?;
    return map { [ split /\t/, $_, 2 ] } grep { /^[\d.:a-f]+\t/ } split /\n/, $out;
}

1;
