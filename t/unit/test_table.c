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
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "../../pg_ban.h"
#include "../../pg_snapshot.h"
#include "../../pg_table.h"
#include "../../pg_table_rows.h"
#include "../../pg_status.h"

#include "tap.h"

/* ProxyGuardTableSize's default (mod_proxyguard_config.c) */
#define TABLE_SIZE_DEFAULT 4096

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
    h.loggable = 1;
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

    /* the sizes docs/directives.md (ProxyGuardTableSize) states */
    ok(pg_table_bytes_per_client() == 184,
       "layout: 184 bytes per ProxyGuardTableSize entry (client, network and ban row, two weights)");
    ok(pg_table_bytes(20 + 16, TABLE_SIZE_DEFAULT) == 807392,
       "layout: the default table (4096 entries, 20 vhosts + 16 spare rows) is 807,392 bytes");
    ok(pg_table_bytes(4, 100) >= sizeof(pg_table) + 100 * pg_table_bytes_per_client(),
       "layout: the block holds header, vhost, client, network and ban rows");
    ok(t->n_bans == 104, "layout: ban rows: ProxyGuardTableSize in whole buckets of 8");
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

static int mail_slots;

static void count_mail_slot(apr_uint32_t port)
{
    mail_slots += port == 25 || port == 465 || port == 587;
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
    /* 3 slots are the mail ports' from the start: of ports 1-70, 25 and
     * 61 others have a slot, 8 (and no port) are other */
    ok(sum == PG_PORT_SLOTS - 2 && t->ports_other == 9,
       "ports: 64 slots, 3 of them the mail ports', the rest (and no port) "
       "counted as other");
    free(t);

    /* a flood of other ports cannot push the mail ports into "other" */
    t = new_table(1, 16);
    for (i = 0; i < PG_PORT_SLOTS; i++) {
        count_mail_slot(t->ports[i].port);
    }
    ok(mail_slots == 3, "ports: 25, 465 and 587 have a slot before any hit");
    for (port = 1000; port < 1000 + 2 * PG_PORT_SLOTS; port++) {
        h.connect_port = port;
        pg_table_count(t, &h);
    }
    for (port = 0; port < 3; port++) {
        static const unsigned mail[] = { 25, 465, 587 };

        h.connect_port = mail[port];
        pg_table_count(t, &h);
    }
    for (i = 0, sum = 0; i < PG_PORT_SLOTS; i++) {
        if (t->ports[i].port == 25 || t->ports[i].port == 465
            || t->ports[i].port == 587) {
            sum += t->ports[i].hits;
        }
    }
    ok(sum == 3 && t->ports_other == 2 * PG_PORT_SLOTS - (PG_PORT_SLOTS - 3),
       "ports: after 128 other ports, each mail port still counted in its slot");
    free(t);

    /* a proxy client's refused CONNECT (connect-port) counts its port
     * too; a hit of another reason never counts one */
    t = new_table(1, 16);
    h.reason = PG_REASON_CONNECT_PORT;
    h.connect_port = 587;
    pg_table_count(t, &h);
    h.reason = PG_REASON_ABSOLUTE_URI;
    h.connect_port = 25;
    pg_table_count(t, &h);
    for (i = 0, sum = 0; i < PG_PORT_SLOTS; i++) {
        sum += t->ports[i].port == 587 ? t->ports[i].hits : 0;
        sum += t->ports[i].port == 25 ? 100 * t->ports[i].hits : 0;
    }
    ok(sum == 1 && t->ports_other == 0,
       "ports: a connect-port hit counts its port, an absolute-uri hit none");
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
    apr_uint32_t gen;

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

    /* a line that would not be written spends nothing */
    h = hit_from(0x0a0b0c0du, PG_REASON_UNKNOWN_HOST, t0);
    h.log_lines = 10;
    h.log_window = 60;
    h.loggable = 0;
    for (i = 0, logged = 0; i < 20; i++) {
        hit(t, &h);
        logged += last.log;
    }
    ok(logged == 0, "log budget: 20 hits at a level that is off: none logged");
    h.loggable = 1;
    h.reason = PG_REASON_CONNECT;
    for (i = 0, logged = 0; i < 20; i++) {
        hit(t, &h);
        logged += last.log;
    }
    ok(logged == 10, "log budget: ... and they spent none of the 10 lines");

    h = hit_from(0x05060708u, PG_REASON_CONNECT, t0);
    h.ban_hits = 3;
    h.ban_window = 10;
    h.ban_duration = 60;
    hit(t, &h);
    hit(t, &h);
    ok(last.ban_hits == 0 && pg_table_ban_find(t, &h.addr, 1700000001) == NULL,
       "ban window: 2 of 3 hits, no ban");
    h.now = t0 + apr_time_from_sec(11);
    hit(t, &h);
    ok(last.ban_hits == 0, "ban window: the third hit 11 s later starts a new window");
    gen = pg_table_ban_generation(t);
    hit(t, &h);
    ok(pg_table_ban_generation(t) == gen, "ban window: a hit that starts no ban leaves the generation");
    hit(t, &h);
    ok(last.ban_hits == 3 && last.ban_until == 1700000071 && t->bans_started == 1
       && pg_table_ban_generation(t) == gen + 1,
       "ban window: 3 hits within 10 s start a ban, listed by the table, a new generation");
    ok(pg_table_ban_find(t, &h.addr, 1700000012) != NULL
       && pg_table_ban_find(t, &h.addr, 1700000071) == NULL
       && pg_table_bans_active(t, 1700000012, NULL) == 1, "bans: active until 'until'");
    hit(t, &h);
    ok(last.ban_hits == 0 && t->bans_started == 1,
       "bans: a hit already in flight does not start it again");
    gen = pg_table_ban_generation(t);
    ok(pg_table_ban_lift(t, &h.addr) && pg_table_ban_find(t, &h.addr, 1700000012) == NULL
       && pg_table_ban_generation(t) == gen + 1,
       "bans: lifted");
    free(t);
}

/* The ban list: a running ban is never replaced, however many begin; the
 * capacity; a refused ban is retried. */
/* Counted-only hits of known clients are recorded without the mutex
 * (pg_table_record_known): only those, and to the same effect. */
static void test_record_known(void)
{
    pg_table *a = new_table_with_vhost(1, 64), *b = new_table_with_vhost(1, 64);
    apr_time_t t0 = apr_time_from_sec(1700000000);
    pg_hit h = hit_from(0x0a000001u, PG_REASON_UNKNOWN_HOST, t0);
    apr_uint32_t i, known = 0, same = 1;
    const pg_client_row *ra, *rb;

    h.action = PG_ACTION_DETECT;
    h.loggable = 0;
    ok(!pg_table_record_known(a, &h), "known: a client the table lacks is not recorded here");
    hit(a, &h);
    ok(pg_table_record_known(a, &h) && find_client(a, 0x0a000001u)->total == 2
       && a->recent_next == 2 && a->minutes[(1700000000u / 60) % PG_MINUTES].hits[PG_REASON_UNKNOWN_HOST] == 2,
       "known: then its next counted-only hit is, in every detail");
    h.loggable = 1;
    ok(!pg_table_record_known(a, &h), "known: not a hit to be logged (the log budget needs the lock)");
    h.loggable = 0;
    h.ban_hits = 3;
    h.ban_window = 10;
    ok(!pg_table_record_known(a, &h), "known: not a hit that counts towards a ban");
    h.ban_hits = h.ban_window = 0;
    h.now = t0 + apr_time_from_sec(60);
    ok(!pg_table_record_known(a, &h), "known: not in a minute the timeline has not begun");
    free(a);

    /* 600 hits from 30 addresses over three minutes: recorded with the
     * lock only, or without it wherever possible, the tables agree */
    a = new_table_with_vhost(1, 64);
    for (i = 0; i < 600; i++) {
        h = hit_from(0x0a000100u + i % 30, PG_REASON_UNKNOWN_HOST, t0 + apr_time_from_sec(i / 4));
        h.action = PG_ACTION_DETECT;
        h.loggable = 0;
        hit(a, &h);
        pg_table_count(b, &h);
        if (pg_table_record_known(b, &h)) {
            known++;
        }
        else {
            pg_table_record(b, &h, &last);
        }
    }
    for (i = 0; i < 30; i++) {
        ra = find_client(a, 0x0a000100u + i);
        rb = find_client(b, 0x0a000100u + i);
        same &= ra && rb && ra->total == rb->total && ra->last_seen == rb->last_seen
                && ra->first_seen == rb->first_seen;
    }
    same &= a->recent_next == b->recent_next && a->clients_used == b->clients_used
            && !memcmp(a->minutes, b->minutes, sizeof(a->minutes))
            && !memcmp(a->hours, b->hours, sizeof(a->hours))
            && !memcmp(a->recent, b->recent, sizeof(a->recent));
    {
        apr_uint32_t hits_a, hits_b, addr_a, addr_b;

        hits_a = network_hits(a, &addr_a);
        hits_b = network_hits(b, &addr_b);
        same &= hits_a == hits_b && addr_a == addr_b;
    }
    ok(known > 500 && same, "known: the same table with and without the lock (most hits took no lock)");
    free(a);
    free(b);
}

/* Hits recorded without the lock, from several threads, while others
 * record under a lock: no hit lost. */
typedef struct racer {
    pg_table *t;
    apr_thread_mutex_t *lock;
    int locked;
} racer;

static void *APR_THREAD_FUNC race(apr_thread_t *thread, void *data)
{
    racer *r = data;
    pg_hit h = hit_from(0x0a0000feu, PG_REASON_UNKNOWN_HOST,
                        apr_time_from_sec(1700000000));
    pg_record_result res;
    int i;

    h.action = PG_ACTION_DETECT;
    h.loggable = 0;
    for (i = 0; i < 100000; i++) {
        if (r->locked || !pg_table_record_known(r->t, &h)) {
            apr_thread_mutex_lock(r->lock);
            pg_table_record(r->t, &h, &res);
            apr_thread_mutex_unlock(r->lock);
        }
    }
    apr_thread_exit(thread, APR_SUCCESS);
    return NULL;
}

static void test_record_known_races(apr_pool_t *p)
{
    pg_table *t = new_table_with_vhost(1, 64);
    apr_thread_t *threads[4];
    racer racers[4];
    apr_thread_mutex_t *lock;
    apr_status_t rv;
    const pg_client_row *row;
    int i;

    apr_thread_mutex_create(&lock, APR_THREAD_MUTEX_DEFAULT, p);
    for (i = 0; i < 4; i++) {
        racers[i].t = t;
        racers[i].lock = lock;
        racers[i].locked = i == 0;
        apr_thread_create(&threads[i], NULL, race, &racers[i], p);
    }
    for (i = 0; i < 4; i++) {
        apr_thread_join(&rv, threads[i]);
    }
    row = find_client(t, 0x0a0000feu);
    ok(row && row->total == 400000 && row->hits[PG_REASON_UNKNOWN_HOST] == 400000
       && t->recent_next == 400000
       && t->minutes[(1700000000u / 60) % PG_MINUTES].hits[PG_REASON_UNKNOWN_HOST] == 400000,
       "known: 4 threads x 100,000 hits, one under a lock, three without: all 400,000 counted");
    free(t);
}

static void test_ban_capacity(void)
{
    pg_table *t = new_table(1, TABLE_SIZE_DEFAULT);
    apr_uint32_t now = 1700000000, n, i, lost = 0;
    pg_addr a;
    pg_hit h;

    memset(&a, 0, sizeof(a));
    a.family = 6;
    a.bytes[0] = 0x20;
    a.bytes[1] = 0x01;
    /* addresses of as many /64s (one /64's addresses share its rows, and
     * become a network ban: test_ban_net6) */
    for (n = 0; n < t->n_bans; n++) {
        memcpy(a.bytes + 4, &n, sizeof(n));
        if (pg_table_ban_add(t, &a, now, now, now + 600, 1) == NULL) {
            break;
        }
    }
    printf("# ban list of %u rows: the first refusal at ban %u (%.0f %%)\n",
           t->n_bans, n + 1, 100.0 * n / t->n_bans);
    ok(n >= t->n_bans * 7 / 10,
       "bans: more than 70 % of the rows fill before the first refusal");
    ok(t->bans_refused == 1, "bans: the refusal is counted");
    for (i = 0; i < n; i++) {
        memcpy(a.bytes + 4, &i, sizeof(i));
        lost += pg_table_ban_find(t, &a, now + 1) == NULL;
    }
    ok(lost == 0 && pg_table_bans_active(t, now + 1, NULL) == n,
       "bans: every running ban still holds after the refusal: none replaced");
    ok(pg_table_ban_add(t, &a, now + 601, now + 601, now + 1200, 1) != NULL,
       "bans: rows whose bans ran out are used again");
    free(t);

    /* a ban due when the list is full is tried again at the next hit */
    t = new_table_with_vhost(1, 16);
    h = hit_from(0x0a000001u, PG_REASON_CONNECT, apr_time_from_sec(now));
    h.ban_hits = 2;
    h.ban_window = 60;
    h.ban_duration = 60;
    for (i = 0; i < t->n_bans; i++) {
        a = h.addr;
        a.bytes[2] = (unsigned char)(i + 1);  /* other addresses */
        pg_table_ban_add(t, &a, now, now, now + 600, 1);
    }
    for (i = 0, n = 0; i < 40 && n < t->n_bans; i++) {
        a = h.addr;
        a.bytes[2] = (unsigned char)(100 + i);
        n += pg_table_ban_add(t, &a, now, now, now + 600, 1) != NULL;
    }
    hit(t, &h);
    hit(t, &h);
    ok(last.ban_refused && !last.ban_hits, "bans: a due ban refused on a full list");
    hit(t, &h);
    ok(last.ban_refused, "bans: ... tried again at the next hit");
    h.now += apr_time_from_sec(601);
    hit(t, &h);
    ok(last.ban_hits && !last.ban_refused
       && pg_table_ban_find(t, &h.addr, now + 602) != NULL,
       "bans: ... and started once rows are free");
    free(t);
}

static pg_addr addr_of(const char *text)
{
    pg_addr a;

    pg_addr_parse((pg_span){ text, strlen(text) }, &a);
    return a;
}

/* ProxyGuardBanNet6: a /64's addresses banned one by one become one ban
 * of the /64, which frees their rows. */
static void test_ban_net6(void)
{
    pg_table *t = new_table(1, 16);
    apr_uint32_t now = 1700000000, nets, i, refused;
    pg_addr a, net = addr_of("2001:db8:1:2::/64"), other;
    pg_ban_row *row;
    char text[80];

    t->ban_net6 = 4;
    for (i = 1; i <= 3; i++) {
        snprintf(text, sizeof(text), "2001:db8:1:2::%u", i);
        a = addr_of(text);
        row = pg_table_ban_add(t, &a, now, now, now + 600, 5);
    }
    ok(row && !pg_addr_is_net(&row->addr)
       && pg_table_bans_active(t, now, &nets) == 3 && nets == 0,
       "net6: 3 addresses of a /64 (ProxyGuardBanNet6 4) are 3 address bans");
    a = addr_of("2001:db8:1:2::4");
    row = pg_table_ban_add(t, &a, now, now, now + 600, 5);
    ok(row && pg_addr_equal(&row->addr, &net) && row->until == now + 600
       && pg_table_bans_active(t, now, &nets) == 1 && nets == 1
       && t->bans_net_started == 1 && t->bans_started == 4,
       "net6: the 4th makes one ban of the /64, the address rows freed");
    a = addr_of("2001:db8:1:2:ffff::99");
    other = addr_of("2001:db8:1:3::1");
    ok(pg_table_ban_find(t, &a, now + 1) == row
       && pg_table_ban_find(t, &other, now + 1) == NULL
       && pg_table_ban_find(t, &a, now + 600) == NULL,
       "net6: any address of the /64 is banned, another /64's is not; it ends");
    for (i = 0; i < 64; i++) {
        snprintf(text, sizeof(text), "2001:db8:1:2:%x::1", i + 1);
        a = addr_of(text);
        pg_table_ban_add(t, &a, now, now, now + 600, 5);
    }
    ok(t->bans_refused == 0 && pg_table_bans_active(t, now, NULL) == 1,
       "net6: 64 more addresses of the /64: nothing refused, still one row");
    for (i = 1; i <= 4; i++) {
        snprintf(text, sizeof(text), "2001:db8:1:3::%u", i);
        a = addr_of(text);
        pg_table_ban_add(t, &a, now, now, now + 600, 5);
    }
    for (i = 0, refused = 0; i < 15; i++) {
        a = addr_of("192.0.2.1");
        a.bytes[3] = (unsigned char)(i + 1);
        refused += pg_table_ban_add(t, &a, now, now, now + 600, 1) == NULL;
    }
    ok(pg_table_ban_find(t, &other, now + 1) != NULL && refused == 1
       && pg_table_bans_active(t, now, &nets) == 16 && nets == 2,
       "net6: another /64 banned too; 14 rows left for others: the list keeps room");
    ok(pg_table_ban_lift(t, &net)
       && pg_table_ban_find(t, &(pg_addr){ 0 }, now) == NULL
       && pg_table_ban_find(t, &a, now) != NULL
       && pg_table_ban_find(t, &other, now + 1) != NULL,
       "net6: a network ban is lifted by its /64");
    a = addr_of("2001:db8:1:2::7");
    ok(pg_table_ban_find(t, &a, now + 1) == NULL, "net6: ... its addresses pass");
    free(t);

    /* no room: a /64 holding a row gets its next ban as a network ban */
    t = new_table(1, 16);
    t->ban_net6 = 64;
    a = addr_of("2001:db8:5::1");
    pg_table_ban_add(t, &a, now, now, now + 600, 1);
    for (i = 0; i < 200; i++) {     /* every row the /64 may use taken */
        other = addr_of("192.0.2.1");
        other.bytes[2] = (unsigned char)(i + 1);
        pg_table_ban_add(t, &other, now, now, now + 600, 1);
    }
    refused = t->bans_refused;
    a = addr_of("2001:db8:5::2");
    row = pg_table_ban_add(t, &a, now, now, now + 600, 1);
    ok(refused > 0 && row && pg_addr_is_net(&row->addr)
       && t->bans_refused == refused
       && pg_table_bans_active(t, now, &nets) == 16 && nets == 1,
       "net6: a full list: the /64's next ban takes its address's row as a network ban");
    free(t);

    /* 0: never (a table the module has not configured) */
    t = new_table(1, 16);
    for (i = 1; i <= 6; i++) {
        snprintf(text, sizeof(text), "2001:db8:1:2::%u", i);
        a = addr_of(text);
        pg_table_ban_add(t, &a, now, now, now + 600, 5);
    }
    ok(pg_table_bans_active(t, now, &nets) == 6 && nets == 0,
       "net6: ban_net6 0: no network bans");
    free(t);
}

/* A shared store: the /64 key asked for too, its answers noted. */
static void test_ban_net6_store(void)
{
    pg_table *t = new_table(1, 16);
    apr_uint32_t now = 1700000000, fresh, nets, i;
    pg_addr a = addr_of("2001:db8:9::1"), net = pg_addr_net6(&a), got[2], other;
    pg_ban_row *row;
    char text[80];
    pg_ban_state state;
    int taken;

    t->ban_net6 = 4;
    state = pg_table_client_ban_state(t, &a, now, 5, &row, &fresh);
    taken = pg_table_check_take(t, &got[0]) + pg_table_check_take(t, &got[1]);
    ok(state == PG_BAN_STATE_UNKNOWN && taken == 2 && !pg_table_check_take(t, &other)
       && ((pg_addr_equal(&got[0], &a) && pg_addr_equal(&got[1], &net))
           || (pg_addr_equal(&got[1], &a) && pg_addr_equal(&got[0], &net))),
       "net6 store: an IPv6 client unknown: its address and its /64 are asked for");
    pg_table_check_answer(t, &a, now, 0);
    ok(pg_table_client_ban_state(t, &a, now, 5, &row, &fresh) == PG_BAN_STATE_UNKNOWN,
       "net6 store: ... unknown while the /64 has no answer");
    pg_table_check_answer(t, &net, now + 1, 0);
    ok(pg_table_client_ban_state(t, &a, now + 1, 5, &row, &fresh) == PG_BAN_STATE_CLEAR
       && fresh == now + 5,
       "net6 store: both clear: not banned until the older answer ages");
    pg_table_check_answer(t, &net, now + 2, now + 300);
    ok(pg_table_client_ban_state(t, &a, now + 2, 5, &row, &fresh) == PG_BAN_STATE_BANNED
       && pg_addr_equal(&row->addr, &net),
       "net6 store: the /64 banned in the store: the client is banned");
    a = addr_of("2001:db8:9::2");
    pg_table_check_answer(t, &a, now + 2, now + 300);
    ok(pg_table_bans_active(t, now + 2, &nets) == 1 && nets == 1,
       "net6 store: an address of a banned /64 found in the store takes no row");
    free(t);

    t = new_table(1, 16);
    t->ban_net6 = 4;
    for (i = 1; i <= 4; i++) {
        snprintf(text, sizeof(text), "2001:db8:a::%u", i);
        a = addr_of(text);
        pg_table_check_answer(t, &a, now, now + 300);
    }
    net = pg_addr_net6(&a);
    row = pg_table_ban_find(t, &a, now);
    ok(row && pg_addr_equal(&row->addr, &net) && row->sync == PG_SYNC_PUT
       && t->sync_pending && pg_table_bans_active(t, now, NULL) == 1,
       "net6 store: 4 address bans found in the store make a network ban, told to the store");
    free(t);
}

/* The list's row of addr, running or not; NULL if none. */
static pg_ban_row *listed_row(pg_table *t, const pg_addr *addr)
{
    apr_uint32_t i;

    for (i = 0; i < t->n_bans; i++) {
        if (memcmp(&pg_table_bans(t)[i].addr, addr, sizeof(*addr)) == 0) {
            return &pg_table_bans(t)[i];
        }
    }
    return NULL;
}

/* With a shared ban store: what the request path reads, the agent's
 * queue, the store's answers, and what the store must learn. */
static void test_shared_store_rows(void)
{
    pg_table *t = new_table(1, 64);
    apr_uint32_t now = 1700000000, n = 0, i, fresh, gen;
    pg_addr a, b, got;
    pg_ban_row *row;

    memset(&a, 0, sizeof(a));
    a.family = 4;
    a.bytes[0] = 198;
    a.bytes[3] = 7;
    b = a;
    b.bytes[3] = 8;
    ok(pg_table_ban_state(t, &a, now, 5, &row, &fresh) == PG_BAN_STATE_UNKNOWN && row == NULL,
       "store: an address never asked about is unknown");
    pg_table_check_request(t, &a);
    pg_table_check_request(t, &a);
    ok(pg_table_check_take(t, &got) && got.bytes[3] == 7 && !pg_table_check_take(t, &got),
       "store: asked for twice, queued once; the agent takes it");
    gen = pg_table_ban_generation(t);
    pg_table_check_answer(t, &a, now, 0);
    ok(pg_table_ban_state(t, &a, now + 4, 5, &row, &fresh) == PG_BAN_STATE_CLEAR
       && fresh == now + 5
       && pg_table_ban_state(t, &a, now + 5, 5, &row, &fresh) == PG_BAN_STATE_UNKNOWN,
       "store: 'not banned' is fresh for ttl seconds, and says until when");
    ok(pg_table_ban_generation(t) == gen,
       "store: a 'not banned' answer leaves the generation (remembered answers stand)");
    pg_table_check_answer(t, &b, now, now + 60);
    ok(pg_table_ban_generation(t) != gen,
       "store: a ban found there changes the generation");
    ok(pg_table_ban_state(t, &b, now + 1, 5, &row, &fresh) == PG_BAN_STATE_BANNED
       && row->started == 0 && row->checked == now,
       "store: a ban found there is listed, as started elsewhere");
    ok(pg_table_ban_state(t, &b, now + 61, 5, &row, &fresh) != PG_BAN_STATE_BANNED,
       "store: ... until it ends");

    /* a ban of ours the store does not know yet survives its 'not found' */
    row = pg_table_ban_add(t, &a, now, now, now + 60, 3);
    row->sync = PG_SYNC_PUT;
    pg_table_check_answer(t, &a, now + 1, 0);
    ok(pg_table_ban_state(t, &a, now + 2, 5, &row, &fresh) == PG_BAN_STATE_BANNED && row->started == now,
       "store: our ban waiting to be told is not lifted by the store's 'not found'");
    pg_table_ban_synced(t, &a, PG_SYNC_PUT);
    ok(row->sync == PG_SYNC_NONE, "store: told, the mark is cleared");
    pg_table_check_answer(t, &a, now + 10, 0);
    ok(pg_table_ban_state(t, &a, now + 11, 5, &row, &fresh) != PG_BAN_STATE_BANNED,
       "store: a told ban the store no longer has was lifted elsewhere: lifted here");

    /* a lift the store must learn, for an address not listed here */
    b.bytes[3] = 9;
    pg_table_ban_mark_sync(t, &b, now, PG_SYNC_REMOVE);
    row = NULL;
    for (i = 0; i < t->n_bans; i++) {
        if (pg_table_bans(t)[i].addr.bytes[3] == 9) {
            row = &pg_table_bans(t)[i];
        }
    }
    ok(row && row->sync == PG_SYNC_REMOVE && t->sync_pending,
       "store: a lift of an unlisted address gets a row, marked");

    /* a lift made while the store's "banned" answer was on its way */
    b.bytes[3] = 10;
    row = pg_table_ban_add(t, &b, now, now, now + 60, 3);
    pg_table_ban_lift(t, &b);
    pg_table_ban_mark_sync(t, &b, now, PG_SYNC_REMOVE);
    pg_table_check_answer(t, &b, now + 1, now + 60);
    ok(pg_table_ban_state(t, &b, now + 2, 5, &row, &fresh) != PG_BAN_STATE_BANNED
       && pg_table_ban_find(t, &b, now + 2) == NULL,
       "store: a 'banned' answer does not undo a lift the store has yet to hear of");
    pg_table_ban_synced(t, &b, PG_SYNC_PUT);
    row = listed_row(t, &b);
    ok(row && row->sync == PG_SYNC_REMOVE,
       "store: a put told does not clear the lift marked since");
    pg_table_ban_synced(t, &b, PG_SYNC_REMOVE);
    ok(row && row->sync == PG_SYNC_NONE, "store: ... the lift told does");

    /* the store says a listed ban lasts longer: the list's horizon follows */
    b.bytes[3] = 11;
    pg_table_ban_add(t, &b, now, now, now + 60, 3);
    pg_table_check_answer(t, &b, now + 1, now + 600);
    ok(pg_table_bans_active(t, now + 100, NULL) >= 1 && pg_table_ban_find(t, &b, now + 100) != NULL,
       "store: a ban the store extends is still seen after its first end (the horizon moved)");
    free(t);

    /* bans waiting to be told do not pin rows once they have ended: a
     * store down for long cannot stop banning here */
    t = new_table(1, 16);
    for (i = 0; i < 64; i++) {
        a.bytes[3] = (unsigned char)i;
        if ((row = pg_table_ban_add(t, &a, now, now, now + 60, 3)) == NULL) {
            break;
        }
        row->sync = PG_SYNC_PUT;
    }
    ok(i < 64, "store: running bans waiting to be told fill a 16-row list");
    ok(pg_table_ban_add(t, &a, now + 61, now + 61, now + 121, 3) != NULL,
       "store: ... once they have ended, their rows take new bans");
    b.bytes[3] = 201;
    pg_table_ban_mark_sync(t, &b, now + 61, PG_SYNC_REMOVE);
    for (i = 0; i < 16; i++) {
        a.bytes[3] = (unsigned char)(100 + i);
        pg_table_ban_add(t, &a, now + 200, now + 200, now + 260, 3);
    }
    row = listed_row(t, &b);
    ok(row && row->sync == PG_SYNC_REMOVE,
       "store: a lift waiting to be told keeps its row, whatever bans come");
    free(t);
    t = new_table(1, 64);
    n = 0;

    /* the queue is bounded: what does not fit is dropped and counted */
    for (i = 0; i < 3000; i++) {
        a.bytes[1] = (unsigned char)(i >> 8);
        a.bytes[2] = (unsigned char)i;
        pg_table_check_request(t, &a);
    }
    while (pg_table_check_take(t, &got)) {
        n++;
    }
    ok(n <= PG_PENDING_MAX && n > PG_PENDING_MAX / 2 && t->checks_dropped == 3000 - n,
       "store: 3000 addresses waiting, the slots hold at most 1024, the rest counted as dropped");
    free(t);
}

static int locks_taken, locks_held;

static int count_lock(void *baton)
{
    (void)baton;
    locks_taken++;
    locks_held++;
    return 0;
}

static void count_unlock(void *baton)
{
    (void)baton;
    locks_held--;
}

/* Snapshots for the status page: a summary copies the header and vhost
 * rows only; details add the heaviest client and network rows and the
 * running bans; the lock is held only to copy what is kept: neither the
 * copy nor a hold grows with the table. */
static void test_snapshot(void)
{
    static const pg_locker locker = { count_lock, count_unlock, NULL };
    pg_table *t = new_table_with_vhost(1, 100000);
    apr_time_t t0 = apr_time_from_sec(1700000000);
    apr_size_t summary = pg_table_snapshot_bytes(t, PG_SNAPSHOT_SUMMARY);
    apr_size_t details = pg_table_snapshot_bytes(t, PG_SNAPSHOT_DETAILS);
    pg_table *copy = malloc(details);
    apr_uint32_t i, lightest = 0xffffffffu, heaviest_missing = 0, kept_rows = 0;
    const pg_client_row *rows;
    pg_hit h;

    /* 5000 clients, client i with i % 97 + 1 hits */
    for (i = 0; i < 5000; i++) {
        apr_uint32_t k;

        h = hit_from(0x0a000000u + i, PG_REASON_CONNECT, t0);
        for (k = 0; k < i % 97 + 1; k++) {
            hit(t, &h);
        }
    }
    pg_table_ban_add(t, &h.addr, 1700000000, 1700000000, 1700000600, 5);
    ok(summary < 64 * 1024 && details == pg_table_bytes(1, PG_SNAPSHOT_ROWS)
       && details < pg_table_bytes(1, 100000) / 50,
       "snapshot: a summary is the header and vhost rows (< 64 KiB), details "
       "1000 rows of each kind (2 % of this table)");
    locks_taken = 0;
    ok(pg_table_snapshot(copy, t, PG_SNAPSHOT_SUMMARY, 1700000001, &locker)
       && locks_taken == 1 && locks_held == 0 && copy->bans_active == 1
       && copy->snapshot == PG_SNAPSHOT_SUMMARY
       && pg_table_total(copy) == pg_table_total(t),
       "snapshot: summary in one lock, with the count of running bans");
    locks_taken = 0;
    ok(pg_table_snapshot(copy, t, PG_SNAPSHOT_DETAILS, 1700000001, &locker)
       && locks_held == 0 && locks_taken == 3
       && copy->n_clients == PG_SNAPSHOT_ROWS
       && copy->capacity_clients == 100000 && copy->capacity_bans == t->n_bans,
       "snapshot: details in three holds of the lock (header, the picked clients, the "
       "picked networks); the table's capacity kept");
    rows = pg_table_clients_c(copy);
    for (i = 0; i < copy->n_clients; i++) {
        kept_rows += rows[i].addr.family != 0;
        if (rows[i].addr.family && rows[i].total < lightest) {
            lightest = rows[i].total;
        }
    }
    rows = pg_table_clients_c(t);
    for (i = 0; i < t->n_clients; i++) {
        const pg_client_row *c = &rows[i];
        apr_uint32_t j, kept = 0;

        if (!c->addr.family || c->total <= lightest) {
            continue;
        }
        for (j = 0; j < copy->n_clients && !kept; j++) {
            kept = pg_table_clients_c(copy)[j].addr.family
                   && !memcmp(&pg_table_clients_c(copy)[j].addr, &c->addr, sizeof(pg_addr));
        }
        if (!kept && c->total > heaviest_missing) {
            heaviest_missing = c->total;
        }
    }
    ok(kept_rows == PG_SNAPSHOT_TOP && lightest != 0xffffffffu && heaviest_missing == 0,
       "snapshot: the 100 kept clients are the heaviest (none heavier left out)");
    ok(pg_table_bans_c(copy)[0].addr.family && pg_table_bans_c(copy)[0].until == 1700000600,
       "snapshot: the running ban is in the copy");
    free(copy);
    free(t);
}

static void test_ban_store_encoding(void)
{
    char key[PG_BAN_KEY_MAX], value[16];
    pg_addr a;

    pg_addr_parse((pg_span){ "2001:db8::1", 11 }, &a);
    ok(pg_ban_key(key, sizeof(key), &a) == 17 && !strcmp(key, "pgban:2001:db8::1"),
       "ban store: key");
    ok(pg_ban_value(value, sizeof(value), 4000000000u) == 10
       && pg_ban_value_until((unsigned char *)value, 10) == 4000000000u,
       "ban store: value round-trips");
    ok(pg_ban_value_until((const unsigned char *)"12x", 3) == 0
       && pg_ban_value_until((const unsigned char *)"", 0) == 0
       && pg_ban_value_until((const unsigned char *)"99999999999", 11) == 0
       && pg_ban_value_until((const unsigned char *)"4294967296", 10) == 0
       && pg_ban_value_until((const unsigned char *)"-1", 2) == 0
       && pg_ban_value_until((const unsigned char *)" 17", 3) == 0,
       "ban store: a value that is not ours is no ban");
    ok(pg_ban_value_until((const unsigned char *)"04000000000", 11) == 0,
       "ban store: a value longer than any we write is no ban (leading zeros)");
    pg_addr_parse((pg_span){ "2001:db8:1:2::/64", 17 }, &a);
    ok(pg_ban_key(key, sizeof(key), &a) == 23 && !strcmp(key, "pgban:2001:db8:1:2::/64"),
       "ban store: a /64's key");
    ok(pg_ban_until_clamp(4000000000u, 1700000000, 3600) == 1700003600
       && pg_ban_until_clamp(1700000010, 1700000000, 3600) == 1700000010
       && pg_ban_until_clamp(1700003600, 1700000000, 3600) == 1700003600
       && pg_ban_until_clamp(0, 1700000000, 3600) == 0,
       "ban store: an end time past now + ban duration is clamped to it");
}

static void test_network_prefix(void)
{
    pg_addr a, net;
    char buf[PG_CLIENT_TEXT_MAX];

    pg_addr_parse((pg_span){ "198.51.100.77", 13 }, &a);
    net = pg_addr_network(&a);
    ok(net.family == 4
       && strcmp(pg_addr_format(buf, sizeof(buf), &net), "198.51.100.0") == 0,
       "network: an IPv4 address's /24");
    pg_addr_parse((pg_span){ "2001:db8:1:2:3:4:5:6", 20 }, &a);
    net = pg_addr_network(&a);
    ok(net.family == 6
       && strcmp(pg_addr_format(buf, sizeof(buf), &net), "2001:db8:1:2::") == 0,
       "network: an IPv6 address's /64");
}

static void test_addr_text(void)
{
    pg_addr a;
    char buf[PG_CLIENT_TEXT_MAX];

    static const unsigned char mapped[16] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                              0xff, 0xff, 192, 0, 2, 1 };

    ok(pg_addr_parse((pg_span){ "::ffff:192.0.2.1", 16 }, &a) && a.family == 4
       && strcmp(pg_addr_format(buf, sizeof(buf), &a), "192.0.2.1") == 0,
       "addr: an IPv4-mapped address is that IPv4 address");
    pg_addr_from_bytes(&a, 1, mapped);
    ok(a.family == 4 && strcmp(pg_addr_format(buf, sizeof(buf), &a), "192.0.2.1") == 0,
       "addr: ... also from a socket's bytes");
    ok(pg_addr_parse((pg_span){ "2001:DB8::1", 11 }, &a) && a.family == 6
       && strcmp(pg_addr_format(buf, sizeof(buf), &a), "2001:db8::1") == 0,
       "addr: IPv6 in canonical text");
    ok(!pg_addr_parse((pg_span){ "192.0.2.1/24", 12 }, &a)
       && !pg_addr_parse((pg_span){ "", 0 }, &a)
       && !pg_addr_parse((pg_span){ "192.0.2.1\0junk", 14 }, &a),
       "addr: not an address (CIDR, empty, a NUL and more)");
    ok(pg_addr_parse((pg_span){ "2001:db8:1:2:3::5/64", 20 }, &a) && pg_addr_is_net(&a)
       && strcmp(pg_addr_format(buf, sizeof(buf), &a), "2001:db8:1:2::/64") == 0
       && strcmp(pg_addr_format_bare(buf, sizeof(buf), &a), "2001:db8:1:2::") == 0
       && pg_addr_prefix_len(&a) == 64,
       "addr: a /64 ban key: its text, bare text and prefix length");
    ok(!pg_addr_parse((pg_span){ "192.0.2.0/64", 12 }, &a)
       && !pg_addr_parse((pg_span){ "2001:db8::/48", 13 }, &a)
       && !pg_addr_parse((pg_span){ "/64", 3 }, &a)
       && !pg_addr_parse((pg_span){ "::ffff:192.0.2.1/64", 19 }, &a),
       "addr: no other network is a ban key");
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

/* The cardinality bound of docs/status.md: per vhost only the pairs hit;
 * over all vhosts every reason x action pair, zeros included. */
static int count_lines(const char *doc, const char *prefix)
{
    const char *line;
    int n = 0;

    for (line = doc; line && *line; line = strchr(line, '\n')) {
        if (*line == '\n') {
            line++;
        }
        if (strncmp(line, prefix, strlen(prefix)) == 0) {
            n++;
        }
    }
    return n;
}

static void test_render_prometheus_series(apr_pool_t *p)
{
    pg_table *t = new_table(1000, 16);
    pg_hit h = hit_from(0x7F000001u, PG_REASON_ABSOLUTE_URI,
                        apr_time_from_sec(1700000000));
    char name[32];
    const char *doc;
    int i;

    for (i = 0; i < 1000; i++) {
        snprintf(name, sizeof(name), "v%d.test", i);
        pg_table_vhost_row(t, name);
    }
    doc = render(p, PG_FORMAT_PROMETHEUS, t);
    ok(count_lines(doc, "proxyguard_hits_total{") == 0,
       "Prometheus: 1000 vhosts, no hit: no per-vhost series");
    ok(count_lines(doc, "proxyguard_reason_hits_total{")
           == 2 * (PG_REASON_COUNT - 1),
       "Prometheus: every reason x action total, before any hit");
    ok(strstr(doc, "proxyguard_reason_hits_total{reason=\"connect\","
                   "action=\"detect\"} 0\n") != NULL,
       "Prometheus: a total of 0 is a series");
    ok(strstr(doc, "# TYPE proxyguard_build_info gauge\n"
                   "proxyguard_build_info{version=\"test\"} 1\n") != NULL,
       "Prometheus: proxyguard_build_info{version} 1");

    hit(t, &h);
    hit(t, &h);
    h.vhost = 999;
    h.reason = PG_REASON_CONNECT;
    h.action = PG_ACTION_DETECT;
    hit(t, &h);
    doc = render(p, PG_FORMAT_PROMETHEUS, t);
    ok(count_lines(doc, "proxyguard_hits_total{") == 2,
       "Prometheus: 1000 vhosts, 2 pairs hit: 2 per-vhost series");
    ok(strstr(doc, "proxyguard_hits_total{vhost=\"v0.test\",reason=\"absolute-uri\","
                   "action=\"deny\"} 2\n") != NULL
       && strstr(doc, "proxyguard_hits_total{vhost=\"v999.test\",reason=\"connect\","
                      "action=\"detect\"} 1\n") != NULL,
       "Prometheus: the pairs hit, with their counts");
    ok(strstr(doc, "proxyguard_reason_hits_total{reason=\"absolute-uri\","
                   "action=\"deny\"} 2\n") != NULL
       && strstr(doc, "proxyguard_reason_hits_total{reason=\"connect\","
                      "action=\"detect\"} 1\n") != NULL
       && strstr(doc, "proxyguard_reason_hits_total{reason=\"connect\","
                      "action=\"deny\"} 0\n") != NULL,
       "Prometheus: the totals over all vhosts");
    free(t);
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

/* The query words, alone or with an empty value (what Prometheus sends
 * for the documented params: {prometheus: [""]}). */
static void test_status_query(void)
{
    int refresh;

    ok(pg_status_parse_query("prometheus", &refresh) == PG_FORMAT_PROMETHEUS
       && pg_status_parse_query("prometheus=", &refresh) == PG_FORMAT_PROMETHEUS
       && pg_status_parse_query("json=&refresh=5", &refresh) == PG_FORMAT_JSON
       && refresh == 5 && pg_status_parse_query("auto=", &refresh) == PG_FORMAT_AUTO,
       "query: a format word alone or with an empty value");
    ok(pg_status_parse_query("prometheus=1", &refresh) == PG_FORMAT_HTML
       && pg_status_parse_query("prometheusx", &refresh) == PG_FORMAT_HTML
       && pg_status_parse_query("prometheu=", &refresh) == PG_FORMAT_HTML,
       "query: a word with a value, or another word, is no format");
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
    test_record_known();
    test_record_known_races(p);
    test_ban_capacity();
    test_ban_net6();
    test_ban_net6_store();
    test_shared_store_rows();
    test_snapshot();
    test_ban_store_encoding();
    test_addr_text();
    test_network_prefix();
    test_render_escaping(p);
    test_render_prometheus_series(p);
    test_status_query();

    apr_pool_destroy(p);
    apr_terminate();
    return tap_finish();
}
