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
 * mod_proxyguard_agent.c: the ban agent, a process of its own that talks to
 * a shared ban store (memcache, redis) for the request path.  See the
 * comment at the top of mod_proxyguard_store.c.
 */

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <unistd.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "ap_listen.h"
#include "ap_mpm.h"
#include "mod_unixd.h"
#include "apr_atomic.h"
#include "apr_signal.h"
#include "apr_strings.h"
#include "apr_thread_proc.h"

#include "pg_ban.h"
#include "mod_proxyguard_private.h"
#include "mod_proxyguard_table.h"
#include "mod_proxyguard_store.h"
#include "mod_proxyguard_agent.h"

#define PG_STORE_TIMEOUT  1             /* seconds a call may take */
#define PG_AGENT_POLL     apr_time_from_msec(100)
#define PG_AGENT_EXIT_HUNG 75           /* the agent's status: a call hung */
#define PG_AGENT_EXIT_SETUP 76          /* ... it could not become a child */
#define PG_AGENT_EXIT_MEMORY 77         /* ... it ran out of its memory */

/* Address space the agent may take beyond what it had at its fork.  A
 * call needs little (measured by t/36_hostile_store.t: VmPeak 44 kB above
 * the fork's VmSize of 7.4 MB after heartbeats, lookups and a ban found,
 * memcache, event MPM); a
 * hostile store's huge value (apr_memcache_getp and apr_redis_getp buffer
 * a value whole before the provider compares its length with our buffer)
 * then fails an allocation at this bound instead of taking hundreds of MB,
 * and the agent ends (PG_AGENT_EXIT_MEMORY). */
#define PG_AGENT_MEMORY_MARGIN (32L * 1024 * 1024)

/* The ban agent, in the parent: its process, and where to start another;
 * the longest ban this configuration makes (ProxyGuardBan), the most a
 * store's answer is believed. */
static apr_pool_t *pg_agent_pool;
static server_rec *pg_agent_server;
static apr_uint32_t pg_agent_ban_duration;

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
    return rv == APR_NOTFOUND
           && (op == PG_STORE_PUT || op == PG_STORE_HEARTBEAT)
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
    until = pg_ban_until_clamp(until, now, pg_agent_ban_duration);
    if (pg_shm_lock() == APR_SUCCESS) {
        pg_table_check_answer(pg_shm_table(), addr, now,
                              rv == APR_SUCCESS ? until : 0);
        pg_shm_unlock();
    }
    return 1;
}

/* Bans started or lifted here, told to the store. */
static int pg_agent_sync(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_table *t = pg_shm_table();
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
        if (pg_shm_lock() == APR_SUCCESS) {
            pg_table_ban_synced(t, &addr, mark);
            pg_shm_unlock();
        }
    }
    return 1;
}

/* The addresses requests are waiting to hear about. */
static int pg_agent_checks(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_addr addr;

    while (pg_table_check_take(pg_shm_table(), &addr)) {
        if (!pg_agent_ask(s, p, &addr, now)) {
            return 0;
        }
    }
    return 1;
}

/* Listed bans whose answer has aged: still banned in the store? */
static int pg_agent_recheck(server_rec *s, apr_pool_t *p, apr_uint32_t now)
{
    pg_table *t = pg_shm_table();
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
    pg_table *t = pg_shm_table();
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

/* A failed allocation in the agent is its memory bound reached: APR's
 * pools answer it with abort(), and apr-util's bucket code, which does not
 * check, with a fault (seen: SIGSEGV at a 300 MB value).  Either is said
 * to the parent by the exit status, which counts a store failure (the
 * back-off, no restart loop) rather than a crash; a fault that is a bug
 * ends the agent the same way, and is reported the same way.  On a stack
 * of its own: a fault may come from a stack that cannot grow. */
static void pg_agent_out_of_memory(int sig)
{
    (void)sig;
    _exit(PG_AGENT_EXIT_MEMORY);
}

static void pg_agent_catch_faults(void)
{
    static char stack[16384];
    static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS };
    struct sigaction sa;
    stack_t ss;
    size_t i;

    ss.ss_sp = stack;
    ss.ss_size = sizeof(stack);
    ss.ss_flags = 0;
    sigaltstack(&ss, NULL);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = pg_agent_out_of_memory;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        sigaction(sigs[i], &sa, NULL);
    }
}

/* The agent's address space now, in bytes (Linux: /proc/self/statm); 0
 * when unknown. */
static rlim_t pg_agent_vm_size(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;

    if (f == NULL) {
        return 0;
    }
    if (fscanf(f, "%lu", &pages) != 1) {
        pages = 0;
    }
    fclose(f);
    return (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE);
}

/* Bounds the agent's memory: what it has (the parent's pools, modules and
 * the shared table are all in its address space already) and
 * PG_AGENT_MEMORY_MARGIN more, for a store's answers.  Without a size,
 * nothing is bounded, and said. */
static void pg_agent_limit_memory(server_rec *s)
{
    struct rlimit rl;
    rlim_t size = pg_agent_vm_size();

    rl.rlim_cur = rl.rlim_max = size + PG_AGENT_MEMORY_MARGIN;
    if (size == 0 || setrlimit(RLIMIT_AS, &rl) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, errno, s, PG_TAG_BAN_CACHE
                     ": the ban agent cannot bound its memory (RLIMIT_AS); "
                     "a hostile ban store could make it grow");
    }
}

/* The agent process: no listeners, the children's identity, default
 * signals but for the alarm that bounds a call, and bounded memory. */
static void pg_agent_main(server_rec *s, pid_t parent, apr_pool_t *pool)
{
    apr_signal(SIGTERM, SIG_DFL);
    apr_signal(SIGHUP, SIG_DFL);
    apr_signal(SIGUSR1, SIG_DFL);
    apr_signal(SIGINT, SIG_DFL);
    apr_signal(SIGCHLD, SIG_DFL);
    apr_signal(SIGPIPE, SIG_IGN);
    apr_signal(SIGALRM, pg_agent_hung);
    pg_agent_catch_faults();
    ap_close_listeners();
    if (ap_unixd_setup_child() != 0
        || pg_shm_reopen_mutex(pool) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, PG_TAG_BAN_CACHE
                     ": the ban agent cannot take the children's identity "
                     "or the table's mutex");
        _exit(PG_AGENT_EXIT_SETUP);
    }
    pg_agent_limit_memory(s);
    pg_agent_loop(s, parent);
}

/* One agent: its process, and a pool of its own for what the parent
 * keeps of it, given back when it ends (a store that keeps hanging starts
 * agents all day long). */
typedef struct pg_agent {
    apr_proc_t proc;
    apr_pool_t *pool;
} pg_agent;

static void pg_agent_fork(void);

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
    if (status == PG_AGENT_EXIT_MEMORY) {
        pg_store_failed(pg_agent_server, APR_ENOMEM, "a call (the ban agent "
                        "ran out of its memory bound: an answer too large, "
                        "or it faulted)");
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
        pg_agent_fork();
    }
}

static void pg_agent_fork(void)
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

void pg_agent_start(server_rec *s, apr_pool_t *pconf,
                    apr_uint32_t ban_duration)
{
    pg_agent_pool = pconf;
    pg_agent_ban_duration = ban_duration;
    pg_agent_server = s;
    pg_agent_fork();
}
