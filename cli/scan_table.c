/* Licensed under the Apache License, Version 2.0 (the "License");
 * you may not use this file except in compliance with the License.
 * You may obtain a copy of the License at
 *
 *     http://www.apache.org/licenses/LICENSE-2.0
 *
 * Unless required by applicable law or agreed to in writing, software
 * distributed under the License is distributed on an "AS IS" BASIS,
 * WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
 * See the License for the specific language governing permissions and
 * limitations under the License.
 */

/*
 * scan_table.c: what scan counts, in memory fixed at start.
 *
 * Every table is an array allocated once and addressed by a seeded hash
 * (so log lines cannot aim at slots).  As in the module's pg_table.c, a
 * key is looked for in SCAN_PROBE slots from its hash position; when none
 * holds it and none is free, the slot with the fewest hits among those is
 * given to the newcomer: memory never grows, and the heavy hitters, the
 * ones a report is about, stay.  What eviction cost is counted and shown.
 *
 * "Did it work?" (scan_verdict.c) sometimes needs the sizes ordinary
 * requests got, from anywhere in the logs, also after the hit: a set of
 * (path, size) fingerprints of ordinary 2xx/3xx answers, and the hits
 * pending on one until the end, each with its client so that the client's
 * verdict counts are exact too.
 */

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define SCAN_PROBE 16
#define SCAN_DAYS_SLOTS 8192          /* 22 years of days */
#define SCAN_MONTHS_SLOTS 2048
#define SCAN_SIZES_SLOTS (1u << 20)   /* 8 MB of fingerprints */
#define SCAN_PENDING_SLOTS (1u << 16)
#define SCAN_CANDIDATES 64            /* pending hits kept as examples */

/* %O counts the headers too, and two answers of one page differ by the
 * connection's own: none (HTTP/1.1 kept alive), "Connection: close\r\n"
 * (19 bytes), or "Keep-Alive: timeout=T, max=M\r\nConnection: Keep-Alive
 * \r\n" (52 bytes + the digits of T and M: 54 to 59; 47 + T's without a
 * max, MaxKeepAliveRequests 0: 48 to 50).  These differences, and only
 * these, count as the same size under %O. */
static const int scan_sent_deltas[] = {
    0, 1, 2, 3, 19, 28, 29, 30, 31, 35, 36, 37, 38, 39, 40, 48, 49, 50,
    54, 55, 56, 57, 58, 59
};

/* Hits waiting for the end of the input, one row per path, size, client
 * and rule. */
typedef struct scan_pending {
    uint64_t path;                  /* hash of the path */
    int64_t size;                   /* as logged */
    uint64_t client;                /* the client row's id ... */
    uint32_t row;                   /* ... and index */
    uint32_t hits;
    unsigned char used;
    unsigned char kind;             /* scan_size_kind */
    unsigned char reason;           /* index */
    unsigned char unmatched;        /* the rule when no size matches */
    unsigned char rule;             /* the rule, at the end */
} scan_pending;

struct scan_tables {
    uint64_t seed;
    scan_client *clients;
    uint32_t n_clients;
    uint64_t clients_evicted;
    scan_net *nets;
    uint32_t n_nets;
    uint64_t nets_evicted;
    scan_text *hosts;
    scan_text *targets;
    uint32_t n_texts;
    uint64_t texts_evicted;
    uint32_t *ports;
    uint32_t ports_none;
    scan_period *days;
    scan_period *months;
    uint64_t periods_dropped;
    uint64_t *sizes;
    uint64_t sizes_evicted;
    scan_pending *pending;
    uint64_t pending_early;
    uint64_t unattributed;
    int decide_now;
    scan_example examples[SCAN_VERDICT_COUNT][SCAN_EXAMPLES];
    scan_example candidates[SCAN_CANDIDATES];
    scan_example unparsed[SCAN_EXAMPLES];
    size_t n_unparsed;
    uint64_t hits[SCAN_REASONS];
    uint64_t verdicts[SCAN_VERDICT_COUNT];
    uint64_t by_reason[SCAN_REASONS][SCAN_VERDICT_COUNT];
    uint64_t rules[SCAN_RULE_COUNT];
    scan_time first, last;
    /* the sorted views handed to the outputs */
    const scan_client **client_view;
    const scan_net **net_view;
    const scan_net **wide_view;
    const scan_text **host_view;
    const scan_text **target_view;
    uint16_t *port_view;
    scan_period *day_view;
    scan_period *month_view;
    const scan_example *example_view[SCAN_VERDICT_COUNT][SCAN_EXAMPLES];
    size_t n_example_view[SCAN_VERDICT_COUNT];
};

static void scan_copy_text(char *dst, size_t size, const char *src, size_t len);

/* ------------------------------------------------------------------ */
/* Hashing                                                              */

static uint64_t scan_mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

/* Eight bytes at a time: a path is hashed for every ordinary line. */
static uint64_t scan_hash(uint64_t seed, const void *data, size_t n)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ ((uint64_t)n * 0x9e3779b97f4a7c15ULL);
    uint64_t w;

    while (n >= 8) {
        memcpy(&w, p, 8);
        h = (h ^ scan_mix(w)) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    w = 0;
    memcpy(&w, p, n);
    return scan_mix(h ^ w ^ ((uint64_t)n << 56));
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */

static uint32_t scan_pow2(uint32_t n)
{
    uint32_t p = 1;

    while (p < n) {
        p <<= 1;
    }
    return p;
}

scan_tables *scan_tables_create(uint32_t client_rows, uint32_t seed)
{
    scan_tables *t = calloc(1, sizeof(*t));

    if (t == NULL) {
        return NULL;
    }
    t->seed = scan_mix(((uint64_t)seed << 32) | 0x5ca1ab1eU);
    t->n_clients = scan_pow2(client_rows);
    t->n_nets = t->n_clients;
    t->n_texts = 8192;
    /* calloc'd and touched only as rows fill: RSS follows the input */
    t->clients = calloc(t->n_clients, sizeof(*t->clients));
    t->nets = calloc(t->n_nets, sizeof(*t->nets));
    t->hosts = calloc(t->n_texts, sizeof(*t->hosts));
    t->targets = calloc(t->n_texts, sizeof(*t->targets));
    t->ports = calloc(65536, sizeof(*t->ports));
    t->days = calloc(SCAN_DAYS_SLOTS, sizeof(*t->days));
    t->months = calloc(SCAN_MONTHS_SLOTS, sizeof(*t->months));
    t->sizes = calloc(SCAN_SIZES_SLOTS, sizeof(*t->sizes));
    t->pending = calloc(SCAN_PENDING_SLOTS, sizeof(*t->pending));
    if (!t->clients || !t->nets || !t->hosts || !t->targets || !t->ports
        || !t->days || !t->months || !t->sizes || !t->pending) {
        scan_tables_destroy(t);
        return NULL;
    }
    return t;
}

void scan_tables_destroy(scan_tables *t)
{
    if (t == NULL) {
        return;
    }
    free(t->clients);
    free(t->nets);
    free(t->hosts);
    free(t->targets);
    free(t->ports);
    free(t->days);
    free(t->months);
    free(t->sizes);
    free(t->pending);
    free(t->client_view);
    free(t->net_view);
    free(t->wide_view);
    free(t->host_view);
    free(t->target_view);
    free(t->port_view);
    free(t->day_view);
    free(t->month_view);
    free(t);
}

/* ------------------------------------------------------------------ */
/* Sizes: did an ordinary request get this many bytes for this path?    */

static uint64_t scan_fingerprint(uint64_t path, int kind, int64_t size)
{
    uint64_t fp = path
                  ^ scan_mix(((uint64_t)size << 2 | (uint64_t)kind)
                             + 0x51ed270b27a5b5b5ULL);

    return fp ? fp : 1;
}

static int scan_sizes_has(const scan_tables *t, uint64_t fp)
{
    uint32_t i, at = (uint32_t)fp & (SCAN_SIZES_SLOTS - 1);

    for (i = 0; i < SCAN_PROBE; i++) {
        uint64_t seen = t->sizes[(at + i) & (SCAN_SIZES_SLOTS - 1)];

        if (seen == fp) {
            return 1;
        }
        if (seen == 0) {
            return 0;
        }
    }
    return 0;
}

/* Did an ordinary answer for the path get this size (for %O, up to what
 * the connection's headers add or take away)? */
static int scan_sizes_match(const scan_tables *t, uint64_t path, int kind,
                            int64_t size)
{
    size_t i, n = kind == SCAN_SIZE_SENT
                  ? sizeof(scan_sent_deltas) / sizeof(scan_sent_deltas[0]) : 1;

    for (i = 0; i < n; i++) {
        if (scan_sizes_has(
                t, scan_fingerprint(path, kind, size + scan_sent_deltas[i]))
            || (scan_sent_deltas[i]
                && scan_sizes_has(
                    t, scan_fingerprint(path, kind,
                                        size - scan_sent_deltas[i])))) {
            return 1;
        }
    }
    return 0;
}

static int scan_comparable_answer(const scan_classified *c)
{
    return c->size > 0 && c->status >= 200 && c->status < 400
           && c->status != 204 && c->status != 304
           && c->size_kind != SCAN_SIZE_NONE && c->path.ptr != NULL
           && !scan_bodiless_method(c->method);
}

void scan_tables_ordinary(scan_tables *t, const scan_classified *c)
{
    uint64_t fp;
    uint32_t i, at;

    if (!scan_comparable_answer(c)) {
        return;
    }
    fp = scan_fingerprint(scan_hash(t->seed, c->path.ptr, c->path.len),
                          c->size_kind, c->size);
    at = (uint32_t)fp & (SCAN_SIZES_SLOTS - 1);
    for (i = 0; i < SCAN_PROBE; i++) {
        uint64_t *slot = &t->sizes[(at + i) & (SCAN_SIZES_SLOTS - 1)];

        if (*slot == fp) {
            return;
        }
        if (*slot == 0) {
            *slot = fp;
            return;
        }
    }
    /* full around here: an old fingerprint makes room */
    t->sizes[(at + (uint32_t)(fp >> 60)) & (SCAN_SIZES_SLOTS - 1)] = fp;
    t->sizes_evicted++;
}

/* ------------------------------------------------------------------ */
/* Clients and networks                                                 */

typedef struct scan_client_key {
    unsigned char family;
    unsigned char bytes[16];
    char text[SCAN_CLIENT_MAX];
    size_t len;
} scan_client_key;

static void scan_client_key_of(pg_span client, scan_client_key *k)
{
    memset(k, 0, sizeof(*k));
    if (client.ptr) {
        scan_copy_text(k->text, sizeof(k->text), client.ptr, client.len);
    }
    k->len = strlen(k->text);
    switch (pg_ip_parse(client, k->bytes)) {
    case 4: k->family = 4; break;
    case 6: k->family = 6; break;
    default: k->family = 'n'; memset(k->bytes, 0, 16); break;
    }
}

static int scan_client_is(const scan_client *c, const scan_client_key *k)
{
    if (c->family != k->family) {
        return 0;
    }
    return k->family == 'n' ? !strcmp(c->text, k->text)
                             : !memcmp(c->bytes, k->bytes, 16);
}

static void scan_time_span(scan_time *first, scan_time *last,
                           const scan_time *when)
{
    if (!when->valid) {
        return;
    }
    if (!first->valid || when->sec < first->sec) {
        *first = *when;
    }
    if (!last->valid || when->sec >= last->sec) {
        *last = *when;
    }
}

/* The client's row; *fresh when it was not in the table. */
static scan_client *scan_client_row(scan_tables *t, const scan_client_key *k,
                                    int *fresh)
{
    uint64_t h = k->family == 'n'
                     ? scan_hash(t->seed, k->text, k->len)
                     : scan_hash(t->seed, k->bytes, 16) ^ k->family;
    uint32_t i, mask = t->n_clients - 1, at = (uint32_t)h & mask;
    scan_client *free_row = NULL, *weakest = NULL;

    *fresh = 0;
    for (i = 0; i < SCAN_PROBE && i < t->n_clients; i++) {
        scan_client *c = &t->clients[(at + i) & mask];

        if (c->family == 0) {
            if (free_row == NULL) {
                free_row = c;
            }
            continue;
        }
        if (scan_client_is(c, k)) {
            return c;
        }
        if (weakest == NULL || c->total < weakest->total) {
            weakest = c;
        }
    }
    if (free_row == NULL) {
        free_row = weakest;
        t->clients_evicted++;
    }
    memset(free_row, 0, sizeof(*free_row));
    free_row->family = k->family;
    free_row->id = h;
    memcpy(free_row->bytes, k->bytes, 16);
    memcpy(free_row->text, k->text, k->len);
    free_row->text[k->len] = '\0';
    *fresh = 1;
    return free_row;
}

static scan_net *scan_net_row(scan_tables *t, const unsigned char *addr,
                              unsigned char family, unsigned char prefix)
{
    unsigned char key[18];
    uint32_t i, mask = t->n_nets - 1, at;
    scan_net *free_row = NULL, *weakest = NULL;

    memset(key, 0, sizeof(key));
    memcpy(key, addr, prefix / 8);
    key[16] = family;
    key[17] = prefix;
    at = (uint32_t)scan_hash(t->seed, key, sizeof(key)) & mask;
    for (i = 0; i < SCAN_PROBE && i < t->n_nets; i++) {
        scan_net *n = &t->nets[(at + i) & mask];

        if (n->family == 0) {
            if (free_row == NULL) {
                free_row = n;
            }
            continue;
        }
        if (n->family == family && n->prefix == prefix
            && !memcmp(n->bytes, key, 16)) {
            return n;
        }
        if (weakest == NULL || n->total < weakest->total) {
            weakest = n;
        }
    }
    if (free_row == NULL) {
        free_row = weakest;
        t->nets_evicted++;
    }
    memset(free_row, 0, sizeof(*free_row));
    memcpy(free_row->bytes, key, 16);
    free_row->family = family;
    free_row->prefix = prefix;
    return free_row;
}

static void scan_count_net(scan_tables *t, const scan_client_key *k, int fresh,
                           int reason, const scan_time *when)
{
    static const unsigned char v4[2] = { 24, 16 }, v6[2] = { 64, 48 };
    int i;

    if (k->family != 4 && k->family != 6) {
        return;
    }
    for (i = 0; i < 2; i++) {
        scan_net *n = scan_net_row(t, k->bytes, k->family,
                                   k->family == 4 ? v4[i] : v6[i]);

        n->hits[reason]++;
        n->total++;
        n->hosts += fresh;
        scan_time_span(&n->first, &n->last, when);
    }
}

/* ------------------------------------------------------------------ */
/* Host names and targets                                               */

static void scan_count_text(scan_tables *t, scan_text *rows, pg_span s)
{
    char text[SCAN_TEXT_MAX];
    size_t len;
    uint32_t h, i, mask = t->n_texts - 1, at;
    scan_text *free_row = NULL, *weakest = NULL;

    if (s.ptr == NULL) {
        return;
    }
    scan_copy_text(text, sizeof(text), s.ptr, s.len);
    len = strlen(text);
    for (i = 0; i < len; i++) {
        if (text[i] >= 'A' && text[i] <= 'Z') {
            text[i] = (char)(text[i] + 32);
        }
    }
    h = (uint32_t)scan_hash(t->seed, text, len);
    at = h & mask;
    for (i = 0; i < SCAN_PROBE; i++) {
        scan_text *r = &rows[(at + i) & mask];

        if (r->hits == 0) {
            if (free_row == NULL) {
                free_row = r;
            }
            continue;
        }
        if (r->hash == h && !strcmp(r->text, text)) {
            r->hits++;
            return;
        }
        if (weakest == NULL || r->hits < weakest->hits) {
            weakest = r;
        }
    }
    if (free_row == NULL) {
        free_row = weakest;
        t->texts_evicted++;
    }
    memcpy(free_row->text, text, len + 1);
    free_row->hash = h;
    free_row->hits = 1;
}

/* The host a hit names: the URI's (valid or not: its authority as
 * written), else the Host header's name. */
static pg_span scan_named_host(const scan_classified *c)
{
    pg_absolute_uri abs;
    pg_span name = { NULL, 0 };

    if (c->reason == PG_REASON_ABSOLUTE_URI
        && pg_parse_absolute_uri(c->target, &abs)) {
        if (abs.valid && abs.host.len) {
            return abs.host;
        }
        if (c->target.len > abs.scheme.len + 3) {
            /* the authority as written, up to the path */
            const char *a = c->target.ptr + abs.scheme.len + 3;
            const char *end = c->target.ptr + c->target.len;
            const char *slash = memchr(a, '/', (size_t)(end - a));

            name.ptr = a;
            name.len = (size_t)((slash ? slash : end) - a);
            return name;
        }
        return c->target;
    }
    if (c->host.ptr && !pg_parse_host_header(c->host, &name)) {
        name = c->host;
    }
    return name;
}

/* ------------------------------------------------------------------ */
/* Days and months                                                      */

static void scan_count_period(scan_tables *t, scan_period *rows, uint32_t slots,
                              int64_t key, int reason)
{
    uint32_t i, at = (uint32_t)scan_mix((uint64_t)key) & (slots - 1);

    for (i = 0; i < SCAN_PROBE; i++) {
        scan_period *p = &rows[(at + i) & (slots - 1)];

        if (!p->used) {
            p->used = 1;
            p->key = key;
        }
        if (p->key == key) {
            p->hits[reason]++;
            return;
        }
    }
    t->periods_dropped++;
}

/* ------------------------------------------------------------------ */
/* Examples                                                             */

/* Log text kept as a C string for the outputs' escapers: a NUL byte, which
 * would end it, is kept as the four characters \x00 (how the outputs show
 * every other control byte).  Cut to fit. */
static void scan_copy_text(char *dst, size_t size, const char *src, size_t len)
{
    size_t i, o = 0;

    for (i = 0; i < len && o + 1 < size; i++) {
        if (src[i] != '\0') {
            dst[o++] = src[i];
        }
        else if (o + 5 < size) {
            memcpy(dst + o, "\\x00", 4);
            o += 4;
        }
        else {
            break;
        }
    }
    dst[o] = '\0';
}

static void scan_example_fill(scan_example *e, const char *where,
                              const char *line, size_t len, int reason,
                              scan_rule rule)
{
    snprintf(e->where, sizeof(e->where), "%s", where);
    scan_copy_text(e->text, sizeof(e->text), line, len);
    e->reason = reason;
    e->rule = rule;
    e->used = 1;
}

/* Examples worth reading: at most per_client of one reason from one
 * client, so that one busy client does not fill every slot. */
static void scan_example_add(scan_example *slots, size_t n, size_t per_client,
                             const char *where, const char *line, size_t len,
                             int reason, scan_rule rule, uint64_t client,
                             uint32_t pending)
{
    size_t i, same = 0;

    for (i = 0; i < n; i++) {
        if (!slots[i].used) {
            scan_example_fill(&slots[i], where, line, len, reason, rule);
            slots[i].client = client;
            slots[i].pending = pending;
            return;
        }
        if (slots[i].reason == reason && slots[i].client == client
            && ++same >= per_client) {
            return;
        }
    }
}

void scan_tables_unparsed(scan_tables *t, const char *where, const char *line,
                          size_t len)
{
    if (t->n_unparsed < SCAN_EXAMPLES) {
        scan_example_fill(&t->unparsed[t->n_unparsed++], where, line, len, -1,
                          SCAN_RULE_COUNT);
    }
}

/* ------------------------------------------------------------------ */
/* Verdicts                                                             */

static void scan_count_verdict(scan_tables *t, int reason, scan_rule rule,
                               uint64_t n, scan_client *row)
{
    scan_verdict v = scan_rule_verdict(rule);

    t->rules[rule] += n;
    t->verdicts[v] += n;
    t->by_reason[reason][v] += n;
    if (row != NULL) {
        row->verdicts[v] += (uint32_t)n;
    }
    else {
        t->unattributed += n;
    }
}

/* A hit whose size ordinary requests may explain later: pending until the
 * end.  Returns its slot + 1, or 0 when the table is full around it. */
static uint32_t scan_pend(scan_tables *t, const scan_pending *key)
{
    uint64_t h = scan_mix(key->path ^ scan_mix((uint64_t)key->size)
                          ^ (key->client * 0x9e3779b97f4a7c15ULL)
                          ^ ((uint64_t)key->unmatched << 56));
    uint32_t i, at = (uint32_t)h & (SCAN_PENDING_SLOTS - 1);

    for (i = 0; i < SCAN_PROBE; i++) {
        uint32_t slot = (at + i) & (SCAN_PENDING_SLOTS - 1);
        scan_pending *p = &t->pending[slot];

        if (!p->used) {
            *p = *key;
            p->used = 1;
        }
        if (p->path == key->path && p->size == key->size
            && p->client == key->client && p->row == key->row
            && p->kind == key->kind && p->reason == key->reason
            && p->unmatched == key->unmatched) {
            p->hits++;
            return slot + 1;
        }
    }
    return 0;
}

/* The hit's rule, or SCAN_RULE_COUNT with *pending set when it waits for
 * the end. */
static scan_rule scan_judge_hit(scan_tables *t, const scan_classified *c,
                                int reason, const scan_client *row,
                                uint32_t *pending)
{
    scan_pending key;
    int compare;
    scan_rule rule = scan_judge(c, &compare);

    *pending = 0;
    if (!compare) {
        return rule;
    }
    memset(&key, 0, sizeof(key));
    key.path = scan_hash(t->seed, c->path.ptr, c->path.len);
    key.size = c->size;
    key.kind = (unsigned char)c->size_kind;
    key.reason = (unsigned char)reason;
    key.unmatched = (unsigned char)rule;
    key.client = row->id;
    key.row = (uint32_t)(row - t->clients);
    if (!t->decide_now) {
        if ((*pending = scan_pend(t, &key)) != 0) {
            return SCAN_RULE_COUNT;
        }
        t->pending_early++;
    }
    return scan_sizes_match(t, key.path, key.kind, key.size)
               ? SCAN_RULE_OWN_SIZE
               : rule;
}

scan_rule scan_tables_hit(scan_tables *t, const scan_classified *c,
                          pg_span client, const scan_time *when,
                          const char *where, const char *line, size_t len)
{
    int reason = scan_reason_index(c->reason);
    scan_client_key key;
    scan_client *row;
    scan_rule rule;
    uint32_t pending;
    int fresh;

    if (reason < 0) {
        return SCAN_RULE_COUNT;
    }
    t->hits[reason]++;
    scan_time_span(&t->first, &t->last, when);

    scan_client_key_of(client, &key);
    row = scan_client_row(t, &key, &fresh);
    row->hits[reason]++;
    row->total++;
    scan_time_span(&row->first, &row->last, when);
    scan_count_net(t, &key, fresh, reason, when);

    if (c->reason == PG_REASON_CONNECT) {
        if (c->connect_port) {
            t->ports[c->connect_port]++;
        }
        else {
            t->ports_none++;
        }
        scan_count_text(t, t->targets, c->target);
    }
    else {
        scan_count_text(t, t->hosts, scan_named_host(c));
    }
    if (when->valid) {
        scan_count_period(t, t->days, SCAN_DAYS_SLOTS, scan_time_day(when),
                          reason);
        scan_count_period(t, t->months, SCAN_MONTHS_SLOTS,
                          scan_time_month(when), reason);
    }

    rule = scan_judge_hit(t, c, reason, row, &pending);
    if (rule != SCAN_RULE_COUNT) {
        scan_count_verdict(t, reason, rule, 1, row);
        scan_example_add(t->examples[scan_rule_verdict(rule)], SCAN_EXAMPLES, 2,
                         where, line, len, reason, rule, row->id, 0);
        return rule;
    }
    scan_example_add(t->candidates, SCAN_CANDIDATES, SCAN_CANDIDATES, where,
                     line, len, reason, SCAN_RULE_COUNT, row->id, pending);
    return rule;
}

void scan_tables_decide_now(scan_tables *t)
{
    t->decide_now = 1;
}

/* The client row a pending hit came from, unless it was evicted since. */
static scan_client *scan_pending_row(scan_tables *t, const scan_pending *p)
{
    scan_client *row = &t->clients[p->row];

    return row->family != 0 && row->id == p->client ? row : NULL;
}

void scan_tables_finish(scan_tables *t)
{
    uint32_t i;

    for (i = 0; i < SCAN_PENDING_SLOTS; i++) {
        scan_pending *p = &t->pending[i];

        if (!p->used) {
            continue;
        }
        p->rule = scan_sizes_match(t, p->path, p->kind, p->size)
                  ? SCAN_RULE_OWN_SIZE : p->unmatched;
        scan_count_verdict(t, p->reason, (scan_rule)p->rule, p->hits,
                           scan_pending_row(t, p));
    }
    for (i = 0; i < SCAN_CANDIDATES; i++) {
        scan_example *e = &t->candidates[i];

        if (e->used) {
            scan_rule rule = (scan_rule)t->pending[e->pending - 1].rule;

            scan_example_add(t->examples[scan_rule_verdict(rule)],
                             SCAN_EXAMPLES, 2, e->where, e->text,
                             strlen(e->text), e->reason, rule, e->client, 0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Results                                                              */

static int scan_cmp_client(const void *a, const void *b)
{
    const scan_client *x = *(const scan_client *const *)a;
    const scan_client *y = *(const scan_client *const *)b;

    if (x->total != y->total) {
        return x->total > y->total ? -1 : 1;
    }
    return strcmp(x->text, y->text);
}

static int scan_cmp_net(const void *a, const void *b)
{
    const scan_net *x = *(const scan_net *const *)a;
    const scan_net *y = *(const scan_net *const *)b;

    if (x->total != y->total) {
        return x->total > y->total ? -1 : 1;
    }
    if (x->hosts != y->hosts) {
        return x->hosts > y->hosts ? -1 : 1;
    }
    if (x->family != y->family) {
        return x->family < y->family ? -1 : 1;
    }
    return memcmp(x->bytes, y->bytes, 16);
}

static int scan_cmp_text(const void *a, const void *b)
{
    const scan_text *x = *(const scan_text *const *)a;
    const scan_text *y = *(const scan_text *const *)b;

    if (x->hits != y->hits) {
        return x->hits > y->hits ? -1 : 1;
    }
    return strcmp(x->text, y->text);
}

static const uint32_t *scan_sort_ports;

static int scan_cmp_port(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

    if (scan_sort_ports[x] != scan_sort_ports[y]) {
        return scan_sort_ports[x] > scan_sort_ports[y] ? -1 : 1;
    }
    return x < y ? -1 : x > y;
}

static int scan_cmp_period(const void *a, const void *b)
{
    const scan_period *x = a, *y = b;

    return x->key < y->key ? -1 : x->key > y->key;
}

static size_t scan_view_texts(const scan_text *rows, uint32_t n,
                              const scan_text ***view)
{
    size_t used = 0;
    uint32_t i;

    *view = malloc((n ? n : 1) * sizeof(**view));
    for (i = 0; *view && i < n; i++) {
        if (rows[i].hits) {
            (*view)[used++] = &rows[i];
        }
    }
    if (*view) {
        qsort(*view, used, sizeof(**view), scan_cmp_text);
    }
    return used;
}

static size_t scan_view_periods(const scan_period *rows, uint32_t n,
                                scan_period **view)
{
    size_t used = 0;
    uint32_t i;

    *view = malloc(n * sizeof(**view));
    for (i = 0; *view && i < n; i++) {
        if (rows[i].used) {
            (*view)[used++] = rows[i];
        }
    }
    if (*view) {
        qsort(*view, used, sizeof(**view), scan_cmp_period);
    }
    return used;
}

static void scan_view_nets(scan_tables *t, scan_results *r)
{
    uint32_t i;

    t->net_view = malloc(t->n_nets * sizeof(*t->net_view));
    t->wide_view = malloc(t->n_nets * sizeof(*t->wide_view));
    if (t->net_view == NULL || t->wide_view == NULL) {
        return;
    }
    for (i = 0; i < t->n_nets; i++) {
        const scan_net *n = &t->nets[i];

        if (n->family == 0) {
            continue;
        }
        if (n->prefix == 24 || n->prefix == 64) {
            t->net_view[r->n_nets++] = n;
        }
        else {
            t->wide_view[r->n_wide++] = n;
        }
    }
    qsort(t->net_view, r->n_nets, sizeof(*t->net_view), scan_cmp_net);
    qsort(t->wide_view, r->n_wide, sizeof(*t->wide_view), scan_cmp_net);
    r->nets = t->net_view;
    r->wide = t->wide_view;
}

void scan_tables_results(scan_tables *t, scan_results *r)
{
    uint32_t i;
    int v;

    memcpy(r->hits, t->hits, sizeof(r->hits));
    memcpy(r->verdicts, t->verdicts, sizeof(r->verdicts));
    memcpy(r->by_reason, t->by_reason, sizeof(r->by_reason));
    memcpy(r->rules, t->rules, sizeof(r->rules));
    r->first = t->first;
    r->last = t->last;

    t->client_view = malloc(t->n_clients * sizeof(*t->client_view));
    r->n_clients = 0;
    for (i = 0; t->client_view && i < t->n_clients; i++) {
        if (t->clients[i].family) {
            t->client_view[r->n_clients++] = &t->clients[i];
        }
    }
    if (t->client_view) {
        qsort(t->client_view, r->n_clients, sizeof(*t->client_view),
              scan_cmp_client);
    }
    r->clients = t->client_view;

    r->n_nets = r->n_wide = 0;
    scan_view_nets(t, r);
    r->n_hosts = scan_view_texts(t->hosts, t->n_texts, &t->host_view);
    r->hosts = t->host_view;
    r->n_targets = scan_view_texts(t->targets, t->n_texts, &t->target_view);
    r->targets = t->target_view;

    t->port_view = malloc(65536 * sizeof(*t->port_view));
    r->n_ports = 0;
    for (i = 1; t->port_view && i < 65536; i++) {
        if (t->ports[i]) {
            t->port_view[r->n_ports++] = (uint16_t)i;
        }
    }
    scan_sort_ports = t->ports;
    if (t->port_view) {
        qsort(t->port_view, r->n_ports, sizeof(*t->port_view), scan_cmp_port);
    }
    r->ports = t->ports;
    r->ports_none = t->ports_none;
    r->port_order = t->port_view;

    r->n_days = scan_view_periods(t->days, SCAN_DAYS_SLOTS, &t->day_view);
    r->days = t->day_view;
    r->n_months =
        scan_view_periods(t->months, SCAN_MONTHS_SLOTS, &t->month_view);
    r->months = t->month_view;

    for (v = 0; v < SCAN_VERDICT_COUNT; v++) {
        size_t k;

        r->n_examples[v] = 0;
        for (k = 0; k < SCAN_EXAMPLES; k++) {
            if (t->examples[v][k].used) {
                r->examples[v][r->n_examples[v]++] = &t->examples[v][k];
            }
        }
    }
    r->unparsed_examples = t->unparsed;
    r->n_unparsed_examples = t->n_unparsed;

    r->clients_evicted = t->clients_evicted;
    r->nets_evicted = t->nets_evicted;
    r->texts_evicted = t->texts_evicted;
    r->periods_dropped = t->periods_dropped;
    r->sizes_evicted = t->sizes_evicted;
    r->pending_early = t->pending_early;
    r->verdicts_unattributed = t->unattributed;
}

const char *scan_net_text(const scan_net *n, char *buf, size_t size)
{
    char addr[64];

    if (!inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->bytes, addr,
                   sizeof(addr))) {
        snprintf(addr, sizeof(addr), "?");
    }
    snprintf(buf, size, "%s/%u", addr, n->prefix);
    return buf;
}
