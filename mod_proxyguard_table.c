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
 * mod_proxyguard_table.c: the shared hit table (pg_table.c) in httpd.
 *
 * The block and its mutex are made once, from the process pool, and found
 * again through its userdata at every later start-up pass: so the counters
 * live through graceful and full restarts.  The children inherit both; the
 * mutex (Mutex proxyguard-shm) is re-opened in child_init, as
 * mod_slotmem_shm and mod_example_ipc do.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_atomic.h"
#include "apr_hash.h"
#include "apr_strings.h"

#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_ban.h"


/* Spare vhost rows, so a restart that adds a vhost or two keeps the table. */
#define PG_VHOST_ROWS_SPARE 16

#define PG_SHARED_KEY "mod_proxyguard-shared"

pg_shared *pg_shm;

int pg_table_pre_config(apr_pool_t *pconf)
{
    /* the Mutex directive can tune it: Mutex fcntl:/run/lock proxyguard-shm */
    return ap_mutex_register(pconf, PG_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0)
           == APR_SUCCESS ? OK : !OK;
}

static apr_uint32_t pg_count_servers(const server_rec *s)
{
    apr_uint32_t n = 0;

    for (; s; s = s->next) {
        n++;
    }
    return n;
}

/* Give every vhost its row, by ServerName (vhosts sharing a name share the
 * row), through a hash of the rows already in use: linear in the number of
 * vhosts, at every start and restart.  Returns 0 when no row is left. */
static int pg_assign_vhost_rows(server_rec *s, pg_table *table,
                                apr_pool_t *ptemp)
{
    apr_hash_t *rows = apr_hash_make(ptemp);
    const pg_vhost_row *used = pg_table_vhosts(table);
    apr_uint32_t i;

    for (i = 0; i < table->vhosts_used && i < table->n_vhosts; i++) {
        apr_hash_set(rows, used[i].name, APR_HASH_KEY_STRING,
                     (void *)(apr_uintptr_t)(i + 1));
    }
    for (; s; s = s->next) {
        char name[PG_VHOST_NAME_MAX];
        apr_uintptr_t row;

        apr_cpystrn(name, s->server_hostname ? s->server_hostname : "",
                    sizeof(name));
        row = (apr_uintptr_t)apr_hash_get(rows, name, APR_HASH_KEY_STRING);
        if (row == 0) {
            int claimed = pg_table_vhost_claim(table, name);

            if (claimed < 0) {
                return 0;
            }
            row = (apr_uintptr_t)claimed + 1;
            apr_hash_set(rows, apr_pstrdup(ptemp, name), APR_HASH_KEY_STRING,
                         (void *)row);
        }
        pg_conf_of(s)->vhost_row = (int)(row - 1);
    }
    return 1;
}

static apr_status_t pg_table_create(pg_shared *shared, server_rec *s,
                                    apr_uint32_t n_vhosts,
                                    apr_uint32_t n_clients)
{
    apr_size_t bytes = pg_table_bytes(n_vhosts, n_clients);
    apr_uint32_t seed = 0;
    apr_status_t rv;

    if (shared->shm) {
        /* children of an earlier generation keep their own mapping */
        apr_shm_destroy(shared->shm);
        shared->shm = NULL;
        shared->table = NULL;
    }
    rv = apr_shm_create(&shared->shm, bytes, NULL, s->process->pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    apr_generate_random_bytes((unsigned char *)&seed, sizeof(seed));
    shared->table = apr_shm_baseaddr_get(shared->shm);
    shared->bytes = bytes;
    pg_table_init(shared->table, n_vhosts, n_clients, apr_time_now(), seed);
    return APR_SUCCESS;
}

/* Keep the table across restarts when its layout still fits the
 * configuration; otherwise start a new one (and say so). */
static int pg_table_setup(pg_shared *shared, server_rec *s, apr_pool_t *ptemp)
{
    apr_uint32_t n_clients = (apr_uint32_t)pg_conf_of(s)->global->table_size;
    apr_uint32_t n_vhosts = pg_count_servers(s);
    apr_status_t rv;

    if (shared->table
        && pg_table_fits(shared->table, shared->bytes, n_vhosts, n_clients)
        && pg_assign_vhost_rows(s, shared->table, ptemp)) {
        shared->table->restarts++;
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PG_TAG_TABLE
                     ": keeping the hit table across the restart (%u so far)",
                     shared->table->restarts);
        return OK;
    }
    rv = pg_table_create(shared, s, n_vhosts + PG_VHOST_ROWS_SPARE, n_clients);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PG_TAG_TABLE_ERROR
                     ": cannot create the shared hit table (%" APR_SIZE_T_FMT
                     " bytes)", pg_table_bytes(n_vhosts, n_clients));
        return !OK;
    }
    pg_assign_vhost_rows(s, shared->table, ptemp);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PG_TAG_TABLE
                 ": hit table of %" APR_SIZE_T_FMT " bytes: %u client "
                 "addresses and %u ban rows (ProxyGuardTableSize), %u vhost "
                 "rows", shared->bytes, n_clients, shared->table->n_bans,
                 shared->table->n_vhosts);
    return OK;
}

int pg_table_post_config(server_rec *s, apr_pool_t *ptemp)
{
    pg_shared *shared = NULL;
    apr_status_t rv;

    apr_pool_userdata_get((void **)&shared, PG_SHARED_KEY, s->process->pool);
    if (shared == NULL) {
        shared = apr_pcalloc(s->process->pool, sizeof(*shared));
        rv = ap_global_mutex_create(&shared->mutex, NULL, PG_MUTEX_TYPE, NULL,
                                    s, s->process->pool, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PG_TAG_TABLE_ERROR
                         ": cannot create the mutex %s", PG_MUTEX_TYPE);
            return !OK;
        }
        apr_pool_userdata_set(shared, PG_SHARED_KEY, apr_pool_cleanup_null,
                              s->process->pool);
    }
    if (pg_table_setup(shared, s, ptemp) != OK) {
        return !OK;
    }
    pg_shm = shared;
    return OK;
}

void pg_table_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (pg_shm == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&pg_shm->mutex,
                                     apr_global_mutex_lockfile(pg_shm->mutex),
                                     pchild);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PG_TAG_TABLE_ERROR
                     ": cannot reopen the mutex %s in a child", PG_MUTEX_TYPE);
    }
}

apr_status_t pg_lock(void)
{
    return apr_global_mutex_lock(pg_shm->mutex);
}

void pg_unlock(void)
{
    apr_global_mutex_unlock(pg_shm->mutex);
}

void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
#if APR_HAVE_IPV6
    if (sa && sa->family == APR_INET6) {
        pg_addr_from_bytes(addr, 1, sa->ipaddr_ptr);
        return;
    }
#endif
    if (sa && sa->family == APR_INET) {
        pg_addr_from_bytes(addr, 0, sa->ipaddr_ptr);
    }
}

/* The exact counters need no lock; the per-client detail takes the mutex
 * for a few hundred nanoseconds.  Only hits get here.  loggable: the hit's
 * log line would be written (only those spend the log budget).
 *
 * A hit that only counts (unknown-host under Detect, proxy-header: a flood
 * of requests by IP address is one) takes the mutex only if it is free: the
 * workers must not queue behind each other for detail nobody acts on.
 * When it is busy, the hit is in the exact counters as always, its detail
 * (client row, recent hits, timeline) and its info line are skipped and
 * counted as details_skipped.  Rejections always wait: bans and the log
 * budget that fail2ban reads depend on their detail. */
void pg_count_hit(request_rec *r, const pg_verdict *v, int loggable,
                  pg_record_result *res)
{
    const pg_global_conf *g = pg_main_conf->global;
    pg_hit hit;
    apr_status_t rv;

    memset(res, 0, sizeof(*res));
    res->log = loggable;        /* unless the table says otherwise */
    if (pg_shm == NULL) {
        return;
    }
    hit.vhost = (apr_uint32_t)pg_conf_of(r->server)->vhost_row;
    hit.reason = v->reason;
    hit.action = v->action;
    pg_addr_of(r->useragent_addr, &hit.addr);
    hit.client = r->useragent_ip;
    /* the port as pg_decide reads it: apr's would wrap 65561 to 25 */
    hit.connect_port = r->method_number == M_CONNECT
                       ? pg_connect_port((pg_span){ r->unparsed_uri,
                                                    strlen(r->unparsed_uri) })
                       : 0;
    hit.method = r->method;
    hit.target = r->unparsed_uri;
    hit.host = pg_request_header(r, "host", 4);
    hit.now = r->request_time;
    /* only rejections (or DetectOnly's would-be rejections) lead to bans:
     * unknown-host under Detect and proxy-header are too weak a signal */
    hit.ban_hits = hit.ban_window = hit.ban_duration = 0;
    if (v->status && pg_bans_on() && !pg_ban_exempt(r)) {
        hit.ban_hits = (apr_uint32_t)g->ban_hits;
        hit.ban_window = (apr_uint32_t)g->ban_window;
        hit.ban_duration = (apr_uint32_t)g->ban_duration;
    }
    hit.ban_sync = pg_ban_store_shared();
    hit.log_lines = (apr_uint32_t)g->log_lines;
    hit.log_window = (apr_uint32_t)g->log_window;
    hit.loggable = loggable;

    pg_table_count(pg_shm->table, &hit);
    if (v->reason == PG_REASON_BANNED) {
        res->log = 0;
        return;         /* a banned flood takes no lock */
    }
    if (!v->status && pg_table_record_known(pg_shm->table, &hit)) {
        return;         /* counted only, from a client the table knows */
    }
    rv = v->status ? pg_lock() : apr_global_mutex_trylock(pg_shm->mutex);
    if (rv != APR_SUCCESS) {
        res->log = 0;
        apr_atomic_inc32(&pg_shm->table->details_skipped);
        if (!APR_STATUS_IS_EBUSY(rv)) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_TABLE_ERROR
                          ": cannot lock %s; hit counted, details skipped",
                          PG_MUTEX_TYPE);
        }
        return;
    }
    pg_table_record(pg_shm->table, &hit, res);
    pg_unlock();
    if (res->ban_hits) {
        pg_ban_started(r, &hit.addr, res);
    }
    else if (res->ban_refused) {
        pg_ban_refused(r);
    }
}

static int pg_snapshot_lock(void *baton)
{
    (void)baton;
    return pg_lock() == APR_SUCCESS ? 0 : -1;
}

static void pg_snapshot_unlock(void *baton)
{
    (void)baton;
    pg_unlock();
}

/* A private copy of the table, so rendering takes no lock; kind is
 * PG_SNAPSHOT_SUMMARY or PG_SNAPSHOT_DETAILS (pg_status_snapshot_kind). */
const pg_table *pg_snapshot(apr_pool_t *p, int kind)
{
    static const pg_locker locker = { pg_snapshot_lock, pg_snapshot_unlock,
                                      NULL };
    pg_table *copy;

    if (pg_shm == NULL) {
        return NULL;
    }
    copy = apr_palloc(p, pg_table_snapshot_bytes(pg_shm->table,
                                                 (apr_uint32_t)kind));
    if (!pg_table_snapshot(copy, pg_shm->table, (apr_uint32_t)kind,
                           (apr_uint32_t)apr_time_sec(apr_time_now()),
                           &locker)) {
        return NULL;
    }
    return copy;
}
