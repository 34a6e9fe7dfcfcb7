package PGMonitor;

# What the monitoring integration tests (t/integrations/icinga2.t, nagios.t)
# share: real targets on loopback for `proxyguard probe --plugin`, each with
# the exit code a check of it must give, and a look at the system's own
# directories of a monitoring tool, to show a test left them alone.
#
#   my $t = PGMonitor::targets();
#   $t->{ok}{url}, $t->{ok}{exit}      # mod_proxyguard (and h2c): 0
#   $t->{warning}, $t->{critical}      # stock httpd: 1; mod_proxy open: 2
#   $t->{unknown}                      # accepts, never answers: 3 (on -t)
#   my $before = PGMonitor::snapshot('/etc/icinga2', '/var/lib/icinga2');

use strict;
use warnings;
use File::Find ();
use Test::More;
use PGTest;
use PGProbe;

sub targets {
    my $proxy_mods = join '', map { "LoadModule ${_}_module $PGTest::MODULES/mod_$_.so\n" }
        qw(proxy proxy_http proxy_connect);
    # h2c too, so that --h2c's probes get an answer
    my $guard = PGTest->new(name => 'mon-guard', conf => sub {
        "LoadModule http2_module $PGTest::MODULES/mod_http2.so\nProtocols h2c http/1.1\n"
        . $_[0]->status_location . $_[0]->standard_vhosts;
    });
    my $stock = PGTest->new(name => 'mon-stock', load_module => 0, loglevel => 'warn');
    my $open = PGTest->new(name => 'mon-open', load_module => 0, loglevel => 'warn', conf => sub {
        "${proxy_mods}ProxyRequests On\nAllowCONNECT 1024-65535\n";
    });
    $_->start for $guard, $stock, $open;
    my ($silent) = PGProbe::server(sub { sleep 60 });
    my $url = sub { 'http://127.0.0.1:' . $_[0] . '/' };
    return {
        ok       => { url => $url->($guard->port), exit => 0, srv => $guard,
                      status => $url->($guard->port) . 'proxyguard-status' },
        warning  => { url => $url->($stock->port), exit => 1, srv => $stock },
        critical => { url => $url->($open->port), exit => 2, srv => $open },
        unknown  => { url => $url->($silent), exit => 3 },
    };
}

# Every path under the directories given, with its size and mtime: equal
# before and after means the test wrote nothing there.
sub snapshot {
    my @dirs = grep { -e } @_;
    my @seen;
    File::Find::find({ no_chdir => 1, wanted => sub {
        my @st = lstat $_;
        push @seen, join(' ', $_, $st[7] // '-', $st[9] // '-');
    } }, @dirs) if @dirs;
    return join("\n", sort @seen) . "\n";
}

1;
