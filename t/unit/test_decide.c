/* Licensed under the Apache License, Version 2.0.  See LICENSE.
 *
 * Unit tests (TAP) of the pure decision code, pg_decide.c.  Linked with
 * APR only to compare our URI parsing with apr_uri_parse, the parser httpd
 * and mod_proxy route on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_uri.h>

#include "../../pg_decide.h"
#include "../../pg_backend.h"

#include "readers.h"
#include "tap.h"

static pg_span S(const char *s)
{
    pg_span span = { s, s ? strlen(s) : 0 };
    return span;
}

static pg_span SN(const char *s, size_t n)
{
    pg_span span = { s, n };
    return span;
}

static int span_is(pg_span span, const char *want)
{
    return span.ptr != NULL && span.len == strlen(want)
           && memcmp(span.ptr, want, span.len) == 0;
}

/* ------------------------------------------------------------------ */
/* A fake server: www.example.com, alias example.com, *.example.org      */

static int fake_own_host(void *baton, pg_span host)
{
    (void)baton;
    return pg_name_equals("www.example.com", host)
           || pg_name_equals("example.com", host)
           || pg_name_matches("*.example.org", host);
}

static pg_hostpat allow[2];
static const pg_port_range connect_ports[] = { { 443, 443 }, { 8443, 8443 } };
static const pg_port_range proxy_ports[] = { { 80, 80 }, { 443, 443 },
                                             { 8000, 8099 } };

static pg_policy policy(pg_mode mode, pg_unknown_host unknown)
{
    pg_policy p;

    memset(&p, 0, sizeof(p));
    p.mode = mode;
    p.unknown_host = unknown;
    p.allow = allow;
    p.n_allow = 2;
    p.connect_ports = connect_ports;
    p.n_connect_ports = 2;
    p.proxy_ports = proxy_ports;
    p.n_proxy_ports = 3;
    p.proxy_schemes = pg_default_proxy_schemes();
    p.is_own_host = fake_own_host;
    return p;
}

/* mod_proxy's proxy_detect took the request (ProxyRequests On). */
static pg_request claimed(pg_request r)
{
    r.proxy_claimed = 1;
    return r;
}

static pg_request over_tls(pg_request r)
{
    r.tls = 1;
    return r;
}

static pg_request proxy_client(pg_request r)
{
    r.proxy_client = 1;
    return r;
}

static pg_request request(const char *method, const char *uri,
                          const char *host, int proxy_header)
{
    pg_request r;

    memset(&r, 0, sizeof(r));
    r.method = S(method);
    r.uri = S(uri);
    r.host = S(host);
    r.has_proxy_header = proxy_header;
    r.local_addr = S("192.0.2.80");
    r.local_port = 8080;
    return r;
}

static void expect(pg_request req, pg_policy pol, pg_reason reason,
                   pg_action action, int status, const char *name)
{
    pg_decision v = pg_decide(&req, &pol);
    int good = v.reason == reason && v.action == action && v.status == status;

    ok(good, name);
    if (!good) {
        printf("#   got reason=%s action=%s status=%d, want %s %s %d\n",
               pg_reason_name(v.reason), pg_action_name(v.action), v.status,
               pg_reason_name(reason), pg_action_name(action), status);
    }
}

/* ------------------------------------------------------------------ */

static void test_parse_absolute(void)
{
    pg_absolute_uri a;

    ok(pg_parse_absolute_uri(S("http://www.example.com/"), &a)
       && a.valid && span_is(a.host, "www.example.com") && !a.has_port,
       "absolute: plain host");
    ok(pg_parse_absolute_uri(S("HTTP://WWW.Example.COM:8080/x?y"), &a)
       && a.valid && span_is(a.host, "WWW.Example.COM") && a.port == 8080
       && a.has_port && span_is(a.scheme, "HTTP"),
       "absolute: upper-case scheme, port");
    ok(pg_parse_absolute_uri(S("http://www.example.com?x/"), &a) && !a.valid,
       "absolute: '?' inside mod_proxy's authority is invalid");
    ok(pg_parse_absolute_uri(S("http://www.example.com?@198.51.100.7:25/"), &a)
       && !a.valid, "absolute: the bypass own?@elsewhere:25 is invalid");
    ok(pg_parse_absolute_uri(S("http://www.example.com#@198.51.100.7/"), &a)
       && !a.valid, "absolute: own#@elsewhere is invalid");
    ok(pg_parse_absolute_uri(S("http://evil.test\\@www.example.com/"), &a)
       && !a.valid, "absolute: a backslash is invalid");
    ok(pg_parse_absolute_uri(S("http://site@evil/"), &a) && !a.valid,
       "absolute: userinfo is invalid (RFC 9110 4.2.4)");
    ok(pg_parse_absolute_uri(S("http://@host/"), &a) && !a.valid,
       "absolute: empty userinfo is invalid");
    ok(pg_parse_absolute_uri(S("http://%77ww.example.com/"), &a) && !a.valid,
       "absolute: percent-encoding in the host is invalid");
    ok(pg_parse_absolute_uri(S("http://a b/"), &a) && !a.valid,
       "absolute: a space is invalid");
    ok(pg_parse_absolute_uri(S("http://*/"), &a) && !a.valid,
       "absolute: '*' is no host");
    ok(pg_parse_absolute_uri(S("http://2130706433/"), &a) && !a.valid,
       "absolute: an all-digit host is invalid (apr_parse_addr_port: a port)");
    ok(pg_parse_absolute_uri(S("http://1.2.3.4:80/"), &a) && a.valid,
       "absolute: a dotted IPv4 address is a host");
    ok(pg_parse_absolute_uri(S("http://[2001:db8::1]:8080/"), &a)
       && a.valid && span_is(a.host, "2001:db8::1") && a.port == 8080,
       "absolute: IPv6 literal and port");
    ok(pg_parse_absolute_uri(S("http://[::1]/"), &a) && a.valid
       && span_is(a.host, "::1") && !a.has_port, "absolute: IPv6 no port");
    ok(pg_parse_absolute_uri(S("http://[fe80::1%25eth0]/"), &a) && !a.valid,
       "absolute: an IPv6 zone is invalid");
    ok(pg_parse_absolute_uri(S("http://[zz::1]/"), &a) && !a.valid,
       "absolute: a bracketed non-address is invalid");
    ok(pg_parse_absolute_uri(S("http://[::1/"), &a) && !a.valid,
       "absolute: unclosed IPv6 literal is invalid");
    ok(pg_parse_absolute_uri(S("http://[::1]x/"), &a) && !a.valid,
       "absolute: junk after IPv6 literal is invalid");
    ok(pg_parse_absolute_uri(S("http://host:abc/"), &a) && !a.valid,
       "absolute: non-numeric port is invalid");
    ok(pg_parse_absolute_uri(S("http://host:+80/"), &a) && !a.valid,
       "absolute: a signed port is invalid (strtol would take it)");
    ok(pg_parse_absolute_uri(S("http://host:65536/"), &a) && !a.valid,
       "absolute: port over 65535 is invalid");
    ok(pg_parse_absolute_uri(S("http://host:99999999999999999999/"), &a)
       && !a.valid, "absolute: huge port does not overflow");
    ok(pg_parse_absolute_uri(S("http://host:0/"), &a) && !a.valid,
       "absolute: port 0 is invalid");
    ok(pg_parse_absolute_uri(S("http://host:/"), &a) && !a.valid,
       "absolute: an empty port is invalid (the readers differ)");
    ok(pg_parse_absolute_uri(S("http://host:0080/"), &a) && a.valid
       && a.port == 80, "absolute: leading zeros are read alike");
    ok(pg_parse_absolute_uri(S("http:foo"), &a) && !a.valid && a.host.len == 0,
       "absolute: scheme without authority is invalid, empty host");
    ok(pg_parse_absolute_uri(S("ftp://x/"), &a) && span_is(a.host, "x"),
       "absolute: any scheme");
    ok(!pg_parse_absolute_uri(S("/index.html"), &a), "origin-form is not absolute");
    ok(!pg_parse_absolute_uri(S("//evil.com/x"), &a),
       "//host/path is a path, as httpd reads it");
    ok(!pg_parse_absolute_uri(S("*"), &a), "asterisk-form is not absolute");
    ok(!pg_parse_absolute_uri(S(""), &a), "empty URI is not absolute");
    ok(!pg_parse_absolute_uri(SN(NULL, 0), &a), "absent URI is not absolute");
    ok(!pg_parse_absolute_uri(S("1http://x/"), &a),
       "a scheme starts with a letter");
    ok(pg_parse_absolute_uri(SN("http://ours\0.evil.com/", 22), &a)
       && !a.valid, "absolute: a NUL in the authority is invalid");
}

static void test_ports_and_addresses(void)
{
    pg_port_range r;
    unsigned char b[16];

    ok(pg_scheme_port(S("http")) == 80 && pg_scheme_port(S("HTTPS")) == 443
       && pg_scheme_port(S("ws")) == 80 && pg_scheme_port(S("wss")) == 443
       && pg_scheme_port(S("ftp")) == 21 && pg_scheme_port(S("h2c")) == 80
       && pg_scheme_port(S("h2")) == 443 && pg_scheme_port(S("fcgi")) == 8000
       && pg_scheme_port(S("scgi")) == 4000 && pg_scheme_port(S("uwsgi")) == 3031
       && pg_scheme_port(S("ajp")) == 8009,
       "scheme ports: mod_proxy's defaults");
    ok(pg_scheme_port(S("gopher")) == 0 && pg_scheme_port(S("httpx")) == 0,
       "scheme ports: no handler, no port");
    ok(pg_port_range_parse("443", &r) == NULL && r.lo == 443 && r.hi == 443,
       "port range: one port");
    ok(pg_port_range_parse("1024-65535", &r) == NULL && r.lo == 1024
       && r.hi == 65535, "port range: low-high");
    ok(pg_port_range_parse("0", &r) != NULL && pg_port_range_parse("65536", &r)
       && pg_port_range_parse("10-5", &r) && pg_port_range_parse("x", &r)
       && pg_port_range_parse("-5", &r) && pg_port_range_parse("5-", &r)
       && pg_port_range_parse("", &r) && pg_port_range_parse("+80", &r),
       "port range: 0, over 65535, reversed, words, halves, empty, signs refused");
    {
        unsigned long v;

        ok(pg_parse_uint("4294967295", 10, 0xffffffffUL, &v) && v == 4294967295UL
           && !pg_parse_uint("4294967296", 10, 0xffffffffUL, &v)
           && !pg_parse_uint("99999999999999999999999", 23, 0xffffffffUL, &v)
           && !pg_parse_uint("", 0, 10, &v) && !pg_parse_uint("+1", 2, 10, &v)
           && !pg_parse_uint(" 1", 2, 10, &v) && !pg_parse_uint("1x", 2, 10, &v)
           && pg_parse_uint("0010", 4, 10, &v) && v == 10
           && !pg_parse_uint("11", 2, 10, &v),
           "pg_parse_uint: digits only, up to max, no overflow");
        ok(!pg_parse_uint("5", 1, 3, &v) && !pg_parse_uint("9", 1, 0, &v)
           && pg_parse_uint("3", 1, 3, &v) && v == 3
           && pg_parse_uint("0", 1, 0, &v) && v == 0,
           "pg_parse_uint: a max below 9 (max - digit must not wrap)");
    }
    ok(pg_port_in(proxy_ports, 3, 8050) && !pg_port_in(proxy_ports, 3, 8100)
       && !pg_port_in(proxy_ports, 3, 0), "port range: membership, 0 never");
    ok(pg_ip_parse(S("192.0.2.1"), b) == 4 && b[0] == 192 && b[3] == 1,
       "ip: IPv4");
    ok(pg_ip_parse(S("::ffff:192.0.2.1"), b) == 4 && b[0] == 192 && b[3] == 1
       && b[4] == 0, "ip: an IPv4-mapped address is that IPv4 address");
    ok(pg_ip_parse(S("2001:db8::1"), b) == 6 && b[15] == 1, "ip: IPv6");
    ok(!pg_ip_parse(S("10"), b) && !pg_ip_parse(S("1.2.3"), b)
       && !pg_ip_parse(SN("1.2.3.4\0x", 9), b) && !pg_ip_parse(SN(NULL, 0), b),
       "ip: partial addresses, NUL bytes, absence refused");
    ok(pg_ip_same(S("127.0.0.1"), S("127.0.0.1"))
       && pg_ip_same(S("::ffff:127.0.0.1"), S("127.0.0.1"))
       && pg_ip_same(S("::1"), S("0:0::1")),
       "ip_same: the same address, mapped and spelled otherwise included");
    ok(!pg_ip_same(S("127.0.0.1"), S("127.0.0.2")) && !pg_ip_same(S("::1"), S("127.0.0.1"))
       && !pg_ip_same(S("localhost"), S("localhost")) && !pg_ip_same(SN(NULL, 0), S("::1")),
       "ip_same: other addresses, families, names and absence are not");
}

static void test_parse_host_header(void)
{
    pg_span n;

    ok(pg_parse_host_header(S("www.example.com"), &n)
       && span_is(n, "www.example.com"), "Host: name");
    ok(pg_parse_host_header(S("www.example.com:8080"), &n)
       && span_is(n, "www.example.com"), "Host: name:port");
    ok(pg_parse_host_header(S("WWW.example.com."), &n)
       && span_is(n, "WWW.example.com"), "Host: trailing dot removed");
    ok(pg_parse_host_header(S("[::1]:80"), &n) && span_is(n, "::1"),
       "Host: IPv6 literal");
    ok(pg_parse_host_header(S("  host \t"), &n) && span_is(n, "host"),
       "Host: surrounding blanks");
    ok(!pg_parse_host_header(S(""), &n), "Host: empty is malformed");
    ok(!pg_parse_host_header(S("[::1"), &n), "Host: unclosed IPv6");
    ok(!pg_parse_host_header(S("host:x"), &n), "Host: bad port");
    ok(!pg_parse_host_header(S(":80"), &n), "Host: port only");
    ok(!pg_parse_host_header(SN(NULL, 0), &n), "Host: absent");
}

static void test_names(void)
{
    static char many_a[10001];
    int i;

    ok(pg_name_equals("www.example.com", S("WWW.Example.COM.")),
       "equals: case and trailing dot");
    ok(pg_name_equals("www.example.com.", S("www.example.com")),
       "equals: trailing dot on the configured name");
    ok(pg_name_equals("[::1]", S("::1")), "equals: bracketed IPv6 name");
    ok(!pg_name_equals("*", S("anything")), "equals: '*' is not a wildcard");
    ok(!pg_name_equals("www.example.com", S("www.example.com.evil")),
       "equals: no prefix match");
    ok(!pg_name_equals("www.example.com", S("")), "equals: empty host");
    ok(!pg_name_equals(NULL, S("x")), "equals: no name");
    ok(pg_name_matches("*.example.com", S("a.EXAMPLE.com")),
       "matches: *.suffix");
    ok(pg_name_matches("*.example.com", S("a.b.example.com")),
       "matches: *.suffix, two labels");
    ok(!pg_name_matches("*.example.com", S("example.com")),
       "matches: *.suffix does not match the bare domain");
    ok(!pg_name_matches("*.example.com", S("evilexample.com")),
       "matches: *.suffix needs the dot");
    ok(pg_name_matches("www.example.*", S("www.example.org")),
       "matches: trailing wildcard");
    ok(pg_name_matches("w?w.example.com", S("wxw.example.com")),
       "matches: '?'");
    for (i = 0; i < 10000; i++) {
        many_a[i] = 'a';
    }
    ok(!pg_name_matches("*a*a*a*a*a*a*a*a*b", S(many_a)),
       "matches: pathological pattern on 10000 bytes terminates, no match");
}

static void test_hostpat(void)
{
    pg_hostpat p;

    ok(pg_hostpat_parse("Example.COM.", &p) == NULL
       && p.kind == PG_HOSTPAT_NAME && strcmp(p.name, "example.com") == 0,
       "hostpat: name, lower-cased, trailing dot dropped");
    ok(pg_hostpat_parse("*.example.com", &p) == NULL
       && p.kind == PG_HOSTPAT_SUFFIX, "hostpat: *.suffix");
    ok(pg_hostpat_parse("192.0.2.1", &p) == NULL && p.kind == PG_HOSTPAT_IPV4,
       "hostpat: IPv4");
    ok(pg_hostpat_parse("2001:db8::1", &p) == NULL
       && p.kind == PG_HOSTPAT_IPV6, "hostpat: IPv6");
    ok(pg_hostpat_parse("[2001:db8::1]", &p) == NULL
       && p.kind == PG_HOSTPAT_IPV6, "hostpat: bracketed IPv6");
    ok(pg_hostpat_parse("", &p) != NULL, "hostpat: empty rejected");
    ok(pg_hostpat_parse("*", &p) != NULL, "hostpat: bare * rejected");
    ok(pg_hostpat_parse("*example.com", &p) != NULL,
       "hostpat: *example.com rejected");
    ok(pg_hostpat_parse("a*b.com", &p) != NULL, "hostpat: inner * rejected");
    ok(pg_hostpat_parse("a..b", &p) != NULL, "hostpat: empty label rejected");
    ok(pg_hostpat_parse("exa mple.com", &p) != NULL,
       "hostpat: space rejected");
    ok(pg_hostpat_parse("http://x", &p) != NULL
       && strstr(pg_hostpat_parse("http://x", &p), "not a host name") != NULL,
       "hostpat: URL rejected, saying it is not a host name");
    ok(strstr(pg_hostpat_parse("user@x", &p), "not a host name") != NULL,
       "hostpat: userinfo rejected, saying it is not a host name");
    ok(pg_hostpat_parse("10.0.0.0/8", &p) != NULL, "hostpat: CIDR rejected");
    ok(pg_hostpat_parse("[::1", &p) != NULL, "hostpat: bad IPv6 rejected");
    ok(pg_hostpat_parse("1::2::3", &p) != NULL, "hostpat: bad IPv6 rejected");

    pg_hostpat_parse("2001:db8::1", &p);
    ok(pg_hostpat_matches(&p, S("2001:DB8:0:0:0:0:0:1")),
       "hostpat: IPv6 compared as an address, not as text");
    ok(!pg_hostpat_matches(&p, S("2001:db8::2")), "hostpat: other IPv6");
    pg_hostpat_parse("192.0.2.1", &p);
    ok(pg_hostpat_matches(&p, S("192.0.2.1")), "hostpat: IPv4 equal");
    ok(!pg_hostpat_matches(&p, S("192.0.2.10")), "hostpat: IPv4 other");
    ok(!pg_hostpat_matches(&p, S("3221225985")),
       "hostpat: IPv4 as a decimal number is not the address");
    pg_hostpat_parse("*.example.net", &p);
    ok(pg_hostpat_matches(&p, S("CDN.example.net.")), "hostpat: suffix");
    ok(!pg_hostpat_matches(&p, S("example.net")), "hostpat: bare domain");
    ok(!pg_hostpat_matches(&p, S("badexample.net")), "hostpat: no dot");
}

static void test_decide(void)
{
    pg_policy on = policy(PG_MODE_ON, PG_UNKNOWN_DETECT);
    pg_policy detect_only = policy(PG_MODE_DETECT_ONLY, PG_UNKNOWN_DETECT);
    pg_policy off = policy(PG_MODE_OFF, PG_UNKNOWN_DENY);
    pg_policy deny_unknown = policy(PG_MODE_ON, PG_UNKNOWN_DENY);
    pg_policy allow_unknown = policy(PG_MODE_ON, PG_UNKNOWN_ALLOW);
    pg_request req;
    char *huge;
    size_t huge_len = 1 << 20;

    /* the real lines from the issue */
    expect(request("CONNECT", "59.124.98.13:25", NULL, 0), on,
           PG_REASON_CONNECT, PG_ACTION_DENY, 405, "CONNECT ip:25");
    expect(request("CONNECT", "maila.microsoft.com:25", NULL, 0), on,
           PG_REASON_CONNECT, PG_ACTION_DENY, 405, "CONNECT name:25");
    expect(request("CONNECT", "www.example.com:443", "www.example.com", 0), on,
           PG_REASON_CONNECT, PG_ACTION_DENY, 405,
           "CONNECT to our own name is still CONNECT");
    expect(request("GET", "http://www.online.sh.cn/", "www.example.com", 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "absolute URI, foreign host, our Host: the URI wins");
    expect(request("GET", "http://207.36.18.60/cgi-bin/textenv.pl?80", NULL, 0),
           on, PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "absolute URI to an IP, HTTP/1.0");
    expect(request("GET", "http://6.example.cn/zc/chs/img/body.png",
                   "6.example.cn", 1), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "honeypot line with Proxy-Connection counts once, as absolute-uri");

    /* absolute form naming us */
    expect(request("GET", "http://WWW.EXAMPLE.COM/", "evil.test", 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "absolute to us, upper case");
    expect(request("GET", "http://www.example.com.:8080/", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "absolute to us, trailing dot and our port");
    expect(request("GET", "http://a.b.example.org/", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "absolute to a wildcard alias");
    expect(request("GET", "http://www.example.com:25/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "absolute to our name at another port");
    req = request("GET", "http://www.example.com:80/", NULL, 0);
    req.server_port = 80;
    expect(req, on, PG_REASON_NONE, PG_ACTION_PASS, 0,
           "absolute to our name at the ServerName's port");
    expect(request("GET", "http://www.example.com@evil.test/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "userinfo trick: site@evil is evil");
    expect(request("GET", "http://evil.test@www.example.com/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "userinfo: evil@site is refused too (readers could differ)");
    expect(request("GET", "http://%77ww.example.com/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "percent-encoded host is not decoded into ours");
    expect(request("GET", "http://www.example.com%2eevil.test/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "percent-encoded dot does not make a suffix of ours");
    expect(request("GET", "http:", NULL, 0), on, PG_REASON_ABSOLUTE_URI,
           PG_ACTION_DENY, 403, "scheme only");
    expect(request("GET", "http:///etc/passwd", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403, "empty authority");
    expect(request("GET", "gopher://www.example.com/", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "any scheme naming us passes");
    expect(request("GET", "ftp://ftp.evil.test/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403, "ftp:// foreign");
    expect(request("GET", "http://[::1]/", NULL, 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "IPv6 literal not ours");
    expect(request("GET", "http://[2001:db8::1]/", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "IPv6 literal in AllowHost");
    expect(request("GET", "http://cdn.example.net/", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "AllowHost *.suffix");

    /* Host header (origin-form) */
    expect(request("GET", "/", "www.example.com:8080", 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "our Host with port");
    expect(request("GET", "/", "Example.COM.", 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "our alias, case, trailing dot");
    expect(request("GET", "/", "x.cdn.example.net", 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "Host in AllowHost");
    expect(request("GET", "/", "127.0.0.1", 0), on, PG_REASON_UNKNOWN_HOST,
           PG_ACTION_DETECT, 0, "unknown Host: detect by default");
    expect(request("GET", "/", "127.0.0.1", 0), deny_unknown,
           PG_REASON_UNKNOWN_HOST, PG_ACTION_DENY, 403, "unknown Host: Deny");
    expect(request("GET", "/", "127.0.0.1", 0), allow_unknown,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "unknown Host: Allow");
    expect(request("GET", "/", "[::1", 0), on, PG_REASON_UNKNOWN_HOST,
           PG_ACTION_DETECT, 0, "malformed Host is unknown");
    expect(request("GET", "/", NULL, 0), deny_unknown, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "no Host (HTTP/1.0) passes untouched");
    expect(request("GET", "/", "", 0), deny_unknown, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "empty Host passes untouched");
    expect(request("OPTIONS", "*", "evil.test", 0), deny_unknown,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "OPTIONS * passes untouched");

    /* proxy headers */
    expect(request("GET", "/", "www.example.com", 1), on,
           PG_REASON_PROXY_HEADER, PG_ACTION_DETECT, 0,
           "proxy header on an otherwise good request");
    expect(request("GET", "/", "evil.test", 1), on, PG_REASON_UNKNOWN_HOST,
           PG_ACTION_DETECT, 0, "unknown Host and proxy header count once");
    expect(request("GET", "/", "evil.test", 1), allow_unknown,
           PG_REASON_PROXY_HEADER, PG_ACTION_DETECT, 0,
           "proxy header when unknown Host is allowed");

    /* modes */
    expect(request("CONNECT", "59.124.98.13:25", NULL, 0), detect_only,
           PG_REASON_CONNECT, PG_ACTION_DETECT, 405,
           "DetectOnly: CONNECT detected, would be 405");
    expect(request("GET", "http://www.online.sh.cn/", NULL, 0), detect_only,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DETECT, 403,
           "DetectOnly: absolute URI detected, would be 403");
    expect(request("CONNECT", "59.124.98.13:25", NULL, 1), off,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "Off: nothing");

    /* hostile bytes */
    expect(request("connect", "59.124.98.13:25", NULL, 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "methods are case-sensitive: 'connect' is not CONNECT");
    req = request("GET", "/", NULL, 0);
    req.method = SN("CONNECT\0x", 9);
    expect(req, on, PG_REASON_NONE, PG_ACTION_PASS, 0,
           "NUL inside the method");
    req = request("GET", "/", NULL, 0);
    req.method = SN(NULL, 0);
    req.uri = SN(NULL, 0);
    expect(req, on, PG_REASON_NONE, PG_ACTION_PASS, 0,
           "everything absent");
    req = request("GET", "/", NULL, 0);
    req.host = SN("www.example.com\0evil", 20);
    expect(req, on, PG_REASON_UNKNOWN_HOST, PG_ACTION_DETECT, 0,
           "NUL inside Host never matches our name");

    /* forward-proxy clients (ProxyGuardProxyClients, ProxyGuardConnectPorts) */
    expect(proxy_client(request("CONNECT", "mail.example.net:443", NULL, 1)), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "proxy client: CONNECT to an allowed port passes, proxy headers and all");
    expect(proxy_client(request("CONNECT", "[2001:db8::1]:8443", NULL, 0)), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0, "proxy client: IPv6 target, allowed port");
    expect(proxy_client(request("CONNECT", "198.185.2.67:25", NULL, 0)), on,
           PG_REASON_CONNECT_PORT, PG_ACTION_DENY, 403,
           "proxy client: CONNECT to port 25 is connect-port, 403");
    expect(proxy_client(request("CONNECT", "host:4430", NULL, 0)), on,
           PG_REASON_CONNECT_PORT, PG_ACTION_DENY, 403,
           "proxy client: port 4430 is not 443");
    expect(proxy_client(request("CONNECT", "host", NULL, 0)), on,
           PG_REASON_CONNECT_PORT, PG_ACTION_DENY, 403,
           "proxy client: CONNECT without a port");
    expect(proxy_client(request("CONNECT", "host:443x", NULL, 0)), on,
           PG_REASON_CONNECT_PORT, PG_ACTION_DENY, 403,
           "proxy client: malformed port");
    expect(proxy_client(request("CONNECT", "198.185.2.67:25", NULL, 0)), detect_only,
           PG_REASON_CONNECT_PORT, PG_ACTION_DETECT, 403,
           "proxy client, DetectOnly: connect-port detected");
    expect(proxy_client(request("GET", "http://www.online.sh.cn/", NULL, 1)), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "proxy client: a foreign absolute URI passes to mod_proxy");
    expect(proxy_client(request("GET", "/", "www.example.com", 1)), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "proxy client: proxy headers are not a signal");
    expect(proxy_client(request("GET", "/", "evil.test", 0)), on,
           PG_REASON_UNKNOWN_HOST, PG_ACTION_DETECT, 0,
           "proxy client: an unknown Host is still unknown-host");
    expect(request("CONNECT", "mail.example.net:443", NULL, 0), on,
           PG_REASON_CONNECT, PG_ACTION_DENY, 405,
           "not a proxy client: CONNECT to 443 is still 405");
    ok(pg_connect_port(S("h:25")) == 25 && pg_connect_port(S("[::1]:443")) == 443
       && pg_connect_port(S("h")) == 0 && pg_connect_port(S("h:")) == 0
       && pg_connect_port(S("h:70000")) == 0 && pg_connect_port(SN(NULL, 0)) == 0,
       "pg_connect_port");

    huge = malloc(huge_len + 1);
    memset(huge, 'a', huge_len);
    memcpy(huge, "http://", 7);
    huge[huge_len] = '\0';
    expect(request("GET", huge, NULL, 0), on, PG_REASON_ABSOLUTE_URI,
           PG_ACTION_DENY, 403, "1 MiB absolute URI");
    expect(request("GET", "/", huge, 0), on, PG_REASON_UNKNOWN_HOST,
           PG_ACTION_DETECT, 0, "1 MiB Host");
    free(huge);
}

/* Issue 9: a decision must hold under every reader that acts. */
static void test_every_reader(void)
{
    static const char *const tricks[] = {
        "http://www.example.com?@198.51.100.7:25/",
        "http://www.example.com#@198.51.100.7:25/",
        "http://www.example.com\\@198.51.100.7:25/",
        "http://www.example.com?x=@198.51.100.7:25/",
        "http://x@www.example.com/",
        "http://www.example.com:@198.51.100.7/",
        "http://www.example.com:8080@198.51.100.7:25/",
        "http://www.example.com:0/",
        "http://www.example.com:/",
        "http://%77ww.example.com/",
        "HTTP://www.example.com?@198.51.100.7/",
        "https://www.example.com?@198.51.100.7:465/",
        "ftp://www.example.com?@198.51.100.7:25/",
    };
    pg_policy on = policy(PG_MODE_ON, PG_UNKNOWN_DETECT);
    pg_policy detect_only = policy(PG_MODE_DETECT_ONLY, PG_UNKNOWN_DETECT);
    pg_policy deny_unknown = policy(PG_MODE_ON, PG_UNKNOWN_DENY);
    pg_policy allow_unknown = policy(PG_MODE_ON, PG_UNKNOWN_ALLOW);
    char name[160];
    size_t i;

    for (i = 0; i < sizeof(tricks) / sizeof(tricks[0]); i++) {
        snprintf(name, sizeof(name), "refused for a stranger: %s", tricks[i]);
        expect(request("GET", tricks[i], "www.example.com", 0), on,
               PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403, name);
        snprintf(name, sizeof(name), "refused for a proxy client: POST %s",
                 tricks[i]);
        expect(proxy_client(claimed(request("POST", tricks[i], NULL, 1))), on,
               PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403, name);
    }

    /* mod_proxy's claim decides for a client that is not a proxy client */
    expect(claimed(request("GET", "http://www.example.com/", "www.example.com",
                           0)), on, PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "claimed: a name of ours that mod_proxy forwards is refused");
    expect(claimed(request("POST", "http://www.example.com:8080/proxyguard-status",
                           NULL, 0)), on, PG_REASON_ABSOLUTE_URI,
           PG_ACTION_DENY, 403,
           "claimed: our name at our own port, forwarded: refused");
    expect(claimed(request("GET", "http://elsewhere.test/", NULL, 1)),
           detect_only, PG_REASON_ABSOLUTE_URI, PG_ACTION_DETECT, 403,
           "claimed, DetectOnly: detected, would be 403");

    /* proxy clients: the port mod_proxy will connect to */
    expect(proxy_client(claimed(request("POST", "http://mail.example.net:25/",
                                        NULL, 0))), on, PG_REASON_PROXY_PORT,
           PG_ACTION_DENY, 403, "proxy client: POST http://host:25/ is proxy-port");
    expect(proxy_client(claimed(request("GET", "HTTP://mail.example.net:465/",
                                        NULL, 0))), on, PG_REASON_PROXY_PORT,
           PG_ACTION_DENY, 403, "proxy client: upper-case scheme, port 465");
    expect(proxy_client(claimed(request("GET", "http://mail.example.net:0587/",
                                        NULL, 0))), on, PG_REASON_PROXY_PORT,
           PG_ACTION_DENY, 403, "proxy client: port 0587 is 587");
    expect(proxy_client(claimed(request("GET", "http://mail.example.net/",
                                        NULL, 1))), on, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "proxy client: http:// is port 80, allowed");
    expect(proxy_client(claimed(request("GET", "https://mail.example.net/",
                                        NULL, 0))), on, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "proxy client: https:// is port 443, allowed");
    expect(proxy_client(claimed(request("GET", "ftp://mail.example.net/",
                                        NULL, 0))), on, PG_REASON_PROXY_PORT,
           PG_ACTION_DENY, 403, "proxy client: ftp:// is port 21, not allowed");
    expect(proxy_client(claimed(request("GET", "gopher://x.example.net/",
                                        NULL, 0))), on, PG_REASON_PROXY_PORT,
           PG_ACTION_DENY, 403,
           "proxy client: a scheme mod_proxy has no port for is refused");
    expect(proxy_client(claimed(request("GET", "http://x.example.net:8010/",
                                        NULL, 0))), on, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "proxy client: a port inside a range");
    /* proxy clients: the scheme, after the port */
    expect(proxy_client(claimed(request("GET", "ftp://x.example.net:443/f",
                                        NULL, 0))), on, PG_REASON_PROXY_SCHEME,
           PG_ACTION_DENY, 403,
           "proxy client: ftp:// to an allowed port is proxy-scheme");
    expect(proxy_client(claimed(request("GET", "FTP://x.example.net:8010/",
                                        NULL, 0))), detect_only,
           PG_REASON_PROXY_SCHEME, PG_ACTION_DETECT, 403,
           "proxy client, DetectOnly: FTP:// detected, would be 403");
    expect(proxy_client(claimed(request("GET", "fcgi://x.example.net:8010/",
                                        NULL, 0))), on, PG_REASON_PROXY_SCHEME,
           PG_ACTION_DENY, 403, "proxy client: fcgi:// is not a default scheme");
    expect(proxy_client(claimed(request("GET", "gopher://x.example.net:80/",
                                        NULL, 0))), on, PG_REASON_PROXY_SCHEME,
           PG_ACTION_DENY, 403,
           "proxy client: a scheme without a handler, at an allowed port");
    expect(proxy_client(claimed(request("GET", "wss://x.example.net/",
                                        NULL, 0))), on, PG_REASON_NONE,
           PG_ACTION_PASS, 0, "proxy client: wss:// is a default scheme");
    {
        pg_policy ftp_too = on;

        ftp_too.proxy_schemes |= pg_scheme_bit(S("ftp"));
        expect(proxy_client(claimed(request("GET", "ftp://x.example.net:443/",
                                            NULL, 0))), ftp_too,
               PG_REASON_NONE, PG_ACTION_PASS, 0,
               "proxy client: ftp:// passes once the scheme is listed");
        ftp_too.proxy_schemes = pg_scheme_bit(S("ftp"));
        expect(proxy_client(claimed(request("GET", "http://x.example.net/",
                                            NULL, 0))), ftp_too,
               PG_REASON_PROXY_SCHEME, PG_ACTION_DENY, 403,
               "proxy client: a list without http refuses http://");
    }
    expect(proxy_client(claimed(request("GET", "http://x.example.net:587/",
                                        NULL, 0))), detect_only,
           PG_REASON_PROXY_PORT, PG_ACTION_DETECT, 403,
           "proxy client, DetectOnly: proxy-port detected");
    expect(proxy_client(request("GET", "http://www.example.com/",
                                "www.example.com", 1)), on, PG_REASON_NONE,
           PG_ACTION_PASS, 0,
           "proxy client: a URI naming us, not forwarded, is served here");

    /* the host httpd routes on */
    expect(request("GET", "https://www.example.com/", "evil.test", 0), on,
           PG_REASON_UNKNOWN_HOST, PG_ACTION_DETECT, 0,
           "https:// on a plain connection: httpd routes on Host, which is unknown");
    expect(request("GET", "https://www.example.com/", "evil.test", 0),
           deny_unknown, PG_REASON_UNKNOWN_HOST, PG_ACTION_DENY, 403,
           "... and ProxyGuardUnknownHost Deny refuses it");
    expect(request("GET", "https://www.example.com/", "www.example.com", 0), on,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "https:// on a plain connection, Host ours: passes");
    expect(request("GET", "https://evil.test/", "www.example.com", 0), on,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "https:// on a plain connection, foreign URI host: absolute-uri");
    expect(over_tls(request("GET", "http://www.example.com/", "evil.test", 0)),
           on, PG_REASON_UNKNOWN_HOST, PG_ACTION_DETECT, 0,
           "over TLS, http:// is the foreign scheme: routed on Host");
    expect(over_tls(request("GET", "https://www.example.com/", "evil.test", 0)),
           deny_unknown, PG_REASON_NONE, PG_ACTION_PASS, 0,
           "over TLS, https:// routes on the URI");

    /* our own address */
    expect(request("GET", "http://192.0.2.80:8080/", NULL, 0), on,
           PG_REASON_UNKNOWN_HOST, PG_ACTION_DETECT, 0,
           "our own address and port: this server (named by address: unknown-host)");
    expect(request("GET", "http://192.0.2.80:8080/", NULL, 0), allow_unknown,
           PG_REASON_NONE, PG_ACTION_PASS, 0,
           "our own address and port: passes where unknown hosts are allowed");
    expect(request("GET", "http://[::ffff:192.0.2.80]:8080/", NULL, 0),
           allow_unknown, PG_REASON_NONE, PG_ACTION_PASS, 0,
           "our own address, IPv4-mapped");
    expect(request("GET", "http://192.0.2.80:8081/", NULL, 0), allow_unknown,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403,
           "our own address at another port");
    expect(request("GET", "http://192.0.2.81:8080/", NULL, 0), allow_unknown,
           PG_REASON_ABSOLUTE_URI, PG_ACTION_DENY, 403, "another address");
    expect(request("GET", "/", "192.0.2.80", 0), on, PG_REASON_UNKNOWN_HOST,
           PG_ACTION_DETECT, 0, "Host: our own address is still unknown-host");
}

/* Wherever we accept an absolute URI, httpd (apr_uri_parse) and mod_proxy
 * (ap_proxy_canon_netloc, readers.h) name the same host and port; and the
 * model does tell the bypass apart, or this test would prove nothing. */
static void test_readers_agree(void)
{
    static const char *const uris[] = {
        "http://www.example.com/", "http://a@b/", "http://a:b@c:81/x",
        "http://a@b@c/", "http://[::1]:8080/", "http://[::1]/",
        "http://h#@evil/", "http://h?@evil/", "http://h:/", "http:x",
        "HTTPS://Mixed.Case:443/", "http://host:8080", "http://@/",
        "http://user@[2001:db8::1]:80/", "ftp://x.y.z/", "a+b-c.d://h/",
        "http://%65vil/", "http://ho%3ast:1/", "http://h\\@evil/",
        "http://h:0/", "http://h:65535/", "http://h:0080/x?y#z",
        "http://h.example./", "http://under_score.example/",
        "http://8080/", "http://h:80:25/", "http://[::1]:0/",
    };
    apr_pool_t *pool;
    reader_view h, m;
    char why[256], name[300];
    size_t i;

    apr_pool_create(&pool, NULL);
    for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
        pg_absolute_uri pu;

        if (!pg_parse_absolute_uri(S(uris[i]), &pu) || !pu.valid) {
            continue;
        }
        snprintf(name, sizeof(name), "every reader names our host: %s", uris[i]);
        ok(readers_agree(pool, uris[i], &pu, why, sizeof(why)), name);
        if (!readers_agree(pool, uris[i], &pu, why, sizeof(why))) {
            printf("#   %s\n", why);
        }
    }
    h = reader_httpd(pool, "http://www.example.com?@198.51.100.7:25/");
    m = reader_mod_proxy(pool, "http://www.example.com?@198.51.100.7:25/");
    ok(h.ok && !strcmp(h.host, "www.example.com") && m.ok
       && !strcmp(m.host, "198.51.100.7") && m.port == 25,
       "the readers' models disagree on the issue's bypass, as the real ones did");
    h = reader_httpd(pool, "http://h:0/");
    m = reader_mod_proxy(pool, "http://h:0/");
    ok(h.ok && h.port == 0 && !m.ok,
       "port 0: httpd reads port 0, mod_proxy refuses it: the readers differ");
    m = reader_mod_proxy(pool, "http://8080/");
    ok(reader_httpd(pool, "http://8080/").ok && !m.ok,
       "an all-digit host: httpd reads a host, mod_proxy a port");
    apr_pool_destroy(pool);
}

/* The reason and action names are a contract: logs, PROXYGUARD, the
 * status page and fail2ban's filter use them. */
static void test_names_are_a_contract(void)
{
    static const char *const reasons[PG_REASON_COUNT] = {
        "none", "connect", "absolute-uri", "unknown-host", "proxy-header",
        "connect-port", "proxy-port", "banned", "proxy-scheme",
        "dynamic-backend"
    };
    int r, same = 1;

    for (r = 0; r < PG_REASON_COUNT; r++) {
        same &= strcmp(pg_reason_name((pg_reason)r), reasons[r]) == 0;
    }
    ok(same, "names: every reason has its documented name");
    ok(strcmp(pg_reason_name(PG_REASON_COUNT), "none") == 0,
       "names: a reason out of range is none");
    ok(strcmp(pg_action_name(PG_ACTION_DENY), "deny") == 0
       && strcmp(pg_action_name(PG_ACTION_DETECT), "detect") == 0
       && strcmp(pg_action_name(PG_ACTION_PASS), "pass") == 0,
       "names: deny, detect, pass");
}

/* The premise of the kept-alive memo (pg_decide.h): an origin-form
 * request's decision depends on the method being CONNECT, the Host, the
 * proxy header, the client being a proxy client and the policy only.  For
 * Hosts of every kind, under every policy, everything else is varied. */
static void test_origin_form_depends_on_little(void)
{
    static const char *const hosts[] = {
        NULL, "", "www.example.com", "WWW.EXAMPLE.COM.", "www.example.com:8080",
        "a.example.org", "cdn.example.net", "[2001:db8::1]:80", "192.0.2.80",
        "192.0.2.80:8080", "evil.test", "evil.test:25", "www.example.com@evil",
        "bad host"
    };
    static const char *const targets[] = { "/", "/x?y=http://evil.test/", "//evil.test/", "/%00" };
    static const char *const methods[] = { "GET", "POST", "OPTIONS", "connect", "" };
    pg_policy pols[6];
    char name[160];
    int h, t, m, p, flags, changed = 0, cases = 0;

    pols[0] = policy(PG_MODE_ON, PG_UNKNOWN_DETECT);
    pols[1] = policy(PG_MODE_ON, PG_UNKNOWN_DENY);
    pols[2] = policy(PG_MODE_ON, PG_UNKNOWN_ALLOW);
    pols[3] = policy(PG_MODE_DETECT_ONLY, PG_UNKNOWN_DENY);
    pols[4] = policy(PG_MODE_OFF, PG_UNKNOWN_DENY);
    pols[5] = policy(PG_MODE_ON, PG_UNKNOWN_DENY);
    pols[5].n_allow = 0;
    for (p = 0; p < 6; p++) {
        for (h = 0; h < (int)(sizeof(hosts) / sizeof(hosts[0])); h++) {
            for (flags = 0; flags < 4; flags++) {
                pg_request base = request("GET", "/", hosts[h], flags & 1);
                pg_decision v;

                base.proxy_client = (flags >> 1) & 1;
                v = pg_decide(&base, &pols[p]);
                for (t = 0; t < 4; t++) {
                    for (m = 0; m < 5; m++) {
                        pg_request other = base;
                        pg_decision w;

                        other.uri = S(targets[t]);
                        other.method = S(methods[m]);
                        other.tls = (t + m) & 1;
                        other.proxy_claimed = m & 1;
                        other.local_addr = S(t & 1 ? "198.51.100.1" : "192.0.2.80");
                        other.local_port = 8080 + (unsigned)t;
                        other.server_port = m & 1 ? 443 : 0;
                        w = pg_decide(&other, &pols[p]);
                        changed += w.reason != v.reason || w.action != v.action
                                   || w.status != v.status;
                        cases++;
                    }
                }
            }
        }
    }
    snprintf(name, sizeof(name), "origin-form: the decision of %d variants follows "
             "CONNECT, Host, proxy header, proxy client and policy only (%d changed)",
             cases, changed);
    ok(changed == 0 && cases == 6 * 14 * 4 * 20, name);
}

/* pg_backend.h: proxy rules' targets, backend URLs, the dynamic list. */
static void test_backend(void)
{
    pg_policy on = policy(PG_MODE_ON, PG_UNKNOWN_DETECT);
    pg_policy off = policy(PG_MODE_OFF, PG_UNKNOWN_DETECT);
    pg_policy detect_only = policy(PG_MODE_DETECT_ONLY, PG_UNKNOWN_DETECT);
    pg_backend_pat pats[3];
    pg_backend b;
    pg_decision v;
    char key[300];

    ok(pg_target_kind_of(S("http://$1/$2")) == PG_TARGET_FROM_REQUEST,
       "target: http://$1/ takes its backend from the request");
    ok(pg_target_kind_of(S("http://%{HTTP_HOST}/$1")) == PG_TARGET_FROM_REQUEST,
       "target: %{HTTP_HOST} too");
    ok(pg_target_kind_of(S("http://img-%1.example.com/")) == PG_TARGET_FROM_REQUEST,
       "target: a part of the host from a RewriteCond");
    ok(pg_target_kind_of(S("http://backend:${port}/")) == PG_TARGET_FROM_REQUEST,
       "target: a map or variable in the port");
    ok(pg_target_kind_of(S("$1")) == PG_TARGET_FROM_REQUEST
       && pg_target_kind_of(S("%{ENV:TO}")) == PG_TARGET_FROM_REQUEST,
       "target: a whole URL substituted");
    ok(pg_target_kind_of(S("${scheme}://backend/")) == PG_TARGET_FROM_REQUEST,
       "target: the scheme substituted");
    ok(pg_target_kind_of(S("http://backend:8080/$1")) == PG_TARGET_FIXED
       && pg_target_kind_of(S("http://backend/%{REQUEST_URI}")) == PG_TARGET_FIXED,
       "target: substitutions after the authority leave it fixed");
    ok(pg_target_kind_of(S("unix:/run/php.sock|fcgi://localhost")) == PG_TARGET_FIXED
       && pg_target_kind_of(S("unix:/run/$1.sock|fcgi://localhost")) == PG_TARGET_FIXED,
       "target: a Unix socket's path is not the authority");
    ok(pg_target_kind_of(S("!")) == PG_TARGET_NONE
       && pg_target_kind_of(S("/local/path")) == PG_TARGET_NONE
       && pg_target_kind_of((pg_span){ NULL, 0 }) == PG_TARGET_NONE,
       "target: no backend");

    ok(pg_backend_of(S("http://Backend.Example:8080/x"), &b) && b.port == 8080
       && pg_backend_key(&b, key, sizeof(key)) == 20
       && strcmp(key, "backend.example:8080") == 0,
       "backend: host and port, key in lower case");
    ok(pg_backend_of(S("https://backend/"), &b) && b.port == 443
       && pg_backend_of(S("fcgi://localhost/x.php"), &b) && b.port == 8000,
       "backend: the scheme's default port");
    ok(pg_backend_of(S("unix:/run/php.sock|fcgi://localhost:9000/"), &b)
       && b.port == 9000 && b.host.len == 9,
       "backend: after a Unix socket's path");
    ok(pg_backend_of(S("http://[::1]:8080/"), &b)
       && pg_backend_key(&b, key, sizeof(key))
       && strcmp(key, "[::1]:8080") == 0, "backend: IPv6 in brackets");
    ok(!pg_backend_of(S("http://user@backend/"), &b)
       && !pg_backend_of(S("http://backend:99999/"), &b)
       && !pg_backend_of(S("balancer://pool/"), &b)
       && !pg_backend_of(S("http:///x"), &b) && !pg_backend_of(S("/x"), &b),
       "backend: userinfo, bad port, balancer, no host: none");
    ok(pg_backend_of(S("http://backend:1/"), &b)
       && pg_backend_key(&b, key, 8) == 0 && pg_backend_key(&b, key, 18) == 9,
       "backend: a key that does not fit is refused");

    ok(pg_backend_prefix_len(S("http://backend:8080/x/y")) == 19
       && pg_backend_prefix_len(S("http://backend")) == 14
       && pg_backend_prefix_len(S("unix:/run/a.sock|fcgi://localhost/x")) == 33
       && pg_backend_prefix_len(S("/local")) == 0
       && pg_backend_prefix_len((pg_span){ NULL, 0 }) == 0,
       "prefix: scheme://authority, up to the first '/'");
    ok(pg_backend_pat_parse("img.example.com", &pats[0]) == NULL
       && pats[0].port == 0, "pattern: a name alone");
    ok(pg_backend_pat_parse("*.cdn.example:8080", &pats[1]) == NULL
       && pats[1].port == 8080, "pattern: a wildcard with a port");
    ok(pg_backend_pat_parse("[2001:db8::7]:81", &pats[2]) == NULL
       && pats[2].port == 81, "pattern: IPv6 in brackets with a port");
    {
        pg_backend_pat x;

        ok(pg_backend_pat_parse("2001:db8::7", &x) == NULL && x.port == 0
           && x.host.kind == PG_HOSTPAT_IPV6,
           "pattern: IPv6 without brackets has no port");
        ok(pg_backend_pat_parse("img.test:0", &x) != NULL
           && pg_backend_pat_parse("img.test:65536", &x) != NULL
           && pg_backend_pat_parse("img.test:", &x) != NULL
           && pg_backend_pat_parse("http://img.test", &x) != NULL
           && pg_backend_pat_parse("", &x) != NULL
           && pg_backend_pat_parse("[2001:db8::7]x", &x) != NULL,
           "pattern: bad ports, a URL, empty, junk after ']' refused");
        ok(pg_backend_pat_parse("img.test:65535", &x) == NULL
           && x.port == 65535, "pattern: port 65535");
    }
    ok(pg_backend_of(S("http://IMG.example.com/a"), &b)
       && pg_backend_listed(pats, 3, &b), "listed: a name, default port");
    ok(pg_backend_of(S("http://img.example.com:81/a"), &b)
       && !pg_backend_listed(pats, 3, &b), "listed: not at another port");
    ok(pg_backend_of(S("https://img.example.com/a"), &b)
       && pg_backend_listed(pats, 3, &b),
       "listed: https at its own default port");
    ok(pg_backend_of(S("http://a.cdn.example:8080/"), &b)
       && pg_backend_listed(pats, 3, &b)
       && pg_backend_of(S("http://cdn.example:8080/"), &b)
       && !pg_backend_listed(pats, 3, &b),
       "listed: a wildcard's names, not the bare suffix");
    ok(pg_backend_of(S("http://[2001:db8::7]:81/"), &b)
       && pg_backend_listed(pats, 3, &b)
       && pg_backend_of(S("http://[2001:db8::8]:81/"), &b)
       && !pg_backend_listed(pats, 3, &b), "listed: an IPv6 address");
    ok(pg_backend_of(S("http://mail.example.com:25/"), &b)
       && !pg_backend_listed(pats, 3, &b) && !pg_backend_listed(pats, 0, &b),
       "listed: anything else is not");

    v = pg_decide_dynamic_backend(&on);
    ok(v.reason == PG_REASON_DYNAMIC_BACKEND && v.action == PG_ACTION_DENY
       && v.status == 403, "dynamic backend: 403 under On");
    v = pg_decide_dynamic_backend(&detect_only);
    ok(v.reason == PG_REASON_DYNAMIC_BACKEND && v.action == PG_ACTION_DETECT
       && v.status == 403, "dynamic backend: detected under DetectOnly");
    v = pg_decide_dynamic_backend(&off);
    ok(v.reason == PG_REASON_NONE && v.action == PG_ACTION_PASS,
       "dynamic backend: nothing under Off");
    ok(pg_scheme_bit(S("HTTP")) == 1 && pg_scheme_bit(S("ajp")) == 1u << 10
       && pg_scheme_bit(S("gopher")) == 0 && pg_scheme_bit(S("")) == 0,
       "scheme bits: one per handler, none for the rest");
}

int main(void)
{
    tap_start();
    apr_initialize();
    pg_hostpat_parse("*.example.net", &allow[0]);
    pg_hostpat_parse("2001:db8::1", &allow[1]);

    test_parse_absolute();
    test_ports_and_addresses();
    test_parse_host_header();
    test_names();
    test_hostpat();
    test_decide();
    test_every_reader();
    test_readers_agree();
    test_names_are_a_contract();
    test_backend();
    test_origin_form_depends_on_little();

    apr_terminate();
    return tap_finish();
}
