package PGPrometheus;

# A real Prometheus (Debian's prometheus) on 127.0.0.1, the module's
# ?prometheus text parsed, and the servers the tests of the shipped rules
# and dashboard scrape (t/39_scrape.t, t/integrations/prometheus_rules.t,
# t/integrations/grafana.t):
#
#   my $prom = PGPrometheus->start(config => PGPrometheus::scrape_config($port),
#                                  interval => '1s', rules => [ $file ]);
#   my $up = PGPrometheus::poll(sub { ... }, 60);
#   my $res = $prom->query('up');         # the API's answer, decoded
#   $prom->stop;
#   my $m = PGPrometheus::parse($srv->status('prometheus')->{body});
#   # { types => { family => type }, samples => [ { name, labels, value } ] }
#
#   my $a = PGPrometheus::attacked_server();    # bans, full tables, mail ports
#   PGPrometheus::attack($a, $round);
#   my $b = PGPrometheus::store_down_server();  # a memcache store nobody runs

use strict;
use warnings;
use File::Temp qw(tempdir);
use JSON::PP;
use POSIX qw(WNOHANG);
use Test::More ();
use Time::HiRes qw(sleep time);
use PGHttp;
use PGTest;

# ------------------------------------------------------------------
# The text format

# parse(text) -> { types => {family => type}, samples => [ {name, labels
# => {...}, value} ] }, in the order of the text.  Label values unescaped
# (\\, \", \n).
sub parse {
    my ($text) = @_;
    my (%types, @samples);
    for my $line (split /\n/, $text) {
        if ($line =~ /^# TYPE (\S+) (\S+)$/) { $types{$1} = $2; next }
        next if $line =~ /^#/ || $line !~ /\S/;
        $line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
            or die "not a sample line: $line\n";
        my ($name, $labels, $value) = ($1, $2 // '', $3);
        my %l;
        while ($labels =~ /\G([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gc) {
            my ($k, $v) = ($1, $2);
            $v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1/ge;
            $l{$k} = $v;
        }
        die "bad labels: $line\n" if (pos($labels) // 0) != length $labels;
        push @samples, { name => $name, labels => \%l, value => $value };
    }
    return { types => \%types, samples => \@samples };
}

# The series selector name{k="v",...} (labels sorted, values escaped as
# PromQL strings): one sample's identity.
sub selector {
    my ($name, $labels) = @_;
    my @l = map {
        (my $v = $labels->{$_}) =~ s/(["\\])/\\$1/g;
        $v =~ s/\n/\\n/g;
        qq{$_="$v"};
    } sort keys %$labels;
    return $name . '{' . join(',', @l) . '}';
}

# What Prometheus gets from a target (the documented scrape: by address,
# ?prometheus=): (1, parsed text) or (0, undef) when it does not answer 200.
sub scrape {
    my ($port) = @_;
    my $res = eval {
        PGHttp::raw_request($port, "GET /proxyguard-status?prometheus= HTTP/1.1\r\n"
                                   . "Host: 127.0.0.1:$port\r\nConnection: close\r\n\r\n")
    };
    return (0, undef) unless $res && $res->{status} == 200;
    return (1, parse($res->{body}));
}

# ------------------------------------------------------------------
# The shipped rules

our $RULES = "$PGTest::TOP/conf/prometheus/proxyguard.rules.yml";

# YAML::XS (Debian's libyaml-libyaml-perl) reads the rules: a test without
# it fails under PG_REQUIRE_TOOLS, and skips elsewhere.
sub need_yaml {
    return 1 if eval { require YAML::XS; 1 };
    if ($ENV{PG_REQUIRE_TOOLS}) {
        Test::More::fail('YAML::XS is installed (Debian package libyaml-libyaml-perl)');
        Test::More::done_testing();
        exit 1;
    }
    Test::More::plan(skip_all => 'YAML::XS not installed (Debian package libyaml-libyaml-perl)');
}

# rules([file]) -> { doc => the file, groups => [names], alerts => {name =>
# rule}, records => {name => rule}, recorded => [names in the file's order] }
sub rules {
    my ($file) = @_;
    require YAML::XS;
    my $doc = YAML::XS::LoadFile($file // $RULES);
    my %r = (doc => $doc, groups => [], alerts => {}, records => {}, recorded => []);
    for my $g (@{ $doc->{groups} }) {
        push @{ $r{groups} }, $g->{name};
        for my $rule (@{ $g->{rules} }) {
            if (defined $rule->{alert}) { $r{alerts}{ $rule->{alert} } = $rule }
            else { $r{records}{ $rule->{record} } = $rule; push @{ $r{recorded} }, $rule->{record} }
        }
    }
    return \%r;
}

# ------------------------------------------------------------------
# A real Prometheus

# The scrape configuration exactly as docs/status.md documents it, and the
# same for other targets (ports on 127.0.0.1).
sub doc_scrape_config {
    my $doc = PGTest->slurp_abs("$PGTest::TOP/docs/status.md");
    my ($scrape) = $doc =~ /```yaml\n(scrape_configs:.*?)```/s
        or die "docs/status.md has no scrape_configs block\n";
    return $scrape;
}

sub scrape_config {
    my (@ports) = @_;
    (my $scrape = doc_scrape_config()) =~ s/\["127\.0\.0\.1:80"\]/'[' . join(', ', map { "\"127.0.0.1:$_\"" } @ports) . ']'/e
        or die "docs/status.md's scrape_configs has no target 127.0.0.1:80\n";
    return $scrape;
}

sub installed { `command -v prometheus 2>/dev/null` ? 1 : 0 }

# Every Prometheus started and not yet stopped, stopped at exit even when a
# test dies (END runs before File::Temp removes their directories).
my %RUNNING;
END {
    local $?;
    $_->stop for grep { defined } values %RUNNING;
}

# start(config => "scrape_configs:\n...", interval => '1s', rules => [files])
sub start {
    my ($class, %opt) = @_;
    my $dir = tempdir('pgt-prometheus-XXXXXX', TMPDIR => 1, CLEANUP => !$ENV{PG_KEEP});
    my $interval = $opt{interval} // '1s';
    my $rules = @{ $opt{rules} || [] }
        ? "rule_files:\n" . join('', map { "  - \"$_\"\n" } @{ $opt{rules} }) : '';
    open my $fh, '>', "$dir/prometheus.yml" or die "$dir/prometheus.yml: $!";
    print $fh "global:\n  scrape_interval: $interval\n  scrape_timeout: $interval\n"
            . "  evaluation_interval: $interval\n$rules$opt{config}";
    close $fh;
    my $port = PGTest::free_port();
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDOUT, '>', "$dir/prometheus.log" or die;
        open STDERR, '>&', \*STDOUT or die;
        exec('prometheus', "--config.file=$dir/prometheus.yml", "--storage.tsdb.path=$dir/data",
             "--web.listen-address=127.0.0.1:$port") or die "exec: $!";
    }
    my $self = bless { pid => $pid, port => $port, dir => $dir, owner => $$ }, $class;
    $RUNNING{"$self"} = $self;
    return $self;
}

sub port { $_[0]{port} }
sub dir  { $_[0]{dir} }
sub log_text { PGTest->slurp_abs("$_[0]{dir}/prometheus.log") }

# GET an API path: the answer decoded, or undef (not listening yet, not
# JSON).  Error answers (status "error", HTTP 400/422) are returned too.
# The request is not half-closed: Prometheus (Go's net/http) takes the end
# of the client's stream for a cancel and may answer "query was canceled".
sub api {
    my ($self, $path) = @_;
    my $data = eval {
        my $s = PGHttp::tcp_connect($self->{port});
        print $s "GET $path HTTP/1.1\r\nHost: 127.0.0.1:$self->{port}\r\nConnection: close\r\n\r\n";
        my $d = '';
        while (sysread($s, my $buf, 65536)) { $d .= $buf }
        close $s;
        $d;
    };
    my $res = defined $data ? PGHttp::parse_response($data) : undef;
    return $res && eval { JSON::PP->new->decode($res->{body}) };
}

sub uri_escape {
    my ($s) = @_;
    $s =~ s/([^A-Za-z0-9_.~-])/sprintf '%%%02X', ord $1/ge;
    return $s;
}

# /api/v1/query (instant, now or at time => t) and /api/v1/query_range
sub query {
    my ($self, $expr, %p) = @_;
    my $q = join '&', map { "$_=" . uri_escape($p{$_}) } sort keys %p;
    return $self->api('/api/v1/query?query=' . uri_escape($expr) . ($q ? "&$q" : ''));
}

sub query_range {
    my ($self, $expr, $start, $end, $step) = @_;
    return $self->api('/api/v1/query_range?query=' . uri_escape($expr)
                      . "&start=$start&end=$end&step=$step");
}

sub stop {
    my ($self) = @_;
    return unless $self->{pid} && $self->{owner} == $$;
    my $pid = delete $self->{pid};
    delete $RUNNING{"$self"};
    kill 'TERM', $pid;
    my $deadline = time + 20;
    while (waitpid($pid, WNOHANG) == 0) {
        if (time > $deadline) { kill 'KILL', $pid; waitpid($pid, 0); last }
        sleep 0.1;
    }
}

sub DESTROY { local $?; $_[0]->stop }

# Polls until code returns true or $limit seconds (default 60) pass: the
# last value, or undef.
sub poll {
    my ($code, $limit) = @_;
    my $deadline = time + ($limit // 60);
    while (time < $deadline) {
        my $v = $code->();
        return $v if $v;
        sleep 0.25;
    }
    return undef;
}

# The target's health as /api/v1/targets says, for one scrape job.
sub targets {
    my ($self, $job) = @_;
    my $t = $self->api('/api/v1/targets');
    return [ grep { $_->{labels}{job} eq $job } @{ $t->{data}{activeTargets} || [] } ];
}

# ------------------------------------------------------------------
# The servers the tests of the rules and the dashboard scrape

# A server under attack: a small table (16 clients, 16 bans) that fills,
# bans on the local store (shmcb) that run for an hour.
sub attacked_server {
    return PGTest->new(name => 'prom-attacked', conf => sub {
        "LoadModule socache_shmcb_module $PGTest::MODULES/mod_socache_shmcb.so\n"
        . "ProxyGuardTableSize 16\nProxyGuardBan 3 60 3600\n"
        . $_[0]->status_location . $_[0]->standard_vhosts;
    })->start;
}

# A server whose shared ban store (memcache) is down: nothing listens on
# its port.  Returned once the status page says so (the ban agent's first
# call fails at once).
sub store_down_server {
    my $closed = PGTest::free_port();
    my $srv = PGTest->new(name => 'prom-store-down', conf => sub {
        "LoadModule socache_memcache_module $PGTest::MODULES/mod_socache_memcache.so\n"
        . "ProxyGuardBanCache memcache:127.0.0.1:$closed\nProxyGuardBan 3 60 3600\n"
        . $_[0]->status_location . $_[0]->standard_vhosts;
    })->start;
    poll(sub { $srv->status('prometheus')->{body} =~ /^proxyguard_ban_store_up 0$/m }, 15)
        or die "the ban store of $srv->{name} is not reported down\n";
    return $srv;
}

my $CONNECT = "CONNECT 59.124.98.13:%d HTTP/1.0\r\n\r\n";
my $FOREIGN = "GET http://foreign.test/ HTTP/1.1\r\nHost: foreign.test\r\n\r\n";
my $BY_ADDRESS = "GET / HTTP/1.1\r\nHost: 192.0.2.80\r\n\r\n";
my $PROXY_HEADER = "GET / HTTP/1.1\r\nHost: www.example.com\r\nProxy-Connection: keep-alive\r\n\r\n";

# One round of an attack (rounds 1 to 200), 77 hits from new addresses
# (127.R.x.y): 8 mail relay testers, CONNECT to 25, 465 and 587 each, then
# once more (banned, or refused a ban again when the list is full); 40 one-off
# absolute-URI probes; 3 requests by address (unknown-host) and 2 for
# www.example.com with a proxy header, counted and not refused.  72
# refusals in all.
sub attack {
    my ($srv, $round) = @_;
    my $net = "127.$round";
    for my $i (1 .. 8) {
        $srv->request(sprintf($CONNECT, $_), from => "$net.1.$i") for 25, 465, 587;
        $srv->request($FOREIGN, from => "$net.1.$i");
    }
    $srv->request($FOREIGN, from => "$net.2.$_") for 1 .. 40;
    $srv->request($BY_ADDRESS, from => "$net.3.$_") for 1 .. 3;
    $srv->request($PROXY_HEADER, from => "$net.4.$_") for 1 .. 2;
}

# A quiet round: one CONNECT to port 443 from a new address.
sub trickle {
    my ($srv, $round) = @_;
    $srv->request(sprintf($CONNECT, 443), from => "127.$round.9.1");
}

1;
