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

#include <signal.h>
#include <sys/time.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "ap_provider.h"
#include "mod_unixd.h"
#include "apr_atomic.h"
#include "apr_signal.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "mod_proxyguard.h"

/* the module's messages: [proxyguard:warn], LogLevel proxyguard:info */
APLOG_USE_MODULE(proxyguard);

#define PG_BAN_STORE_DEFAULT "shmcb"

/* The shared store, seen from here (see the comment at the top). */
#define PG_STORE_TTL      5             /* seconds an answer is fresh */
#define PG_STORE_TIMEOUT  1             /* seconds a call may take */
#define PG_STORE_BACKOFF  10            /* seconds not asking after a failure */
#define PG_STORE_LOG_EVERY 60           /* seconds between PG0012 lines */
#define PG_AGENT_POLL     apr_time_from_msec(100)
#define PG_AGENT_EXIT_HUNG 75           /* the agent's status: a call hung */
#define PG_AGENT_EXIT_SETUP 76          /* ... it could not become a child */

typedef struct pg_ban_store {
    const char *spec;                   /* provider[:args], for messages */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    server_rec *server;
    int local;                          /* NOTMPSAFE: this machine's own */
} pg_ban_store;

/* This generation's store; NULL when ProxyGuardBan is off. */
static pg_ban_store *pg_store;

/* For the request path: is there a store at all? */
int pg_bans_enabled;

/* The ban agent, in the parent: its process, and where to start another. */
static apr_pool_t *pg_agent_pool;
static server_rec *pg_agent_server;

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

static apr_status_t pg_store_put_key(const char *key, apr_size_t klen,
                                     apr_uint32_t until, apr_pool_t *p)
{
    char value[16];
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

static apr_status_t pg_store_put(const pg_addr *addr, apr_uint32_t until,
                                 apr_pool_t *p)
{
    char key[PG_BAN_KEY_MAX];

    return pg_store_put_key(key, pg_ban_key(key, sizeof(key), addr), until, p);
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
        pg_bans_enabled = 0;
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

/* A failed store call (or one that did not answer): PG0012 says so, at
 * most once a minute for the whole server (the time is in the table,
 * shared by every process).  A shared store counts as down, and nothing is
 * asked for PG_STORE_BACKOFF seconds; a local one is only a copy of the
 * list, which decides, so nothing changes for requests. */
static void pg_store_failed(server_rec *s, apr_status_t rv, const char *what)
{
    pg_table *t = pg_shm->table;
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
static void pg_store_answered(server_rec *s)
{
    pg_table *t = pg_shm->table;
    apr_uint32_t since = apr_atomic_read32(&t->store_down_since);

    apr_atomic_inc32(&t->store_calls);
    if (since && apr_atomic_cas32(&t->store_down_since, 0, since) == since) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, PG_TAG_BAN_CACHE_BACK
                     ": ban cache %s answers again (down for %u s)",
                     pg_store->spec,
                     (apr_uint32_t)apr_time_sec(apr_time_now()) - since);
    }
}

/* ------------------------------------------------------------------ */
/* The ban agent (a shared store only)                                  */

static void pg_agent_hung(int sig)
{
    (void)sig;
    _exit(PG_AGENT_EXIT_HUNG);  /* the parent says why and starts another */
}

static void pg_agent_alarm(long usec)
{
    struct itimerval it;

    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = usec / 1000000;
    it.it_value.tv_usec = usec % 1000000;
    setitimer(ITIMER_REAL, &it, NULL);
}

typedef enum pg_store_op {
    PG_STORE_GET,
    PG_STORE_PUT,
    PG_STORE_REMOVE,
    PG_STORE_HEARTBEAT
} pg_store_op;

#define PG_HEARTBEAT_KEY "pgban:heartbeat"

static apr_status_t pg_agent_call_once(apr_pool_t *p, pg_store_op op,
                                       const pg_addr *addr,
                                       apr_uint32_t *until)
{
    apr_status_t rv;

    pg_agent_alarm(PG_STORE_TIMEOUT * 1000000L);
    rv = op == PG_STORE_GET ? pg_store_get(addr, until, p)
       : op == PG_STORE_PUT ? pg_store_put(addr, *until, p)
       : op == PG_STORE_REMOVE ? pg_store_remove(addr, p)
       : pg_store_put_key(PG_HEARTBEAT_KEY, sizeof(PG_HEARTBEAT_KEY) - 1,
                          *until, p);
    pg_agent_alarm(0);
    /* a put finds nothing only when the client has no live server left */
    return rv == APR_NOTFOUND && (op == PG_STORE_PUT || op == PG_STORE_HEARTBEAT)
           ? APR_EGENERAL : rv;
}

/* One call to the store, each try at most PG_STORE_TIMEOUT seconds long.
 * A failure is tried once more at once: a connection kept from before the
 * store restarted fails the first call made on it.  After a failure, the
 * clients (apr_memcache, apr_redis) may take their server for dead and
 * answer "not found" without asking it: on the second try that is a
 * failure, never "not banned". */
static apr_status_t pg_agent_call(server_rec *s, apr_pool_t *p, pg_store_op op,
                                  const pg_addr *addr, apr_uint32_t *until)
{
    static const char *const what[] = { "lookup", "store", "remove",
                                        "store (heartbeat)" };
    apr_status_t rv = pg_agent_call_once(p, op, addr, until);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        rv = pg_agent_call_once(p, op, addr, until);
        rv = rv == APR_NOTFOUND ? APR_EGENERAL : rv;
    }
    if (rv == APR_NOTFOUND) {
        rv = op == PG_STORE_REMOVE ? APR_SUCCESS : rv;
    }
    if (rv == APR_SUCCESS || rv == APR_NOTFOUND) {
        pg_store_answered(s);
    }
    else {
        pg_store_failed(s, rv, what[op]);
    }
    return rv;
}

/* Is the store there?  A lookup that finds nothing cannot tell: apr_memcache
 * and apr_redis say "not found" when they have no live server.  A put can:
 * the agent puts a key of its own, at most once a second, before it trusts
 * a "not found". */
static int pg_agent_alive(server_rec *s, apr_pool_t *p, apr_uint32_t now,
                          apr_uint32_t *alive_at)
{
    apr_uint32_t until = now + PG_STORE_TTL;

    if (*alive_at == now) {
        return 1;
    }
    if (pg_agent_call(s, p, PG_STORE_HEARTBEAT, NULL, &until) != APR_SUCCESS) {
        return 0;
    }
    *alive_at = now;
    return 1;
}

/* Asks about addr, and notes the answer in the list.  Returns 0 when
 * the store gave none. */
static int pg_agent_ask(server_rec *s, apr_pool_t *p, const pg_addr *addr,
                        apr_uint32_t now)
{
    apr_uint32_t until = 0;
    apr_status_t rv = pg_agent_call(s, p, PG_STORE_GET, addr, &until);

    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        return 0;
    }
    if (pg_lock() == APR_SUCCESS) {
        pg_table_check_answer(pg_shm->table, addr, now,
                              rv == APR_SUCCESS ? until : 0);
        pg_unlock();
    }
    return 1;
}

/* Bans started or lifted here, told to the store. */
static int pg_agent_sync(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_table *t = pg_shm->table;
    pg_ban_row *rows = pg_table_bans(t);
    apr_uint32_t i;

    if (!apr_atomic_read32(&t->sync_pending)) {
        return 1;
    }
    apr_atomic_set32(&t->sync_pending, 0);      /* a later mark raises it */
    for (i = 0; i < t->n_bans; i++) {
        /* the mark read once: the one told is the one cleared (a lift
         * marked while a put is on its way is told at the next pass) */
        apr_uint32_t mark = rows[i].sync, op = mark, until = rows[i].until;
        pg_addr addr = rows[i].addr;

        if (op == PG_SYNC_NONE || !addr.family) {
            continue;
        }
        if (op == PG_SYNC_PUT && until <= now) {
            op = PG_SYNC_NONE;  /* over before the store heard of it */
        }
        else if (pg_agent_call(s, p, op == PG_SYNC_PUT ? PG_STORE_PUT
                                                       : PG_STORE_REMOVE,
                               &addr, &until) != APR_SUCCESS) {
            apr_atomic_set32(&t->sync_pending, 1);
            return 0;
        }
        if (pg_lock() == APR_SUCCESS) {
            pg_table_ban_synced(t, &addr, mark);
            pg_unlock();
        }
    }
    return 1;
}

/* The addresses requests are waiting to hear about. */
static int pg_agent_checks(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_addr addr;

    while (pg_table_check_take(pg_shm->table, &addr)) {
        if (!pg_agent_ask(s, p, &addr, now)) {
            return 0;
        }
    }
    return 1;
}

/* Listed bans whose answer has aged: still banned in the store? */
static int pg_agent_recheck(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_table *t = pg_shm->table;
    const pg_ban_row *rows = pg_table_bans(t);
    apr_uint32_t i;

    if (apr_atomic_read32(&t->ban_horizon) <= now) {
        return 1;
    }
    for (i = 0; i < t->n_bans; i++) {
        pg_addr addr = rows[i].addr;

        if (addr.family && rows[i].until > now && !rows[i].lifted
            && rows[i].sync == PG_SYNC_NONE
            && now - rows[i].checked >= PG_STORE_TTL
            && !pg_agent_ask(s, p, &addr, now)) {
            return 0;
        }
    }
    return 1;
}

/* Anything to tell or ask?  (With nothing, the store is left alone.) */
static int pg_agent_has_work(pg_table *t, apr_uint32_t now)
{
    apr_uint32_t i;

    if (apr_atomic_read32(&t->sync_pending)
        || apr_atomic_read32(&t->ban_horizon) > now) {
        return 1;
    }
    for (i = 0; i < PG_PENDING_MAX; i++) {
        if (apr_atomic_read32(&t->pending[i].state) == PG_PENDING_READY) {
            return 1;
        }
    }
    return 0;
}

/* Tell, ask, and once a second ask again; 0 after a failure. */
static int pg_agent_pass(server_rec *s, apr_pool_t *p, apr_uint32_t now,
                         apr_uint32_t *alive_at, apr_uint32_t *rechecked_at)
{
    if (!pg_agent_alive(s, p, now, alive_at) || !pg_agent_sync(s, p, now)
        || !pg_agent_checks(s, p, now)) {
        return 0;
    }
    if (*rechecked_at == now) {
        return 1;
    }
    *rechecked_at = now;
    return pg_agent_recheck(s, p, now);
}

/* Every PG_AGENT_POLL: tell, ask; ask again about listed bans once a
 * second (a walk of the whole list; answers age in PG_STORE_TTL seconds);
 * after a failure (or, for a new agent, while the store counts as down)
 * nothing for PG_STORE_BACKOFF seconds. */
static void pg_agent_loop(server_rec *s, pid_t parent)
{
    pg_table *t = pg_shm->table;
    apr_uint32_t next_try = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t alive_at = 0, rechecked_at = 0;
    apr_pool_t *p;

    if (apr_atomic_read32(&t->store_down_since)) {
        next_try += PG_STORE_BACKOFF;
    }
    apr_pool_create(&p, NULL);
    while (getppid() == parent) {
        apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());

        if (now >= next_try && pg_agent_has_work(t, now)
            && !pg_agent_pass(s, p, now, &alive_at, &rechecked_at)) {
            next_try = now + PG_STORE_BACKOFF;
        }
        apr_pool_clear(p);
        apr_sleep(PG_AGENT_POLL);
    }
    _exit(0);                   /* the parent is gone */
}

/* The agent process: no listeners, the children's identity, default
 * signals but for the alarm that bounds a call. */
static void pg_agent_main(server_rec *s, pid_t parent, apr_pool_t *pool)
{
    apr_signal(SIGTERM, SIG_DFL);
    apr_signal(SIGHUP, SIG_DFL);
    apr_signal(SIGUSR1, SIG_DFL);
    apr_signal(SIGINT, SIG_DFL);
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGPIPE, SIG_IGN);
    apr_signal(SIGALRM, pg_agent_hung);
    ap_close_listeners();
    if (ap_unixd_setup_child() != 0
        || apr_global_mutex_child_init(&pg_shm->mutex,
                                       apr_global_mutex_lockfile(pg_shm->mutex),
                                       pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PG_TAG_BAN_CACHE
                     ": the ban agent cannot take the children's identity "
                     "or the table's mutex");
        _exit(PG_AGENT_EXIT_SETUP);
    }
    pg_agent_loop(s, parent);
}

/* One agent: its process, and a pool of its own for what the parent
 * keeps of it, given back when it ends (a store that keeps hanging starts
 * agents all day long). */
typedef struct pg_agent {
    apr_proc_t proc;
    apr_pool_t *pool;
} pg_agent;

static void pg_agent_start(void);

/* The parent hears of the agent's end: another is started unless httpd is
 * stopping; a hung call is said as the store failing. */
static void pg_agent_maintenance(int reason, void *data, apr_wait_t status)
{
    pg_agent *agent = data;
    int state = AP_MPMQ_STOPPING;

    /* APR_OC_REASON_UNREGISTER comes from within APR's own unregistering
     * (the agent's pool going with pconf, which also kills the agent):
     * nothing to do */
    if (reason == APR_OC_REASON_UNREGISTER) {
        return;
    }
    if (reason != APR_OC_REASON_DEATH && reason != APR_OC_REASON_LOST) {
        return;
    }
    apr_proc_other_child_unregister(agent);
    /* reaped already: the pool's note of the process kills nothing */
    apr_pool_destroy(agent->pool);
    /* the MPMs hand over the exit code, as mod_cgid's daemon knows */
    if (status == PG_AGENT_EXIT_HUNG) {
        pg_store_failed(pg_agent_server, APR_TIMEUP, "a call (no answer "
                        "within " APR_STRINGIFY(PG_STORE_TIMEOUT) " s)");
    }
    if (status == PG_AGENT_EXIT_SETUP) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, pg_agent_server,
                     PG_TAG_BAN_CACHE ": the ban agent could not start, and "
                     "is not started again before httpd restarts; until then "
                     "bans started elsewhere are not seen here, nor ours "
                     "there");
        return;
    }
    if (ap_mpm_query(AP_MPMQ_MPM_STATE, &state) == APR_SUCCESS
        && state != AP_MPMQ_STOPPING) {
        pg_agent_start();
    }
}

static void pg_agent_start(void)
{
    apr_pool_t *pool;
    pg_agent *agent;
    pid_t parent = getpid();

    apr_pool_create(&pool, pg_agent_pool);
    agent = apr_pcalloc(pool, sizeof(*agent));
    agent->pool = pool;
    agent->proc.pid = fork();
    if (agent->proc.pid < 0) {
        ap_log_error(APLOG_MARK, APLOG_ERR, errno, pg_agent_server,
                     PG_TAG_BAN_CACHE ": cannot start the ban agent; bans "
                     "started elsewhere are not seen");
        apr_pool_destroy(pool);
        return;
    }
    if (agent->proc.pid == 0) {
        pg_agent_main(pg_agent_server, parent, pool);
    }
    /* killed when this generation ends (pconf), restarted when it dies */
    apr_pool_note_subprocess(pool, &agent->proc, APR_KILL_AFTER_TIMEOUT);
    apr_proc_other_child_register(&agent->proc, pg_agent_maintenance, agent,
                                  NULL, pool);
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
