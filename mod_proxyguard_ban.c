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
 * mod_proxyguard_ban.c: bans (ProxyGuardBan) on httpd's shared object cache.
 *
 * Two layers, as mod_ssl's ssl_scache.c has them:
 *  - the store: one ap_socache provider instance per configuration
 *    generation (its code lives in a module httpd unloads and reloads at
 *    each restart), and three calls, put / get / remove, that build the key
 *    (pg_ban_key) and take our mutex for a provider not safe for concurrent
 *    use (AP_SOCACHE_FLAG_NOTMPSAFE: shmcb) in exactly one place each;
 *  - bans: the list in the shared table (pg_table.c) holds every ban this
 *    server knows and answers lookups without a lock; a local store (shmcb)
 *    is refilled from it at each start; a shared store (memcache, redis) is
 *    where bans started on other servers are found.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_provider.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "mod_proxyguard.h"

/* the module's messages: [proxyguard:warn], LogLevel proxyguard:info */
APLOG_USE_MODULE(proxyguard);

#define PG_BAN_STORE_DEFAULT "shmcb"

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
/* The store                                                            */

static const char *pg_store_spec(const pg_global_conf *g)
{
    return g->ban_cache ? g->ban_cache : PG_BAN_STORE_DEFAULT;
}

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

static int pg_store_lock(void)
{
    return !pg_store->local || pg_lock() == APR_SUCCESS;
}

static void pg_store_unlock(void)
{
    if (pg_store->local) {
        pg_unlock();
    }
}

static apr_status_t pg_store_put(const pg_addr *addr, apr_uint32_t until,
                                 apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX], value[16];
    apr_size_t klen = pg_ban_key(key, sizeof(key), addr);
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

/* APR_SUCCESS with *until set, APR_NOTFOUND, or the store's error. */
static apr_status_t pg_store_get(const pg_addr *addr, apr_uint32_t *until,
                                 apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX];
    unsigned char value[16];
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

static apr_status_t pg_store_remove(const pg_addr *addr, apr_pool_t *p)
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

/* A local store starts empty at each start: the bans still running go
 * back in from the table's list, which outlives restarts.  (A shared store
 * keeps its own; refilling it could bring back a ban another server
 * lifted.) */
static void pg_store_refill(apr_pool_t *ptemp)
{
    const pg_ban_row *rows = pg_table_bans(pg_shm->table);
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t i;

    for (i = 0; pg_store->local && i < pg_shm->table->n_bans; i++) {
        if (rows[i].addr.family && rows[i].until > now && !rows[i].lifted) {
            pg_store_put(&rows[i].addr, rows[i].until, ptemp);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Start-up                                                             */

/* check_config, so that `apache2 -t` too refuses a missing provider or bad
 * arguments, whether or not ProxyGuardBan is on. */
int pg_ban_check_config(server_rec *s, apr_pool_t *ptemp)
{
    const pg_global_conf *g = pg_conf_of(s)->global;
    pg_ban_store probe;
    const char *err;

    if (g->ban_hits == PG_UNSET && g->ban_cache == NULL) {
        return OK;
    }
    if ((err = pg_store_open(pg_store_spec(g), ptemp, ptemp, &probe)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE ": %s",
                     err);
        return !OK;
    }
    return OK;
}

/* The store for this generation, from pconf like mod_ssl's session cache. */
int pg_ban_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const pg_global_conf *g = pg_conf_of(s)->global;
    struct ap_socache_hints hints;
    pg_ban_store *store;
    const char *err;
    apr_status_t rv;

    pg_store = NULL;
    if (g->ban_hits == PG_UNSET) {
        return OK;
    }
    store = apr_pcalloc(pconf, sizeof(*store));
    store->server = s;
    if ((err = pg_store_open(apr_pstrdup(pconf, pg_store_spec(g)), ptemp,
                             pconf, store)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE ": %s",
                     err);
        return !OK;
    }
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = PG_BAN_KEY_MAX;
    hints.avg_obj_size = 16;
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
    pg_store_refill(ptemp);
    return OK;
}

/* ------------------------------------------------------------------ */
/* Bans at request time                                                 */

int pg_bans_on(void)
{
    return pg_store != NULL && pg_shm != NULL;
}

int pg_ban_exempt(const request_rec *r)
{
    const apr_array_header_t *exempt = pg_main_conf->global->ban_exempt;
    int i;

    for (i = 0; exempt && i < exempt->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(exempt, i, apr_ipsubnet_t *),
                              r->useragent_addr)) {
            return 1;
        }
    }
    return 0;
}

/* Says once a minute per process, not once per request, that a store call
 * failed and requests pass. */
static void pg_store_failed(request_rec *r, apr_status_t rv, const char *what)
{
    static apr_time_t last;

    if (r->request_time - last > apr_time_from_sec(60)) {
        last = r->request_time;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_BAN_CACHE
                      ": ban cache %s: %s failed; failing open (requests pass)",
                      pg_store->spec, what);
    }
}

/* Is the client banned?
 * - A local store: the ban list in the shared table answers, with no lock
 *   and no lookup; it holds every ban this server started.
 * - A shared store: the store answers, since another server may have
 *   started the ban, or lifted it; the list follows it. */
static int pg_ban_lookup(request_rec *r, const pg_addr *addr)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(r->request_time);
    pg_ban_row *row = pg_table_ban_find(pg_shm->table, addr, now);
    apr_uint32_t until = 0;
    apr_status_t rv;

    if (!pg_store->local) {
        rv = pg_store_get(addr, &until, r->pool);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            pg_store_failed(r, rv, "lookup");
            return 0;           /* fail open */
        }
        if ((rv == APR_NOTFOUND) != (row == NULL) && pg_lock() == APR_SUCCESS) {
            if (rv == APR_NOTFOUND) {
                pg_table_ban_lift(pg_shm->table, addr);     /* lifted elsewhere */
            }
            else {
                pg_table_ban_add(pg_shm->table, addr, now, 0, until, 0);
            }
            pg_unlock();
            row = pg_table_ban_find(pg_shm->table, addr, now);
        }
        if (rv == APR_NOTFOUND) {
            return 0;
        }
    }
    if (row) {
        apr_atomic_inc32(&row->blocked);
    }
    return row != NULL || until > now;
}

int pg_is_banned(request_rec *r)
{
    pg_addr addr;

    if (!pg_bans_on() || pg_ban_exempt(r)) {
        return 0;
    }
    pg_addr_of(r->useragent_addr, &addr);
    return addr.family && pg_ban_lookup(r, &addr);
}

/* A ban has started here (pg_table_record listed it): the store makes it
 * hold on every server using it; logged once. */
void pg_ban_started(request_rec *r, const pg_addr *addr,
                    const pg_record_result *res)
{
    apr_status_t rv = pg_store_put(addr, res->ban_until, r->pool);

    if (rv != APR_SUCCESS) {
        pg_store_failed(r, rv, "store");
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN
                  ": ban start: %u hits in %d s, banned for %d s",
                  res->ban_hits, pg_main_conf->global->ban_window,
                  pg_main_conf->global->ban_duration);
}

/* A ban was due but the list had no free row: running bans are never
 * replaced.  Said once a minute per process; the status page counts them. */
void pg_ban_refused(request_rec *r)
{
    static apr_time_t last;

    if (r->request_time - last > apr_time_from_sec(60)) {
        last = r->request_time;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, PG_TAG_BANS_FULL
                      ": ban list full: this client reached ProxyGuardBan but "
                      "all %u rows its address may use hold running bans; "
                      "retried at its next hit (a larger ProxyGuardTableSize "
                      "makes room)", 2 * PG_BAN_BUCKET);
    }
}

/* Lifts a ban everywhere the store reaches; 0 if none was listed here. */
int pg_ban_lift(request_rec *r, const pg_addr *addr)
{
    int found;

    if (pg_lock() != APR_SUCCESS) {
        return 0;
    }
    found = pg_table_ban_lift(pg_shm->table, addr);
    pg_unlock();
    pg_store_remove(addr, r->pool);
    return found;
}
