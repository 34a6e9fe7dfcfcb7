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
 * pg_snapshot.c: copies of the hit table for the status page.  See
 * pg_snapshot.h.
 */

#include <string.h>

#include "pg_ban.h"
#include "pg_snapshot.h"
#include "pg_table_rows.h"

static apr_uint32_t pg_snapshot_rows(const pg_table *t)
{
    return t->n_clients < PG_SNAPSHOT_ROWS ? t->n_clients : PG_SNAPSHOT_ROWS;
}

apr_size_t pg_table_snapshot_bytes(const pg_table *t, apr_uint32_t kind)
{
    return kind == PG_SNAPSHOT_DETAILS
           ? pg_table_bytes(t->n_vhosts, pg_snapshot_rows(t))
           : pg_clients_offset(t->n_vhosts);
}

/* The heaviest rows of an array (clients or networks), in two passes: the
 * array's weights are read without the lock, keeping the indexes of the
 * heaviest in a min-heap on their weight (a row changing meanwhile can
 * only change which rows are picked); then the picked rows are copied
 * under the lock, in one hold as short as the copy.  A reader that held
 * the lock over the whole array (1,048,576 rows: milliseconds, with the
 * holder liable to lose its CPU meanwhile) would stall every counted hit;
 * one that read whole rows for their weight would take the CPU from them
 * for as long (100 MB, where the weights are 4 MB). */
typedef struct pg_pick {
    apr_uint32_t index;
    apr_uint32_t weight;
} pg_pick;

typedef struct pg_rows {
    const char *src;                /* the table's rows */
    const volatile apr_uint32_t *weights;   /* ... and their weights */
    char *dst;                      /* the copy's rows */
    apr_size_t size;                /* bytes of one row */
    apr_uint32_t n;                 /* source rows */
    apr_uint32_t cap;               /* rows the copy has */
} pg_rows;

static void pg_pick_swap(pg_pick *heap, apr_uint32_t a, apr_uint32_t b)
{
    pg_pick tmp = heap[a];

    heap[a] = heap[b];
    heap[b] = tmp;
}

static void pg_pick_down(pg_pick *heap, apr_uint32_t used, apr_uint32_t i)
{
    for (;;) {
        apr_uint32_t l = 2 * i + 1, r = l + 1, m = i;

        if (l < used && heap[l].weight < heap[m].weight) {
            m = l;
        }
        if (r < used && heap[r].weight < heap[m].weight) {
            m = r;
        }
        if (m == i) {
            return;
        }
        pg_pick_swap(heap, i, m);
        i = m;
    }
}

static void pg_pick_up(pg_pick *heap, apr_uint32_t i)
{
    while (i > 0 && heap[(i - 1) / 2].weight > heap[i].weight) {
        pg_pick_swap(heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static void pg_pick_offer(pg_pick *heap, apr_uint32_t *used, apr_uint32_t cap,
                          apr_uint32_t index, apr_uint32_t weight)
{
    pg_pick pick;

    pick.index = index;
    pick.weight = weight;
    if (*used < cap) {
        heap[*used] = pick;
        pg_pick_up(heap, (*used)++);
    }
    else if (cap && weight > heap[0].weight) {
        heap[0] = pick;
        pg_pick_down(heap, *used, 0);
    }
}

/* Pass one, no lock: the indexes of the cap heaviest used rows.  The
 * weights are read 8 at a time, and a block none of whose weights would
 * enter the heap (free rows: 0) is passed over on its maximum: a few
 * instructions per row, where this pass is nearly all of a page's work
 * on a large table. */
#define PG_PICK_BLOCK 8

static apr_uint32_t pg_pick_heaviest(const pg_rows *r, pg_pick *heap)
{
    /* racing writers only change which rows are picked */
    const apr_uint32_t *w = (const apr_uint32_t *)r->weights;
    apr_uint32_t i, j, used = 0;

    for (i = 0; i < r->n; i += PG_PICK_BLOCK) {
        apr_uint32_t end = r->n - i < PG_PICK_BLOCK ? r->n : i + PG_PICK_BLOCK;
        apr_uint32_t floor = used < r->cap ? 0 : heap[0].weight;
        apr_uint32_t max = 0;

        for (j = i; j < end; j++) {
            max = w[j] > max ? w[j] : max;
        }
        if (max <= floor) {
            continue;
        }
        for (j = i; j < end; j++) {
            apr_uint32_t weight = w[j];

            if (weight) {
                pg_pick_offer(heap, &used, r->cap, j, weight);
            }
        }
    }
    return used;
}

/* Pass two, one hold of the lock: the picked rows as they are now (one
 * freed meanwhile is left out). */
static int pg_copy_picked(const pg_rows *r, const pg_pick *picks,
                          apr_uint32_t n, const pg_locker *locker)
{
    apr_uint32_t i, kept = 0;

    if (locker->lock(locker->baton) != 0) {
        return 0;
    }
    for (i = 0; i < n; i++) {
        const char *row = r->src + (apr_size_t)picks[i].index * r->size;

        if (((const pg_addr *)row)->family) {
            memcpy(r->dst + (apr_size_t)kept++ * r->size, row, r->size);
        }
    }
    locker->unlock(locker->baton);
    return 1;
}

static int pg_copy_heaviest(const pg_rows *r, const pg_locker *locker)
{
    pg_pick picks[PG_SNAPSHOT_TOP];

    return pg_copy_picked(r, picks, pg_pick_heaviest(r, picks), locker);
}

/* The running bans, as many as dst has rows: ban rows are written for
 * readers that take no lock (pg_table_ban_find), so neither does this. */
static void pg_copy_running_bans(pg_table *dst, const pg_table *src,
                                 apr_uint32_t now)
{
    const pg_ban_row *from = pg_table_bans_c(src);
    pg_ban_row *to = pg_table_bans(dst);
    apr_uint32_t i, n = 0;

    for (i = 0; i < src->n_bans && n < dst->n_bans && src->ban_horizon > now;
         i++) {
        if (from[i].addr.family && pg_ban_running(&from[i], now)) {
            to[n++] = from[i];
        }
    }
}

int pg_table_snapshot(pg_table *dst, pg_table *src, apr_uint32_t kind,
                      apr_uint32_t now, const pg_locker *locker)
{
    apr_size_t head = pg_clients_offset(src->n_vhosts);
    apr_uint32_t rows = pg_snapshot_rows(src);
    pg_rows clients, networks;

    /* the header and vhost rows in one piece: the counters agree */
    if (locker->lock(locker->baton) != 0) {
        return 0;
    }
    memcpy(dst, src, head);
    locker->unlock(locker->baton);
    dst->snapshot = kind;
    /* bans are read without the lock anyway (pg_table_ban_find) */
    dst->bans_active = pg_table_bans_active(src, now, &dst->bans_net_active);
    if (kind != PG_SNAPSHOT_DETAILS) {
        return 1;
    }
    dst->n_clients = rows;
    dst->n_bans = pg_ban_rows(rows);
    memset((char *)dst + head, 0, pg_table_bytes(dst->n_vhosts, rows) - head);
    clients.src = (const char *)pg_table_clients(src);
    clients.weights = pg_client_weights(src);
    clients.dst = (char *)pg_table_clients(dst);
    clients.size = sizeof(pg_client_row);
    clients.n = src->n_clients;
    clients.cap = rows < PG_SNAPSHOT_TOP ? rows : PG_SNAPSHOT_TOP;
    networks = clients;
    networks.src = (const char *)pg_table_networks(src);
    networks.weights = pg_network_weights(src);
    networks.dst = (char *)pg_table_networks(dst);
    networks.size = sizeof(pg_network_row);
    if (!pg_copy_heaviest(&clients, locker)
        || !pg_copy_heaviest(&networks, locker)) {
        return 0;
    }
    pg_copy_running_bans(dst, src, now);
    return 1;
}

