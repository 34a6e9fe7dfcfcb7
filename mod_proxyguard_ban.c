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
 * mod_proxyguard_ban.c: bans (ProxyGuardBan) at request time, and their
 * start-up: the store (mod_proxyguard_store.c) and, for a shared one, the
 * agent (mod_proxyguard_agent.c).
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "apr_atomic.h"
#include "apr_strings.h"

#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_store.h"
#include "mod_proxyguard_agent.h"
#include "mod_proxyguard_ban.h"

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

/* Is the client banned?  The list answers, without a lock and without
 * the network; with a shared store, an address the store was not asked
 * about lately is handed to the agent, and passes until it has asked.
 * *clear_until: until when a "not banned" holds, given the generation
 * does not change (0: not at all).  While the agent asks, that is the rest
 * of this second: its answer, if a ban, changes the generation. */
static int pg_ban_lookup(const pg_addr *addr, apr_uint32_t now,
                         apr_uint32_t *clear_until)
{
    pg_table *t = pg_shm->table;
    pg_ban_row *row;

    *clear_until = 0;
    if (pg_store->local) {
        row = pg_table_ban_find(t, addr, now);
        *clear_until = row ? 0 : 0xffffffffu;
    }
    else if (pg_table_ban_state(t, addr, now, PG_STORE_TTL, &row,
                                clear_until) == PG_BAN_STATE_UNKNOWN) {
        pg_table_check_request(t, addr);
        *clear_until = now + 1;
    }
    if (row) {
        apr_atomic_inc32(&row->blocked);
    }
    return row != NULL;
}

/* The lookup itself, and what the connection remembers of it (below). */
static PG_NOINLINE int pg_ban_check(request_rec *r, pg_ban_memo *memo,
                                     apr_uint32_t generation)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(r->request_time);
    apr_uint32_t clear_until = 0xffffffffu;
    pg_addr addr;
    int banned = 0;

    if (!pg_bans_on()) {
        return 0;
    }
    if (!pg_ban_exempt(r)) {
        pg_addr_of(r->useragent_addr, &addr);
        banned = addr.family && pg_ban_lookup(&addr, now, &clear_until);
    }
    if (memo) {
        memo->generation = generation;
        memo->clear_until = banned ? 0 : clear_until;
    }
    return banned;
}

/* memo: the connection's, or NULL.  It is used for the connection's own
 * address only (not one mod_remoteip gave this request), and read with
 * the generation taken before the lookup it remembers (pg_table.h).  A
 * request it answers costs a few compares: this runs on every request. */
int pg_is_banned(request_rec *r, pg_ban_memo *memo)
{
    apr_uint32_t generation;

    if (pg_shm == NULL) {
        return 0;
    }
    generation = pg_table_ban_generation(pg_shm->table);
    if (r->useragent_addr != r->connection->client_addr) {
        memo = NULL;
    }
    else if (memo && memo->generation == generation
             && (memo->clear_until == 0xffffffffu
                 || (apr_uint32_t)apr_time_sec(r->request_time)
                    < memo->clear_until)) {
        return 0;
    }
    return pg_ban_check(r, memo, generation);
}

/* Whether the table must mark a ban it starts for the agent. */
int pg_ban_store_shared(void)
{
    return pg_bans_on() && !pg_store->local;
}

/* A ban has started here (pg_table_record listed it): a local store gets
 * it now; a shared one from the agent, which pg_table_record has told.
 * Logged once. */
void pg_ban_started(request_rec *r, const pg_addr *addr,
                    const pg_record_result *res)
{
    apr_status_t rv;

    if (pg_store->local
        && (rv = pg_store_put(addr, res->ban_until, r->pool)) != APR_SUCCESS) {
        pg_store_failed(r->server, rv, "store");
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

/* Lifts a ban everywhere the store reaches (a shared store through the
 * agent); 0 if none was listed here. */
int pg_ban_lift(request_rec *r, const pg_addr *addr)
{
    int found;

    if (pg_lock() != APR_SUCCESS) {
        return 0;
    }
    found = pg_table_ban_lift(pg_shm->table, addr);
    if (!pg_store->local) {
        pg_table_ban_mark_sync(pg_shm->table, addr,
                               (apr_uint32_t)apr_time_sec(r->request_time),
                               PG_SYNC_REMOVE);
    }
    pg_unlock();
    if (pg_store->local) {
        pg_store_remove(addr, r->pool);
    }
    return found;
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
    pg_bans_enabled = 0;
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
    pg_bans_enabled = 1;
    if (store->local) {
        pg_store_refill(ptemp);
    }
    else {
        pg_agent_pool = pconf;
        pg_agent_server = s;
        pg_agent_start();
    }
    return OK;
}

