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
 * pg_table.c: the shared hit table's layout (one block: the header, then
 * vhost, client, network and ban rows and the rows' weights), the exact
 * counters that need no lock (pg_table_count), the lookup of a client's row
 * and the sums.  See pg_table.h; recording a hit is pg_record.c, the ban
 * list pg_ban.c, the copies for the status page pg_snapshot.c.
 */

#include <stddef.h>
#include <string.h>
#include <arpa/inet.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "pg_ban.h"
#include "pg_table.h"
#include "pg_table_rows.h"

static apr_size_t pg_align8(apr_size_t n)
{
    return (n + 7) & ~(apr_size_t)7;
}

static apr_size_t pg_vhosts_offset(void)
{
    return pg_align8(sizeof(pg_table));
}

apr_size_t pg_clients_offset(apr_uint32_t n_vhosts)
{
    return pg_vhosts_offset() + pg_align8(sizeof(pg_vhost_row) * n_vhosts);
}

static apr_size_t pg_networks_offset(apr_uint32_t n_vhosts,
                                     apr_uint32_t n_clients)
{
    return pg_clients_offset(n_vhosts)
           + pg_align8(sizeof(pg_client_row) * n_clients);
}

/* Ban rows: ProxyGuardTableSize of them, in whole buckets. */
apr_uint32_t pg_ban_rows(apr_uint32_t n_clients)
{
    return (n_clients + PG_BAN_BUCKET - 1) / PG_BAN_BUCKET * PG_BAN_BUCKET;
}

static apr_size_t pg_bans_offset(apr_uint32_t n_vhosts, apr_uint32_t n_clients)
{
    return pg_networks_offset(n_vhosts, n_clients)
           + pg_align8(sizeof(pg_network_row) * n_clients);
}

/* The weights: each client row's total and each network row's hits again,
 * in two arrays of their own (0: the row is free; a used row has had a
 * hit), so that the status page finds the heaviest rows reading 4 bytes a
 * row rather than a row (pg_table_snapshot). */
static apr_size_t pg_weights_offset(apr_uint32_t n_vhosts,
                                    apr_uint32_t n_clients)
{
    return pg_bans_offset(n_vhosts, n_clients)
           + pg_align8(sizeof(pg_ban_row) * pg_ban_rows(n_clients));
}

apr_size_t pg_table_bytes(apr_uint32_t n_vhosts, apr_uint32_t n_clients)
{
    return pg_weights_offset(n_vhosts, n_clients)
           + 2 * pg_align8(sizeof(apr_uint32_t) * n_clients);
}

apr_size_t pg_table_bytes_per_client(void)
{
    return sizeof(pg_client_row) + sizeof(pg_network_row) + sizeof(pg_ban_row)
           + 2 * sizeof(apr_uint32_t);
}

volatile apr_uint32_t *pg_client_weights(const pg_table *t)
{
    return (volatile apr_uint32_t *)((char *)t
                                     + pg_weights_offset(t->n_vhosts,
                                                         t->n_clients));
}

volatile apr_uint32_t *pg_network_weights(const pg_table *t)
{
    return pg_client_weights(t) + pg_align8(sizeof(apr_uint32_t) * t->n_clients)
                                  / sizeof(apr_uint32_t);
}

pg_vhost_row *pg_table_vhosts(pg_table *t)
{
    return (pg_vhost_row *)((char *)t + pg_vhosts_offset());
}

pg_client_row *pg_table_clients(pg_table *t)
{
    return (pg_client_row *)((char *)t + pg_clients_offset(t->n_vhosts));
}

pg_network_row *pg_table_networks(pg_table *t)
{
    return (pg_network_row *)((char *)t + pg_networks_offset(t->n_vhosts,
                                                            t->n_clients));
}

pg_ban_row *pg_table_bans(pg_table *t)
{
    return (pg_ban_row *)((char *)t
                          + pg_bans_offset(t->n_vhosts, t->n_clients));
}

const pg_ban_row *pg_table_bans_c(const pg_table *t)
{
    return pg_table_bans((pg_table *)t);
}

const pg_vhost_row *pg_table_vhosts_c(const pg_table *t)
{
    return pg_table_vhosts((pg_table *)t);
}

const pg_client_row *pg_table_clients_c(const pg_table *t)
{
    return pg_table_clients((pg_table *)t);
}

const pg_network_row *pg_table_networks_c(const pg_table *t)
{
    return pg_table_networks((pg_table *)t);
}

static pg_port_row *pg_port_slot(pg_table *t, unsigned port);

/* Before any hit, so that the mail ports' slots are always there. */
static void pg_claim_mail_ports(pg_table *t)
{
    static const unsigned mail_ports[] = PG_MAIL_PORTS;
    apr_size_t i;

    for (i = 0; i < sizeof(mail_ports) / sizeof(mail_ports[0]); i++) {
        pg_port_slot(t, mail_ports[i]);
    }
}

void pg_table_init(pg_table *t, apr_uint32_t n_vhosts, apr_uint32_t n_clients,
                   apr_time_t now, apr_uint32_t seed)
{
    memset(t, 0, pg_table_bytes(n_vhosts, n_clients));
    t->magic = PG_TABLE_MAGIC;
    t->version = PG_TABLE_VERSION;
    t->reasons = PG_REASON_COUNT;
    t->n_vhosts = n_vhosts;
    t->n_clients = n_clients;
    t->n_bans = pg_ban_rows(n_clients);
    t->capacity_clients = n_clients;
    t->capacity_bans = t->n_bans;
    t->seed = seed;
    t->started = now;
    pg_claim_mail_ports(t);
}

int pg_table_fits(const pg_table *t, apr_size_t bytes, apr_uint32_t n_vhosts,
                  apr_uint32_t n_clients)
{
    return t->magic == PG_TABLE_MAGIC && t->version == PG_TABLE_VERSION
           && t->reasons == PG_REASON_COUNT && t->n_clients == n_clients
           && t->n_vhosts >= n_vhosts
           && bytes >= pg_table_bytes(t->n_vhosts, t->n_clients);
}

/* A vhost row keeps at most PG_VHOST_NAME_MAX - 1 bytes of the name. */
static apr_size_t pg_vhost_name_len(const char *name)
{
    apr_size_t len = strlen(name);

    return len >= PG_VHOST_NAME_MAX ? PG_VHOST_NAME_MAX - 1 : len;
}

int pg_table_vhost_claim(pg_table *t, const char *name)
{
    pg_vhost_row *rows = pg_table_vhosts(t);
    apr_size_t len = pg_vhost_name_len(name);

    if (t->vhosts_used >= t->n_vhosts) {
        return -1;
    }
    memcpy(rows[t->vhosts_used].name, name, len);
    rows[t->vhosts_used].name[len] = '\0';
    return (int)t->vhosts_used++;
}

int pg_table_vhost_row(pg_table *t, const char *name)
{
    pg_vhost_row *rows = pg_table_vhosts(t);
    apr_size_t len = pg_vhost_name_len(name);
    apr_uint32_t i;

    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        if (strncmp(rows[i].name, name, len) == 0
            && rows[i].name[len] == '\0') {
            return (int)i;
        }
    }
    return pg_table_vhost_claim(t, name);
}


/* Lock-free open addressing: a slot is claimed by a CAS of its port from 0;
 * a racing claimer of the same port finds it there and counts in it.
 * NULL when every slot holds another port. */
static pg_port_row *pg_port_slot(pg_table *t, unsigned port)
{
    apr_uint32_t i;

    for (i = 0; i < PG_PORT_SLOTS; i++) {
        pg_port_row *slot = &t->ports[(port + i) % PG_PORT_SLOTS];
        apr_uint32_t seen = apr_atomic_read32(&slot->port);

        if (seen == 0) {
            seen = apr_atomic_cas32(&slot->port, port, 0);
            if (seen == 0) {
                seen = port;
            }
        }
        if (seen == port) {
            return slot;
        }
    }
    return NULL;
}

static void pg_count_port(pg_table *t, unsigned port)
{
    pg_port_row *slot =
        port == 0 || port > 65535 ? NULL : pg_port_slot(t, port);

    apr_atomic_inc32(slot ? &slot->hits : &t->ports_other);
}

void pg_table_count(pg_table *t, const pg_hit *hit)
{
    if (hit->vhost < t->n_vhosts) {
        apr_atomic_inc32(&pg_table_vhosts(t)[hit->vhost]
                             .hits[pg_reason_index(hit->reason)]
                                  [pg_action_index(hit->action)]);
    }
    if (hit->reason == PG_REASON_CONNECT
        || hit->reason == PG_REASON_CONNECT_PORT) {
        pg_count_port(t, hit->connect_port);
    }
}

/* The slot of key's row among n rows (each starting with its pg_addr), in
 * its probe window; n if it has none. */
apr_uint32_t pg_find_row(const pg_addr *key, apr_uint32_t seed,
                         apr_uint32_t n, const void *rows,
                         apr_size_t row_size)
{
    apr_uint32_t start = pg_addr_hash(key, seed) % n;
    apr_uint32_t window = n < PG_PROBE ? n : PG_PROBE;
    apr_uint32_t i;

    for (i = 0; i < window; i++) {
        apr_uint32_t slot = (start + i) % n;
        const pg_addr *addr = (const pg_addr *)((const char *)rows
                                                + row_size * slot);

        if (addr->family && pg_addr_equal(addr, key)) {
            return slot;
        }
    }
    return n;
}

/* The client row of addr, if the table has one (its probe window only). */
pg_client_row *pg_client_find(pg_table *t, const pg_addr *addr)
{
    pg_client_row *rows = pg_table_clients(t);
    apr_uint32_t slot = pg_find_row(addr, t->seed, t->n_clients, rows,
                                    sizeof(*rows));

    return slot < t->n_clients ? &rows[slot] : NULL;
}

/* ------------------------------------------------------------------ */
/* Sums                                                                 */

/* Hits over every vhost row, of one reason and/or one action (-1: all). */
static apr_uint64_t pg_sum(const pg_table *t, int reason, int action)
{
    const pg_vhost_row *rows = pg_table_vhosts_c(t);
    apr_uint64_t sum = 0;
    apr_uint32_t i;
    int r, a;

    for (i = 0; i < t->vhosts_used && i < t->n_vhosts; i++) {
        for (r = 1; r < PG_REASON_COUNT; r++) {
            for (a = 0; a < PG_ACTIONS; a++) {
                if ((reason < 0 || r == reason)
                    && (action < 0 || a == action)) {
                    sum += rows[i].hits[r][a];
                }
            }
        }
    }
    return sum;
}

apr_uint64_t pg_table_reason_total(const pg_table *t, pg_reason reason)
{
    return pg_sum(t, pg_reason_index(reason), -1);
}

apr_uint64_t pg_table_reason_action_total(const pg_table *t, pg_reason reason,
                                          pg_action action)
{
    return pg_sum(t, pg_reason_index(reason), pg_action_index(action));
}

apr_uint64_t pg_table_action_total(const pg_table *t, pg_action action)
{
    return pg_sum(t, -1, pg_action_index(action));
}

apr_uint64_t pg_table_total(const pg_table *t)
{
    return pg_sum(t, -1, -1);
}
