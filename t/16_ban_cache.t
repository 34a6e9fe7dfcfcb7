#!/usr/bin/perl
# Several servers, one ban list: two separate httpd instances share a real
# memcached, then a real redis-server (started here on 127.0.0.1, free
# ports).  Requests never talk to the store (the ban agent does, see
# mod_proxyguard_ban.c), so a ban made through one instance holds on the
# other within a bound, which is asserted:
#   - an address the other instance has an answer about: within
#     PG_STORE_TTL (5 s) plus the agent's poll (0.1 s);
#   - an address it has not seen lately: its first request passes, the
#     agent asks within 0.1 s, and the next are refused.
# A kept-alive connection remembers "not banned" between its requests
# (mod_proxyguard_ban.c): a ban started meanwhile still holds on it, at once
# with the local store, within the same bound with a shared one.
# Then the store fails three ways (killed, refusing, accepting and never
# answering): every request is still answered within 1 s, PG0012 says so
# once (not once per request), and when the store answers again PG0015.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use IO::Socket::INET;
use Test::More;
use Time::HiRes qw(sleep time);
use PGDaemon;
use PGHttp;
use PGTest;

my $TTL = 5;            # PG_STORE_TTL
my $BACKOFF = 10;       # PG_STORE_BACKOFF

sub server {
    my ($name, $d) = @_;
    return PGTest->new(name => $name, conf => sub {
        "ProxyGuardBan 3 60 120\n" . $d->config . $_[0]->status_location . $_[0]->standard_vhosts;
    })->start;
}

my $page = "GET / HTTP/1.1\r\nHost: www.example.com\r\n\r\n";
my $probe = "CONNECT 59.124.98.13:25 HTTP/1.0\r\n\r\n";

# Requests from one address every 0.1 s until the status is $want; the
# seconds it took (undef if not within $limit).
sub until_status {
    my ($srv, $from, $want, $limit) = @_;
    my $t0 = time;
    while (time - $t0 <= $limit) {
        return time - $t0 if $srv->request($page, from => $from)->{status} == $want;
        sleep 0.1;
    }
    return undef;
}

# The local store: a ban started on another connection holds at once on a
# kept-alive one that was served before.
{
    my $srv = PGTest->new(name => 'ban-local-keepalive', conf => sub {
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
        . "ProxyGuardBan 3 60 120\n" . $_[0]->status_location . $_[0]->standard_vhosts;
    })->start;
    my $c = PGHttp::Conn->new($srv->port, '127.0.0.21');
    is($c->request($page)->{status}, 200, 'local store, kept alive: served');
    is($c->request($page)->{status}, 200, 'local store, kept alive: served again (remembered)');
    $srv->request($probe, from => '127.0.0.21') for 1 .. 3;
    is($c->request($page)->{status}, 403, 'local store, kept alive: banned from another connection: refused at once');
    my $other = PGHttp::Conn->new($srv->port, '127.0.0.22');
    is($other->request($page)->{status}, 200, 'local store, kept alive: another client is served');
    my $body = 'unban=127.0.0.21';
    $srv->request("POST /proxyguard-status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                  . "Content-Length: " . length($body) . "\r\n\r\n$body");
    is($c->request($page)->{status}, 200, 'local store, kept alive: lifted: served again at once');
    is($other->request($page)->{status}, 200, 'local store, kept alive: ... and the other still is');
    is($c->{reconnects} + $other->{reconnects}, 0, 'local store, kept alive: each on its one connection');
    $_->close for $c, $other;
    $srv->stop;
}

for my $kind (PGDaemon::kinds()) {
    my $d = PGDaemon->new($kind);
    if (!$d->installed) {
        fail($d->bin . " is installed") if $ENV{PG_REQUIRE_TOOLS};
        next;
    }
    my $port = $d->port;
    $d->start;
    my @srv = map { server("ban-$kind-$_", $d) } 1 .. 2;

    # B has a fresh answer about 127.0.0.7: not banned
    is($srv[1]->request($page, from => '127.0.0.7')->{status}, 200, "$kind: B serves 127.0.0.7 before");
    sleep 0.3;
    is($srv[1]->request($page, from => '127.0.0.7')->{status}, 200, "$kind: ... and again, once B's agent has asked");
    $srv[0]->request($probe, from => '127.0.0.7') for 1 .. 3;
    is($srv[0]->request($page, from => '127.0.0.7')->{status}, 403, "$kind: banned through A: at once on A");
    my $took = until_status($srv[1], '127.0.0.7', 403, $TTL + 3);
    ok(defined $took && $took <= $TTL + 1,
       sprintf("$kind: ... and on B, which saw no hit, within %d s (the answer's age) + 1: %s s",
               $TTL, defined $took ? sprintf('%.1f', $took) : 'never'));
    my $j = $srv[1]->status('json')->{json};
    my ($ban) = grep { $_->{address} eq '127.0.0.7' } @{ $j->{bans} || [] };
    is($ban && $ban->{origin}, 'shared', "$kind: B lists the ban, from the shared store");
    is($srv[1]->request($page, from => '127.0.0.8')->{status}, 200, "$kind: B still serves others");

    # a kept-alive connection to B, served (and remembered) before a ban
    # through A: refused within the same bound
    my $c = PGHttp::Conn->new($srv[1]->port, '127.0.0.27');
    is($c->request($page)->{status}, 200, "$kind: kept alive on B: served");
    sleep 0.3;
    is($c->request($page)->{status}, 200, "$kind: kept alive on B: served again, B's agent has asked");
    $srv[0]->request($probe, from => '127.0.0.27') for 1 .. 3;
    my $t0 = time;
    my $refused;
    while (time - $t0 <= $TTL + 3) {
        last if ($refused = $c->request($page)->{status} == 403);
        sleep 0.1;
    }
    ok($refused && time - $t0 <= $TTL + 1,
       sprintf("$kind: ... banned through A: refused on the kept-alive connection within %d s + 1: %.1f s",
               $TTL, time - $t0));
    is($c->{reconnects}, 0, "$kind: ... on that one connection");
    $c->close;

    # an address B has not seen: it is asked about at its first request
    $srv[0]->request($probe, from => '127.0.0.17') for 1 .. 3;
    sleep 0.3;                  # A's agent tells the store
    $took = until_status($srv[1], '127.0.0.17', 403, 3);
    ok(defined $took && $took <= 1,
       sprintf("$kind: an address B has not seen is refused within 1 s: %s s",
               defined $took ? sprintf('%.1f', $took) : 'never'));

    # Lifting on B: at once on B, within the bound on A.
    my $body = 'unban=127.0.0.7';
    $srv[1]->request("POST /proxyguard-status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                     . "Content-Length: " . length($body) . "\r\n\r\n$body");
    is($srv[1]->request($page, from => '127.0.0.7')->{status}, 200, "$kind: lifted on B: at once on B");
    $took = until_status($srv[0], '127.0.0.7', 200, $TTL + 3);
    ok(defined $took && $took <= $TTL + 1,
       sprintf("$kind: ... and on A within %d s + 1: %s s", $TTL,
               defined $took ? sprintf('%.1f', $took) : 'never'));

    # The store is killed: nothing waits on it.
    $d->stop;
    my $mark = $srv[0]->log_mark('logs/error_log');
    my ($slowest, @st) = (0);
    for my $i (1 .. 30) {
        my $t0 = time;
        push @st, $srv[0]->request($page, from => "127.0.3.$i")->{status};
        $slowest = time - $t0 if time - $t0 > $slowest;
        sleep 0.05;
    }
    is(scalar(grep { $_ == 200 } @st), 30, "$kind killed: 30 requests from 30 addresses all served");
    ok($slowest < 1, sprintf("$kind killed: the slowest took %.3f s (< 1 s)", $slowest));
    is($srv[0]->request($probe, from => '127.0.0.11')->{status}, 405, "$kind killed: the decision still works");
    my @lines = $srv[0]->log_since('logs/error_log', $mark) =~ /(PG0012: ban cache \Q$kind\E:127\.0\.0\.1:$port: (?:lookup|store|store \(heartbeat\)|remove) failed; failing open.*)/g;
    is(scalar @lines, 1, "$kind killed: PG0012 logged once, not per request") or diag join "\n", @lines;

    # It comes back: after the back-off, PG0015.
    $d->start;
    my $deadline = time + $BACKOFF + 5;
    my $back = 0;
    while (time < $deadline && !$back) {
        $srv[0]->request($page, from => '127.0.4.' . int(rand(250) + 1));
        $back = $srv[0]->log_since('logs/error_log', $mark) =~ /PG0015: ban cache \Q$kind\E:127\.0\.0\.1:$port answers again/;
        sleep 0.2;
    }
    ok($back, "$kind back: PG0015 logged within the back-off ($BACKOFF s) + 5 s");
    $_->stop for @srv;
    $d->stop;
}

# A store that refuses from the start, and one that accepts connections and
# never answers (what hung every request for minutes before).
SKIP: {
    skip 'memcached not installed', 1 unless `command -v memcached 2>/dev/null` || $ENV{PG_REQUIRE_TOOLS};
    my $refused = PGTest::free_port();
    my $silent = IO::Socket::INET->new(Listen => 128, LocalAddr => '127.0.0.1', LocalPort => 0,
                                       Proto => 'tcp', ReuseAddr => 1) or die "listener: $!";
    my $silent_port = $silent->sockport;
    for my $case ([ 'refusing', $refused ], [ 'never answering', $silent_port ]) {
        my ($what, $port) = @$case;
        my $srv = server("ban-" . ($what =~ s/ /-/gr), PGDaemon->new('memcache', $port));
        my $mark = 0;           # the agent asks as soon as the first request waits
        my ($slowest, $served) = (0, 0);
        my $t_end = time + 4;
        my $n = 0;
        while (time < $t_end) {
            my $t0 = time;
            $served++ if $srv->request($page, from => '127.0.5.' . (++$n % 250 + 1))->{status} == 200;
            $slowest = time - $t0 if time - $t0 > $slowest;
            sleep 0.05;
        }
        is($served, $n, "store $what: all $n requests over 4 s served");
        ok($slowest < 1, sprintf("store $what: the slowest took %.3f s (< 1 s)", $slowest));
        my @lines = $srv->log_since('logs/error_log', $mark) =~ /(PG0012: .*)/g;
        is(scalar @lines, 1, "store $what: PG0012 once") or diag join "\n", @lines;
        like($lines[0] // '', $what eq 'refusing' ? qr/store \(heartbeat\) failed; failing open/
                                                  : qr/no answer within 1 s\) failed; failing open/,
             "store $what: ... saying what failed");
        if ($what eq 'never answering') {
            # the agent that hung is replaced; its successor waits out the
            # back-off, hangs in turn, and is replaced again
            my ($failures, $t_stop) = (0, time + $BACKOFF + 5);
            while (time < $t_stop && $failures < 2) {
                $srv->request($page, from => '127.0.6.' . (++$n % 250 + 1));
                $failures = $srv->json->{ban_store}{failures};
                sleep 0.2;
            }
            cmp_ok($failures, '>=', 2, "store $what: the hung agent was replaced, and so was its successor");
        }
        $srv->stop;
    }
    close $silent;
}

done_testing;
