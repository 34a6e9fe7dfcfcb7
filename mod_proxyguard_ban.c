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

#include "pg_ban.h"
#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_store.h"
#include "mod_proxyguard_agent.h"
#include "mod_proxyguard_ban.h"

/* This generation's table, taken at post_config (the request path asks
 * for it on every request while bans are on). */
static pg_table *pg_ban_table;

/* A "not banned" remembered for good: until the ban list's generation
 * changes (a local store: the list is the whole truth). */
#define PG_CLEAR_FOR_GOOD 0xffffffffu

/* ------------------------------------------------------------------ */
/* Bans at request time                                                 */

static int pg_ban_exempt(const request_rec *r, const pg_global_conf *g)
{
    return pg_subnets_match(g->ban_exempt, r->useragent_addr);
}

/* Only rejections (or DetectOnly's would-be rejections) lead to bans:
 * unknown-host under Detect and proxy-header are too weak a signal. */
void pg_ban_terms(const request_rec *r, const pg_global_conf *g,
                  const pg_decision *v, pg_hit *hit)
{
    int on = pg_bans_configured(g) && pg_store_ready();

    hit->ban_hits = hit->ban_window = hit->ban_duration = 0;
    if (v->status && on && !pg_ban_exempt(r, g)) {
        hit->ban_hits = (apr_uint32_t)g->ban_hits;
        hit->ban_window = (apr_uint32_t)g->ban_window;
        hit->ban_duration = (apr_uint32_t)g->ban_duration;
    }
    /* the table marks a ban it starts for the agent */
    hit->ban_sync = on && !pg_store_is_local();
}

/* Is the client banned?  The list answers, without a lock and without
 * the network; with a shared store, an address the store was not asked
 * about lately is handed to the agent, and passes until it has asked.
 * *clear_until: until when a "not banned" holds, given the generation
 * does not change (0: not at all).  While the agent asks, that is the rest
 * of this second: its answer, if a ban, changes the generation. */
static int pg_ban_lookup(pg_table *t, const pg_addr *addr, apr_uint32_t now,
                         apr_uint32_t *clear_until)
{
    pg_ban_row *row;

    *clear_until = 0;
    if (pg_store_is_local()) {
        row = pg_table_ban_find(t, addr, now);
        *clear_until = row ? 0 : PG_CLEAR_FOR_GOOD;
    }
    else if (pg_table_client_ban_state(t, addr, now, PG_STORE_TTL, &row,
                                       clear_until) == PG_BAN_STATE_UNKNOWN) {
        *clear_until = now + 1;
    }
    if (row) {
        apr_atomic_inc32(&row->blocked);
    }
    return row != NULL;
}

/* The lookup itself, and what the connection remembers of it (below). */
static PG_NOINLINE int pg_ban_check(request_rec *r, const pg_global_conf *g,
                                    pg_table *t, pg_ban_memo *memo,
                                    apr_uint32_t generation)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(r->request_time);
    apr_uint32_t clear_until = PG_CLEAR_FOR_GOOD;
    pg_addr addr;
    int banned = 0;

    if (!pg_store_ready()) {
        return 0;
    }
    if (!pg_ban_exempt(r, g)) {
        pg_addr_of(r->useragent_addr, &addr);
        banned = addr.family && pg_ban_lookup(t, &addr, now, &clear_until);
    }
    if (memo) {
        memo->generation = generation;
        memo->clear_until = banned ? 0 : clear_until;
    }
    return banned;
}

/* memo: the connection's, or NULL.  It is used for the connection's own
 * address only (not one mod_remoteip gave this request), and read with
 * the generation taken before the lookup it remembers (pg_ban.h).  A
 * request it answers costs a few compares: this runs on every request
 * while ProxyGuardBan is on. */
int pg_is_banned(request_rec *r, const pg_global_conf *g, pg_ban_memo *memo)
{
    pg_table *t = pg_ban_table;
    apr_uint32_t generation;

    if (t == NULL) {
        return 0;
    }
    generation = pg_table_ban_generation(t);
    if (r->useragent_addr != r->connection->client_addr) {
        memo = NULL;
    }
    else if (memo && memo->generation == generation
             && (memo->clear_until == PG_CLEAR_FOR_GOOD
                 || (apr_uint32_t)apr_time_sec(r->request_time)
                    < memo->clear_until)) {
        return 0;
    }
    return pg_ban_check(r, g, t, memo, generation);
}

/* A ban has started here (pg_table_record listed it): a local store gets
 * it now; a shared one from the agent, which pg_table_record has told.
 * Logged once: an address's ban as PG0010, the client's /64's as PG0016
 * (a line of its own, which names the network: the fail2ban filter takes
 * the client of PG0010 lines only, and must not ban this one address for
 * the network's ban). */
void pg_ban_started(request_rec *r, const pg_global_conf *g,
                    const pg_record_result *res)
{
    char net[PG_CLIENT_TEXT_MAX];
    apr_status_t rv;

    if (pg_store_is_local()
        && (rv = pg_store_put(&res->ban_key, res->ban_until, r->pool))
           != APR_SUCCESS) {
        pg_store_failed(r->server, rv, "store");
    }
    if (pg_addr_is_net(&res->ban_key)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN_NET
                      ": network ban start: %s (ProxyGuardBanNet6 %d), "
                      "banned for %d s",
                      pg_addr_format(net, sizeof(net), &res->ban_key),
                      g->ban_net6, g->ban_duration);
        return;
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN
                  ": ban start: %u hits in %d s, banned for %d s",
                  res->ban_hits, g->ban_window, g->ban_duration);
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
 * agent). */
pg_lift pg_ban_lift(request_rec *r, const pg_addr *addr)
{
    pg_table *t = pg_ban_table;
    apr_status_t rv;
    int found;

    if (t == NULL || !pg_store_ready()) {
        return PG_LIFT_FAILED;
    }
    if ((rv = pg_shm_lock()) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_TABLE_ERROR
                      ": cannot lock %s; no ban lifted", PG_MUTEX_TYPE);
        return PG_LIFT_FAILED;
    }
    found = pg_table_ban_lift(t, addr);
    if (!pg_store_is_local()) {
        pg_table_ban_mark_sync(t, addr,
                               (apr_uint32_t)apr_time_sec(r->request_time),
                               PG_SYNC_REMOVE);
    }
    pg_shm_unlock();
    if (pg_store_is_local()) {
        pg_store_remove(addr, r->pool);
    }
    return found ? PG_LIFT_LIFTED : PG_LIFT_NOT_LISTED;
}

/* ------------------------------------------------------------------ */
/* Start-up                                                             */

/* check_config, so that `apache2 -t` too refuses a missing provider or bad
 * arguments, whether or not ProxyGuardBan is on. */
int pg_ban_check_config(server_rec *s, apr_pool_t *ptemp)
{
    const pg_global_conf *g = pg_conf_of(s)->global;
    const char *err;

    if (!pg_bans_configured(g) && !g->ban_cache_given) {
        return OK;
    }
    if ((err = pg_store_check(g->ban_cache, ptemp)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE ": %s",
                     err);
        return !OK;
    }
    return OK;
}

/* This generation's store; and its agent, for a shared store. */
int pg_ban_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const pg_global_conf *g = pg_conf_of(s)->global;

    pg_ban_table = pg_shm_table();
    if (!pg_bans_configured(g)) {
        return OK;
    }
    /* the parent, before any child: the table outlives restarts, the
     * setting is this generation's */
    pg_ban_table->ban_net6 = (apr_uint32_t)g->ban_net6;
    if (pg_store_start(s, g->ban_cache, pconf, ptemp) != OK) {
        return !OK;
    }
    if (pg_store_is_local()) {
        pg_store_refill(ptemp);
    }
    else {
        pg_agent_start(s, pconf, (apr_uint32_t)g->ban_duration);
    }
    return OK;
}
