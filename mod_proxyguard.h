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
 * mod_proxyguard.h: what the module's httpd glue files share.
 *
 *   mod_proxyguard.c          the request hooks: decide, publish, log,
 *                             answer; hook registration; the module
 *   mod_proxyguard_config.c   directives, configuration structs, defaults
 *                             (all resolved in pg_config_finish), names
 *   mod_proxyguard_table.c    the shared hit table and its mutex: start-up,
 *                             restarts, counting a hit, snapshots
 *   mod_proxyguard_ban.c      the ban store (ap_socache): store, look up,
 *                             start, lift
 *   mod_proxyguard_status.c   the proxyguard-status handler, the unban form,
 *                             the /server-status section
 *
 * The decision itself and everything else that needs no httpd is in the
 * pure files: pg_decide.c, pg_table.c, pg_status.c, pg_out.c.
 */

#ifndef MOD_PROXYGUARD_H
#define MOD_PROXYGUARD_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_global_mutex.h"
#include "apr_shm.h"
#include "ap_socache.h"

#include "pg_decide.h"
#include "pg_table.h"

/* Keeps a rarely taken branch's code (and its stack frame) out of the
 * function every request runs. */
#if defined(__GNUC__)
#define PG_NOINLINE __attribute__((noinline))
#else
#define PG_NOINLINE
#endif

extern module AP_MODULE_DECLARE_DATA proxyguard_module;

/* Stable message tags: fail2ban filters and operators' greps match these,
 * so a tag never changes meaning. */
#define PG_TAG_HIT          "PG0001"   /* a request hit */
#define PG_TAG_TABLE        "PG0002"   /* table created or kept at start-up */
#define PG_TAG_TABLE_ERROR  "PG0003"   /* table or mutex unavailable */
#define PG_TAG_OPEN_PROXY   "PG0004"   /* ProxyRequests On for everyone */
#define PG_TAG_MAIL_PORT    "PG0005"   /* a mail port allowed to proxy clients */
#define PG_TAG_SUPPRESSED   "PG0006"   /* hits counted but not logged */
#define PG_TAG_BAN          "PG0010"   /* a ban starts */
#define PG_TAG_BAN_LIFTED   "PG0011"   /* an operator lifted a ban */
#define PG_TAG_BAN_CACHE    "PG0012"   /* the ban store failed: fail open */
#define PG_TAG_BANS_FULL    "PG0013"   /* a ban could not start: list full */
#define PG_TAG_UNBAN_REFUSED "PG0014"  /* an unban request was refused */
#define PG_TAG_BAN_CACHE_BACK "PG0015" /* the ban store answers again */

#define PG_HANDLER "proxyguard-status"
#define PG_MUTEX_TYPE "proxyguard-shm"

#define PG_UNSET (-1)

/* The settings of the whole server (server config only): one per
 * configuration generation, shared by every vhost's configuration. */
typedef struct pg_global_conf {
    int table_size;                     /* ProxyGuardTableSize */
    int ban_hits;                       /* ProxyGuardBan; PG_UNSET: no bans */
    int ban_window;                     /* seconds */
    int ban_duration;                   /* seconds */
    apr_array_header_t *ban_exempt;     /* of apr_ipsubnet_t * */
    const char *ban_cache;              /* ProxyGuardBanCache provider[:args] */
    int log_lines;                      /* ProxyGuardLogLimit */
    int log_window;
} pg_global_conf;

/* The settings of one vhost (server config and virtual host). */
typedef struct pg_vhost_conf {
    int mode;                           /* pg_mode */
    int unknown_host;                   /* pg_unknown_host */
    apr_array_header_t *allow_hosts;    /* of pg_hostpat */
    apr_array_header_t *proxy_clients;  /* of apr_ipsubnet_t * */
    apr_array_header_t *connect_ports;  /* of pg_port_range */
    apr_array_header_t *proxy_ports;    /* of pg_port_range */
    pg_global_conf *global;
    /* made by pg_config_finish for the request path: */
    pg_policy policy;                   /* every default resolved */
    int vhost_row;                      /* this vhost's row in the table */
    const pg_span *own_names;           /* ServerName, exact ServerAliases
                                         * and <VirtualHost> names, through
                                         * pg_name_canon */
    int n_own_names;
    const char *const *own_wild;        /* wildcard ServerAliases */
    int n_own_wild;
} pg_vhost_conf;

static APR_INLINE pg_vhost_conf *pg_conf_of(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &proxyguard_module);
}

/* The main server's configuration, set in post_config for request time. */
extern const pg_vhost_conf *pg_main_conf;

/* mod_proxyguard_config.c */
extern const command_rec pg_cmds[];
void *pg_create_server_conf(apr_pool_t *p, server_rec *s);
void *pg_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void pg_config_finish(apr_pool_t *pconf, server_rec *main_server);
void pg_config_warn(apr_pool_t *pconf, server_rec *main_server);
int pg_is_proxy_client(const request_rec *r, const pg_vhost_conf *conf);
int pg_server_has_name(const server_rec *s, pg_span host);

/* mod_proxyguard_table.c: the table and mutex, made once from the process
 * pool and found again at every start-up pass, so counters live through
 * restarts; NULL until post_config has made them. */
typedef struct pg_shared {
    apr_shm_t *shm;
    pg_table *table;
    apr_size_t bytes;
    apr_global_mutex_t *mutex;
} pg_shared;

extern pg_shared *pg_shm;

int pg_table_pre_config(apr_pool_t *pconf);
int pg_table_post_config(server_rec *s, apr_pool_t *ptemp);
void pg_table_child_init(apr_pool_t *pchild, server_rec *s);
apr_status_t pg_lock(void);
void pg_unlock(void);
void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr);
void pg_count_hit(request_rec *r, const pg_verdict *v, int loggable,
                  pg_record_result *res);
const pg_table *pg_snapshot(apr_pool_t *p, int details);

/* mod_proxyguard.c */
/* A request header's value (the first, as apr_table_get gives it), by its
 * name in lower case (letters and '-'), len bytes: a short header list is
 * read directly, which costs a tenth of apr_table_get's strcasecmp. */
const char *pg_request_header(request_rec *r, const char *lower,
                              apr_size_t len);

/* mod_proxyguard_ban.c */
int pg_ban_check_config(server_rec *s, apr_pool_t *ptemp);
int pg_ban_post_config(server_rec *s, apr_pool_t *pconf, apr_pool_t *ptemp);
int pg_bans_on(void);
extern int pg_bans_enabled;             /* ProxyGuardBan on: a store is set */
int pg_ban_store_shared(void);
int pg_ban_exempt(const request_rec *r);

/* What a connection remembers of its client's ban lookup: "not banned"
 * (or exempt), while the ban list's generation is the same and, with a
 * shared store, the store's answer is fresh.  Bans start and end rarely;
 * a kept-alive connection then pays one lookup, not one per request. */
typedef struct pg_ban_memo {
    apr_uint32_t generation;
    apr_uint32_t clear_until;   /* 0: nothing remembered */
} pg_ban_memo;

int pg_is_banned(request_rec *r, pg_ban_memo *memo);
void pg_ban_started(request_rec *r, const pg_addr *addr,
                    const pg_record_result *res);
void pg_ban_refused(request_rec *r);
int pg_ban_lift(request_rec *r, const pg_addr *addr);

/* mod_proxyguard_status.c */
int pg_status_handler(request_rec *r);
int pg_server_status_hook(request_rec *r, int flags);

#endif /* MOD_PROXYGUARD_H */
