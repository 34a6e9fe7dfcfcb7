/* Licensed under the Apache License, Version 2.0.  See LICENSE.
 *
 * Unit tests (TAP) of the hit table (pg_table.c) and its rendering
 * (pg_status.c) on plain malloc'd memory: no httpd involved.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "../../pg_table.h"
#include "../../pg_status.h"

#include "tap.h"

static pg_table *new_table(apr_uint32_t n_vhosts, apr_uint32_t n_clients)
{
    pg_table *t = calloc(1, pg_table_bytes(n_vhosts, n_clients));

    pg_table_init(t, n_vhosts, n_clients, apr_time_from_sec(1700000000), 42);
    return t;
}

/* A table whose row 0 belongs to a vhost, as post_config leaves it. */
static pg_table *new_table_with_vhost(apr_uint32_t n_vhosts,
                                      apr_uint32_t n_clients)
{
    pg_table *t = new_table(n_vhosts, n_clients);

    pg_table_vhost_row(t, "www.example.com");
    return t;
}

static pg_hit hit_from(apr_uint32_t v4, pg_reason reason, apr_time_t now)
{
    static char text[PG_CLIENT_TEXT_MAX];
    pg_hit h;

    memset(&h, 0, sizeof(h));
    h.vhost = 0;
    h.reason = reason;
    h.action = PG_ACTION_DENY;
    h.addr.family = 4;
    h.addr.bytes[0] = (unsigned char)(v4 >> 24);
    h.addr.bytes[1] = (unsigned char)(v4 >> 16);
    h.addr.bytes[2] = (unsigned char)(v4 >> 8);
    h.addr.bytes[3] = (unsigned char)v4;
    snprintf(text, sizeof(text), "%u.%u.%u.%u", v4 >> 24, (v4 >> 16) & 255,
             (v4 >> 8) & 255, v4 & 255);
    h.client = text;
    h.method = "GET";
    h.target = "/";
    h.now = now;
    return h;
}

static pg_record_result last;

static void hit(pg_table *t, const pg_hit *h)
{
    pg_table_count(t, h);
    pg_table_record(t, h, &last);
}

static const pg_client_row *find_client(pg_table *t, apr_uint32_t v4)
{
    const pg_client_row *rows = pg_table_clients(t);
    apr_uint32_t i;

    for (i = 0; i < t->n_clients; i++) {
        if (rows[i].addr.family == 4 && rows[i].addr.bytes[0] == (v4 >> 24)
            && rows[i].addr.bytes[1] == ((v4 >> 16) & 255)
            && rows[i].addr.bytes[2] == ((v4 >> 8) & 255)
            && rows[i].addr.bytes[3] == (v4 & 255)) {
            return &rows[i];
        }
    }
    return NULL;
}

static void test_layout(void)
{
    pg_table *t = new_table(4, 100);
    char name[64];

    printf("# bytes per ProxyGuardTableSize entry: %lu; header %lu; "
           "default table (4096, 20 vhosts): %lu bytes\n",
           (unsigned long)pg_table_bytes_per_client(),
           (unsigned long)sizeof(pg_table),
           (unsigned long)pg_table_bytes(20, PG_TABLE_SIZE_DEFAULT));
    ok(pg_table_bytes(4, 100) >= sizeof(pg_table) + 100 * pg_table_bytes_per_client(),
       "layout: the block holds header, vhost, client and network rows");
    ok(pg_table_fits(t, pg_table_bytes(4, 100), 4, 100), "fits: same layout");
    ok(pg_table_fits(t, pg_table_bytes(4, 100), 3, 100), "fits: fewer vhosts");
    ok(!pg_table_fits(t, pg_table_bytes(4, 100), 5, 100), "fits: not more vhosts");
    ok(!pg_table_fits(t, pg_table_bytes(4, 100), 4, 200), "fits: not another size");
    ok(pg_table_vhost_row(t, "a.test") == 0 && pg_table_vhost_row(t, "b.test") == 1
       && pg_table_vhost_row(t, "a.test") == 0, "vhost rows: by name, stable");
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    ok(pg_table_vhost_row(t, name) == 2 && pg_table_vhost_row(t, "d") == 3
       && pg_table_vhost_row(t, "e") == -1, "vhost rows: -1 when all are taken");
    free(t);
}

static apr_uint32_t network_hits(pg_table *t, apr_uint32_t *addresses)
{
    const pg_network_row *rows = pg_table_networks(t);
    apr_uint32_t i, hits = 0;

    *addresses = 0;
    for (i = 0; i < t->n_clients; i++) {
        hits += rows[i].hits;
        *addresses += rows[i].addresses;
    }
    return hits;
}

static void test_counts(void)
{
    pg_table *t = new_table_with_vhost(2, 64);
    apr_uint32_t addresses;
    apr_time_t now = apr_time_from_sec(1700000000);
    pg_hit h = hit_from(0xC6336401u, PG_REASON_CONNECT, now);   /* 198.51.100.1 */
    int i;

    for (i = 0; i < 5; i++) {
        h.connect_port = 25;
        hit(t, &h);
    }
    h.reason = PG_REASON_UNKNOWN_HOST;
    h.action = PG_ACTION_DETECT;
    hit(t, &h);
    ok(pg_table_vhosts(t)[0].hits[PG_REASON_CONNECT][0] == 5,
       "counts: vhost x connect x deny");
    ok(pg_table_vhosts(t)[0].hits[PG_REASON_UNKNOWN_HOST][1] == 1,
       "counts: vhost x unknown-host x detect");
    ok(pg_table_total(t) == 6 && pg_table_reason_total(t, PG_REASON_CONNECT) == 5
       && pg_table_action_total(t, PG_ACTION_DETECT) == 1, "counts: sums");
    ok(find_client(t, 0xC6336401u) && find_client(t, 0xC6336401u)->total == 6
       && find_client(t, 0xC6336401u)->hits[PG_REASON_CONNECT] == 5,
       "counts: the client row");
    ok(t->networks_used == 1 && network_hits(t, &addresses) == 6
       && addresses == 1, "counts: one /24, 6 hits, 1 address");
    h.vhost = 99;
    hit(t, &h);
    ok(pg_table_total(t) == 6, "counts: an out-of-range vhost row is ignored");
    free(t);
}

static void test_eviction_keeps_heavy_hitters(void)
{
    pg_table *t = new_table_with_vhost(1, 16);
    apr_time_t now = apr_time_from_sec(1700000000);
    int i, j, kept = 0;
    apr_uint32_t used = 0;

    for (i = 1; i <= 3; i++) {
        pg_hit h = hit_from(0x0A000000u + (apr_uint32_t)i, PG_REASON_CONNECT, now);

        for (j = 0; j < 20; j++) {
            hit(t, &h);
        }
    }
    for (i = 0; i < 10000; i++) {
        pg_hit h = hit_from(0xC0000000u + (apr_uint32_t)i, PG_REASON_ABSOLUTE_URI, now);

        hit(t, &h);
    }
    for (i = 1; i <= 3; i++) {
        const pg_client_row *row = find_client(t, 0x0A000000u + (apr_uint32_t)i);

        kept += row && row->total == 20;
    }
    for (i = 0; i < 16; i++) {
        used += pg_table_clients(t)[i].addr.family != 0;
    }
    ok(kept == 3, "full table (16 slots, 10003 addresses): the 3 heavy hitters are kept");
    ok(t->clients_used == 16 && used == 16, "full table: never more than 16 rows");
    ok(t->clients_evicted == 10003 - 16, "full table: every newcomer replaced a row");
    ok(pg_table_reason_total(t, PG_REASON_ABSOLUTE_URI) == 10000,
       "full table: the exact counters lost nothing");
    free(t);
}

static void test_ports(void)
{
    pg_table *t = new_table(1, 16);
    pg_hit h = hit_from(1, PG_REASON_CONNECT, apr_time_from_sec(1700000000));
    unsigned port;
    apr_uint32_t sum = 0;
    int i;

    for (port = 1; port <= PG_PORT_SLOTS + 6; port++) {
        h.connect_port = port;
        pg_table_count(t, &h);
    }
    h.connect_port = 0;
    pg_table_count(t, &h);
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        sum += t->ports[i].hits;
    }
    ok(sum == PG_PORT_SLOTS && t->ports_other == 7,
       "ports: 64 slots, the rest (and no port) counted as other");
    free(t);
}

static void test_recent_and_timeline(void)
{
    pg_table *t = new_table(1, 16);
    apr_time_t t0 = apr_time_from_sec(1700000000 - 1700000000 % 3600);
    pg_hit h = hit_from(1, PG_REASON_CONNECT, t0);
    char target[32];
    int i;

    for (i = 0; i < 100; i++) {
        snprintf(target, sizeof(target), "/%d", i);
        h.target = target;
        hit(t, &h);
    }
    ok(t->recent_next == 100 && strcmp(t->recent[99 % PG_RECENT_MAX].target, "/99") == 0
       && strcmp(t->recent[36 % PG_RECENT_MAX].target, "/36") == 0,
       "recent: a ring of the last 64");
    h.target = "/x/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    hit(t, &h);
    ok(strlen(t->recent[100 % PG_RECENT_MAX].target) == PG_RECENT_TARGET_MAX - 1,
       "recent: the target is cut to a bounded length");
    ok(t->minutes[(apr_time_sec(t0) / 60) % PG_MINUTES].hits[PG_REASON_CONNECT] == 101,
       "timeline: this minute");
    h.now = t0 + apr_time_from_sec(61 * 60);
    hit(t, &h);
    ok(t->minutes[(apr_time_sec(h.now) / 60) % PG_MINUTES].hits[PG_REASON_CONNECT] == 1
       && t->minutes[(apr_time_sec(h.now) / 60) % PG_MINUTES].stamp
          == apr_time_sec(h.now) / 60,
       "timeline: a bucket an hour old starts again from zero");
    ok(t->hours[(apr_time_sec(h.now) / 3600) % PG_HOURS].hits[PG_REASON_CONNECT] == 1
       && t->hours[(apr_time_sec(t0) / 3600) % PG_HOURS].hits[PG_REASON_CONNECT] == 101,
       "timeline: hours");
    free(t);
}

static void test_log_budget_and_bans(void)
{
    pg_table *t = new_table_with_vhost(1, 16);
    apr_time_t t0 = apr_time_from_sec(1700000000);
    pg_hit h = hit_from(0x01020304u, PG_REASON_CONNECT, t0);
    int i, logged = 0, suppressed = 0;

    h.log_lines = 10;
    h.log_window = 60;
    for (i = 0; i < 1000; i++) {
        hit(t, &h);
        logged += last.log;
        suppressed += last.suppressed;
    }
    ok(logged == 10 && suppressed == 0,
       "log budget: 1000 hits in one window, 10 logged, no report yet");
    h.now = t0 + apr_time_from_sec(61);
    hit(t, &h);
    ok(last.log == 1 && last.suppressed == 990 && last.log_window == 61,
       "log budget: the next window's first hit is logged and reports 990");
    hit(t, &h);
    ok(last.suppressed == 0, "log budget: reported once");
    h.log_lines = 0;
    for (i = 0, logged = 0; i < 100; i++) {
        hit(t, &h);
        logged += last.log;
    }
    ok(logged == 100, "log budget 0: every hit logged");

    h = hit_from(0x05060708u, PG_REASON_CONNECT, t0);
    h.ban_hits = 3;
    h.ban_window = 10;
    hit(t, &h);
    hit(t, &h);
    ok(last.ban_hits == 0, "ban window: 2 of 3 hits, no ban");
    h.now = t0 + apr_time_from_sec(11);
    hit(t, &h);
    ok(last.ban_hits == 0, "ban window: the third hit 11 s later starts a new window");
    hit(t, &h);
    hit(t, &h);
    ok(last.ban_hits == 3, "ban window: 3 hits within 10 s start a ban");
    pg_table_ban_add(t, &h.addr, 1700000011, 1700000071, 3);
    ok(pg_table_ban_find(t, &h.addr, 1700000012) != NULL
       && pg_table_ban_find(t, &h.addr, 1700000071) == NULL
       && pg_table_bans_active(t, 1700000012) == 1, "bans: active until 'until'");
    ok(pg_table_ban_lift(t, &h.addr) && pg_table_ban_find(t, &h.addr, 1700000012) == NULL,
       "bans: lifted");
    free(t);
}

static void test_addr_text(void)
{
    pg_addr a;
    char buf[PG_CLIENT_TEXT_MAX];

    ok(pg_addr_parse("::ffff:192.0.2.1", &a) && a.family == 4
       && strcmp(pg_addr_format(buf, sizeof(buf), &a), "192.0.2.1") == 0,
       "addr: an IPv4-mapped address is that IPv4 address");
    ok(pg_addr_parse("2001:DB8::1", &a) && a.family == 6
       && strcmp(pg_addr_format(buf, sizeof(buf), &a), "2001:db8::1") == 0,
       "addr: IPv6 in canonical text");
    ok(!pg_addr_parse("192.0.2.1/24", &a) && !pg_addr_parse("", &a),
       "addr: not an address");
}

/* ------------------------------------------------------------------ */

typedef struct buf {
    char data[1 << 20];
    apr_size_t len;
} buf;

static void buf_write(void *baton, const char *data, apr_size_t len)
{
    buf *b = baton;

    if (b->len + len < sizeof(b->data)) {
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = '\0';
    }
}

static buf out_buf;

static const char *render(apr_pool_t *p, pg_format format, const pg_table *t)
{
    pg_out out = { buf_write, &out_buf };
    pg_status_opts o = { apr_time_from_sec(1700000000), 0, "test", 1234 };

    out_buf.len = 0;
    out_buf.data[0] = '\0';
    pg_status_render(&out, p, format, t, &o);
    return out_buf.data;
}

static int has_raw_bytes(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c < 0x20 && c != '\n') || c >= 0x7f) {
            return 1;
        }
    }
    return 0;
}

static void test_render_escaping(apr_pool_t *p)
{
    pg_table *t = new_table(2, 16);     /* its only vhost row: below */
    pg_hit h = hit_from(0x7F000001u, PG_REASON_ABSOLUTE_URI,
                        apr_time_from_sec(1700000000));
    const char *doc;

    pg_table_vhost_row(t, "q\"uote\\back\nline.test");
    h.method = "G\"ET";
    h.target = "http://evil/\"><script>alert(1)</script>\x01\xff";
    h.host = "<img src=x onerror=alert(2)>\t'";
    hit(t, &h);

    doc = render(p, PG_FORMAT_JSON, t);
    ok(strstr(doc, "\"target\": \"http://evil/\\\"><script>alert(1)</script>\\u0001\\u00ff\"") != NULL,
       "JSON: quote, control byte and byte >= 0x80 escaped");
    ok(strstr(doc, "\"method\": \"G\\\"ET\"") != NULL, "JSON: the method escaped");
    ok(strstr(doc, "\"vhost\": \"q\\\"uote\\\\back\\u000aline.test\"") != NULL,
       "JSON: a vhost name with quote, backslash and newline");
    ok(!has_raw_bytes(doc), "JSON: no raw control or high byte");

    doc = render(p, PG_FORMAT_HTML, t);
    ok(strstr(doc, "&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;\\x01\\xff") != NULL,
       "HTML: markup as entities, control and high bytes as \\xNN");
    ok(strstr(doc, "&lt;img src=x onerror=alert(2)&gt;\\x09&#39;") != NULL,
       "HTML: the Host escaped");
    ok(strstr(doc, "<script>") == NULL && strstr(doc, "<img") == NULL,
       "HTML: no attacker markup");
    ok(strstr(doc, "(null)") == NULL, "HTML: no reason without its colour");
    ok(!has_raw_bytes(doc), "HTML: no raw control or high byte");

    doc = render(p, PG_FORMAT_PROMETHEUS, t);
    ok(strstr(doc, "proxyguard_hits_total{vhost=\"q\\\"uote\\\\back\\nline.test\","
                   "reason=\"absolute-uri\",action=\"deny\"} 1") != NULL,
       "Prometheus: label value escaped per the text format");
    ok(strstr(doc, "evil") == NULL, "Prometheus: no request text at all");

    doc = render(p, PG_FORMAT_AUTO, t);
    ok(strstr(doc, "ProxyGuardHitsAbsoluteUri: 1\n") != NULL
       && strstr(doc, "ProxyGuardTotal: 1\n") != NULL, "?auto: Key: value lines");
    free(t);
}

int main(void)
{
    apr_pool_t *p;

    tap_start();
    apr_initialize();
    apr_pool_create(&p, NULL);

    test_layout();
    test_counts();
    test_eviction_keeps_heavy_hitters();
    test_ports();
    test_recent_and_timeline();
    test_log_budget_and_bans();
    test_addr_text();
    test_render_escaping(p);

    apr_pool_destroy(p);
    apr_terminate();
    return tap_finish();
}
