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
 * mod_proxyguard_table.c: the shared hit table (pg_table.c) in httpd: the
 * shared memory, its mutex and the policy of when to wait for it.  It
 * knows nothing of requests or bans: mod_proxyguard.c hands it a pg_hit.
 *
 * The block and its mutex are made once, from the process pool, and found
 * again through its userdata at every later start-up pass: so the counters
 * live through graceful and full restarts.  The children inherit both; a
 * global mutex must be reopened in each child (apr_global_mutex_child_init,
 * as mod_ssl's session cache and mod_example_ipc do), here in child_init
 * and in the ban agent.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"
#include "apr_hash.h"
#include "apr_shm.h"
#include "apr_strings.h"

#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"


/* Spare vhost rows, so a restart that adds a vhost or two keeps the table. */
#define PG_VHOST_ROWS_SPARE 16

#define PG_SHARED_KEY "mod_proxyguard-shared"

/* The table and mutex, made once from the process pool and found again at
 * every start-up pass, so counters live through restarts; NULL until
 * post_config has made them. */
typedef struct pg_shared {
    apr_shm_t *shm;
    pg_table *table;
    apr_size_t bytes;
    apr_global_mutex_t *mutex;
} pg_shared;

static pg_shared *pg_shm;

int pg_shm_pre_config(apr_pool_t *pconf)
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

int pg_shm_post_config(server_rec *s, apr_pool_t *ptemp)
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

apr_status_t pg_shm_reopen_mutex(apr_pool_t *p)
{
    return apr_global_mutex_child_init(&pg_shm->mutex,
                                       apr_global_mutex_lockfile(pg_shm->mutex),
                                       p);
}

void pg_shm_child_init(apr_pool_t *pchild, server_rec *s)
{
    apr_status_t rv;

    if (pg_shm == NULL) {
        return;
    }
    if ((rv = pg_shm_reopen_mutex(pchild)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PG_TAG_TABLE_ERROR
                     ": cannot reopen the mutex %s in a child", PG_MUTEX_TYPE);
    }
}

pg_table *pg_shm_table(void)
{
    return pg_shm ? pg_shm->table : NULL;
}

apr_size_t pg_shm_bytes(void)
{
    return pg_shm ? pg_shm->bytes : 0;
}

apr_status_t pg_shm_lock(void)
{
    return apr_global_mutex_lock(pg_shm->mutex);
}

void pg_shm_unlock(void)
{
    apr_global_mutex_unlock(pg_shm->mutex);
}

void pg_shm_count(const pg_hit *hit)
{
    if (pg_shm) {
        pg_table_count(pg_shm->table, hit);
    }
}

/* The exact counters need no lock (pg_shm_count); the per-client detail
 * takes the mutex for a few hundred nanoseconds.
 *
 * A hit that only counts (wait 0: unknown-host under Detect, proxy-header;
 * a flood of requests by IP address is one) takes the mutex only if it is
 * free: the workers must not queue behind each other for detail nobody
 * acts on.  When it is busy, the hit is in the exact counters as always,
 * its detail (client row, recent hits, timeline) and its info line are
 * skipped and counted as details_skipped.  Rejections wait (wait 1): bans
 * and the log budget that fail2ban reads depend on their detail. */
apr_status_t pg_shm_record(const pg_hit *hit, int wait, pg_record_result *res)
{
    apr_status_t rv;

    if (pg_shm == NULL) {
        return APR_SUCCESS;
    }
    if (!wait && pg_table_record_known(pg_shm->table, hit)) {
        return APR_SUCCESS;     /* counted only, from a client it knows */
    }
    rv = wait ? pg_shm_lock() : apr_global_mutex_trylock(pg_shm->mutex);
    if (rv != APR_SUCCESS) {
        res->log = 0;
        apr_atomic_inc32(&pg_shm->table->details_skipped);
        return rv;
    }
    pg_table_record(pg_shm->table, hit, res);
    pg_shm_unlock();
    return APR_SUCCESS;
}

static int pg_snapshot_lock(void *baton)
{
    (void)baton;
    return pg_shm_lock() == APR_SUCCESS ? 0 : -1;
}

static void pg_snapshot_unlock(void *baton)
{
    (void)baton;
    pg_shm_unlock();
}

/* A private copy of the table, so rendering takes no lock; kind is
 * PG_SNAPSHOT_SUMMARY or PG_SNAPSHOT_DETAILS (pg_status_snapshot_kind). */
const pg_table *pg_shm_snapshot(apr_pool_t *p, apr_uint32_t kind)
{
    static const pg_locker locker = { pg_snapshot_lock, pg_snapshot_unlock,
                                      NULL };
    pg_table *copy;

    if (pg_shm == NULL) {
        return NULL;
    }
    copy = apr_palloc(p, pg_table_snapshot_bytes(pg_shm->table, kind));
    if (!pg_table_snapshot(copy, pg_shm->table, kind,
                           (apr_uint32_t)apr_time_sec(apr_time_now()),
                           &locker)) {
        return NULL;
    }
    return copy;
}
