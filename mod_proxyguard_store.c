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
 * mod_proxyguard_store.c: where bans are kept (ProxyGuardBanCache): httpd's
 * shared object cache.
 *
 * Two layers, as mod_ssl's ssl_scache.c has them:
 *  - the store: one ap_socache provider instance per configuration
 *    generation (its code lives in a module httpd unloads and reloads at
 *    each restart), and three calls, put / get / remove, that build the key
 *    (pg_ban_key) and take our mutex for a provider not safe for concurrent
 *    use (AP_SOCACHE_FLAG_NOTMPSAFE: shmcb) in exactly one place each;
 *  - bans: the list in the shared table (pg_table.c) holds every ban this
 *    server knows and answers lookups without a lock.
 *
 * A local store (shmcb) is this machine's own memory: it is written as
 * bans start and refilled from the list at each start.
 *
 * A shared store (memcache, redis) is where bans started on other servers
 * are found, over the network, so a request never talks to it: the request
 * path reads the list, where the store's answers about an address are
 * noted, and an address without a fresh answer (PG_STORE_TTL) is put in a
 * slot for the ban agent and passes meanwhile.  The agent is a process of
 * its own, forked by the parent as mod_cgid forks its daemon, and does all
 * the talking: it asks about the waiting addresses, asks again about
 * listed bans as their answers age (a ban lifted elsewhere ends here too),
 * and tells the store what started or was lifted here.  Each call is
 * bounded (PG_STORE_TIMEOUT): a store that does not answer makes the agent
 * exit, and the parent starts a new one; after a failure nothing is asked
 * for PG_STORE_BACKOFF seconds; PG0012 says so at most once a minute, and
 * PG0015 when the store answers again.  So a ban started on one server
 * holds on every server sharing the store within PG_STORE_TTL seconds
 * (less for an address the server has not seen lately: the agent asks
 * within PG_AGENT_POLL), while the store answers.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_provider.h"
#include "ap_socache.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "pg_ban.h"
#include "mod_proxyguard_private.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_store.h"

#define PG_STORE_LOG_EVERY 60           /* seconds between PG0012 lines */

typedef struct pg_ban_store {
    const char *spec;                   /* provider[:args], for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *server;
    int local;                          /* NOTMPSAFE: this machine's own */
} pg_ban_store;

/* This generation's store; NULL when ProxyGuardBan is off. */
static pg_ban_store *pg_store;

/* ------------------------------------------------------------------ */
/* Opening and closing                                                  */

/* Looks up the provider of spec ("memcache:host:port": provider
 * "memcache", arguments "host:port") and creates an instance from pool.
 * Returns NULL or what is wrong, naming the directive. */
static const char *pg_store_open(const char *spec, apr_pool_t *ptemp,
                                 apr_pool_t *pool, pg_ban_store *store)
{
    char *name = apr_pstrdup(ptemp, spec);
    char *args = ap_strchr(name, ':');
    const char *err;

    if (args) {
        *args++ = '\0';
    }
    store->spec = spec;
    store->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                         AP_SOCACHE_PROVIDER_VERSION);
    if (store->provider == NULL) {
        return apr_psprintf(ptemp, "ProxyGuardBanCache: no shared object cache "
                            "provider '%s' (LoadModule mod_socache_%s)", name,
                            name);
    }
    store->local = (store->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
    err = store->provider->create(&store->instance, args, ptemp, pool);
    return err ? apr_psprintf(ptemp, "ProxyGuardBanCache '%s': %s", spec, err)
               : NULL;
}

/* pconf cleanup: runs before httpd unloads the provider's module. */
static apr_status_t pg_store_destroy(void *data)
{
    pg_ban_store *store = data;

    store->provider->destroy(store->instance, store->server);
    if (pg_store == store) {
        pg_store = NULL;
    }
    return APR_SUCCESS;
}

const char *pg_store_check(const char *spec, apr_pool_t *ptemp)
{
    pg_ban_store probe;

    return pg_store_open(spec, ptemp, ptemp, &probe);
}

/* From pconf, like mod_ssl's session cache: the provider's module is
 * unloaded and loaded again at each restart. */
int pg_store_start(server_rec *s, const char *spec, apr_pool_t *pconf,
                   apr_pool_t *ptemp)
{
    struct ap_socache_hints hints;
    pg_ban_store *store = apr_pcalloc(pconf, sizeof(*store));
    const char *err;
    apr_status_t rv;

    pg_store = NULL;
    store->server = s;
    if ((err = pg_store_open(apr_pstrdup(pconf, spec), ptemp, pconf, store))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE ": %s",
                     err);
        return !OK;
    }
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = PG_BAN_KEY_MAX;
    hints.avg_obj_size = PG_BAN_VALUE_MAX;
    hints.expiry_interval = apr_time_from_sec(60);
    rv = store->provider->init(store->instance, "mod_proxyguard", &hints, s,
                               pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PG_TAG_BAN_CACHE
                     ": ProxyGuardBanCache %s: cannot initialise", store->spec);
        return !OK;
    }
    apr_pool_cleanup_register(pconf, store, pg_store_destroy,
                              apr_pool_cleanup_null);
    pg_store = store;
    return OK;
}

int pg_store_ready(void)
{
    return pg_store != NULL;
}

int pg_store_is_local(void)
{
    return pg_store->local;
}

/* ------------------------------------------------------------------ */
/* Calls: the key built and the mutex taken in one place each           */

static int pg_store_lock(void)
{
    return !pg_store->local || pg_shm_lock() == APR_SUCCESS;
}

static void pg_store_unlock(void)
{
    if (pg_store->local) {
        pg_shm_unlock();
    }
}

apr_status_t pg_store_put_key(const char *key, apr_size_t klen,
                                     apr_uint32_t until, apr_pool_t *p)
{
    char value[PG_BAN_VALUE_MAX];
    apr_size_t vlen = pg_ban_value(value, sizeof(value), until);
    apr_status_t rv;

    if (!pg_store_lock()) {
        return APR_EGENERAL;
    }
    rv = pg_store->provider->store(pg_store->instance, pg_store->server,
                                   (unsigned char *)key, (unsigned int)klen,
                                   apr_time_from_sec(until),
                                   (unsigned char *)value, (unsigned int)vlen,
                                   p);
    pg_store_unlock();
    return rv;
}

apr_status_t pg_store_put(const pg_addr *addr, apr_uint32_t until,
                                 apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX];

    return pg_store_put_key(key, pg_ban_key(key, sizeof(key), addr), until, p);
}

/* APR_SUCCESS with *until set, APR_NOTFOUND, or the store's error. */
apr_status_t pg_store_get(const pg_addr *addr, apr_uint32_t *until,
                                 apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX];
    unsigned char value[PG_BAN_VALUE_MAX];
    unsigned int vlen = sizeof(value);
    apr_size_t klen = pg_ban_key(key, sizeof(key), addr);
    apr_status_t rv;

    if (!pg_store_lock()) {
        return APR_EGENERAL;
    }
    rv = pg_store->provider->retrieve(pg_store->instance, pg_store->server,
                                      (unsigned char *)key, (unsigned int)klen,
                                      value, &vlen, p);
    pg_store_unlock();
    if (rv == APR_SUCCESS && (*until = pg_ban_value_until(value, vlen)) == 0) {
        rv = APR_NOTFOUND;      /* not a value of ours */
    }
    return rv;
}

apr_status_t pg_store_remove(const pg_addr *addr, apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX];
    apr_size_t klen = pg_ban_key(key, sizeof(key), addr);
    apr_status_t rv;

    if (!pg_store_lock()) {
        return APR_EGENERAL;
    }
    rv = pg_store->provider->remove(pg_store->instance, pg_store->server,
                                    (unsigned char *)key, (unsigned int)klen,
                                    p);
    pg_store_unlock();
    return rv;
}

/* A local store starts empty at each start: the bans still running go
 * back in from the table's list, which outlives restarts.  (A shared store
 * keeps its own; refilling it could bring back a ban another server
 * lifted.) */
void pg_store_refill(apr_pool_t *ptemp)
{
    pg_table *t = pg_shm_table();
    const pg_ban_row *rows = pg_table_bans(t);
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t i;

    for (i = 0; pg_store->local && i < t->n_bans; i++) {
        if (rows[i].addr.family && rows[i].until > now && !rows[i].lifted) {
            pg_store_put(&rows[i].addr, rows[i].until, ptemp);
        }
    }
}

/* A failed store call (or one that did not answer): PG0012 says so, at
 * most once a minute for the whole server (the time is in the table,
 * shared by every process).  A shared store counts as down, and nothing is
 * asked for PG_STORE_BACKOFF seconds; a local one is only a copy of the
 * list, which decides, so nothing changes for requests. */
void pg_store_failed(server_rec *s, apr_status_t rv, const char *what)
{
    pg_table *t = pg_shm_table();
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t logged = apr_atomic_read32(&t->store_logged);

    apr_atomic_inc32(&t->store_failures);
    if (!pg_store->local) {
        apr_atomic_cas32(&t->store_down_since, now, 0);
    }
    if (now - logged >= PG_STORE_LOG_EVERY
        && apr_atomic_cas32(&t->store_logged, now, logged) == logged) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, PG_TAG_BAN_CACHE
                     ": ban cache %s: %s failed; %s", pg_store->spec, what,
                     pg_store->local
                     ? "the ban holds: the module's list decides, the cache "
                       "is only its copy"
                     : "failing open: requests pass, bans started elsewhere "
                       "are not seen; asking again in "
                       APR_STRINGIFY(PG_STORE_BACKOFF) " s");
    }
}

/* A call answered: if the store was down, say that it is back. */
void pg_store_answered(server_rec *s)
{
    pg_table *t = pg_shm_table();
    apr_uint32_t since = apr_atomic_read32(&t->store_down_since);

    apr_atomic_inc32(&t->store_calls);
    if (since && apr_atomic_cas32(&t->store_down_since, 0, since) == since) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PG_TAG_BAN_CACHE_BACK
                     ": ban cache %s answers again (down for %u s)",
                     pg_store->spec,
                     (apr_uint32_t)apr_time_sec(apr_time_now()) - since);
    }
}
