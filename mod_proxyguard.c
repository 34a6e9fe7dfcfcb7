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
 * mod_proxyguard: reject proxy-style abuse of a web server inline.
 *
 * Every public server is probed as an open proxy ("CONNECT 1.2.3.4:25",
 * "GET http://elsewhere/").  Stock httpd answers the absolute-URI probe
 * with 200 and its default site, which scanners read as "open proxy".  This
 * module decides in post_read_request, after vhost selection, and answers
 * from a quick handler run right after it:
 *
 *   a banned address (ProxyGuardBan)           403, reason "banned"
 *   CONNECT, any target                        405, reason "connect"
 *   ... from a ProxyGuardProxyClients client   passes if the port is
 *                                              allowed, else 403 "connect-port"
 *   absolute URI naming a host we don't serve  403, reason "absolute-uri"
 *   Host naming none of our vhosts             counted, "unknown-host"
 *   Proxy-Connection / Proxy-Authorization     counted, "proxy-header"
 *
 * Each hit is logged (tag PG0001), published as PROXYGUARD in the
 * request's environment and notes, and counted in a table in shared memory
 * (pg_table.c) that the handler "proxyguard-status" shows as HTML, ?auto,
 * ?json and ?prometheus (pg_status.c).  The decision itself is pg_decide()
 * (pg_decide.c), which knows nothing of httpd.
 *
 * Directives (server config and virtual host):
 *   ProxyGuard On|Off|DetectOnly           default On
 *   ProxyGuardAllowHost name ...           extra names that are ours
 *   ProxyGuardUnknownHost Allow|Detect|Deny  default Detect
 *   ProxyGuardProxyClients cidr ...        who may use us as a forward proxy
 *   ProxyGuardConnectPorts port ...        where they may CONNECT, 443
 * Server config only:
 *   ProxyGuardTableSize n                  client addresses tracked, 4096
 *   ProxyGuardBan hits seconds duration    ban persistent probers
 *   ProxyGuardBanExempt cidr ...           never banned
 *   ProxyGuardBanCache provider[:args]     ban store (ap_socache), shmcb
 *   ProxyGuardLogLimit lines seconds       log lines per client, 10 60
 *
 * Example:
 *   LoadModule proxyguard_module modules/mod_proxyguard.so
 *   ProxyGuardAllowHost *.cdn.example.com 192.0.2.10
 *   <VirtualHost *:80>
 *       ServerName www.example.com
 *       ProxyGuard DetectOnly
 *   </VirtualHost>
 *   CustomLog logs/abuse.log combined env=PROXYGUARD
 *   <Location "/proxyguard-status">
 *       SetHandler proxyguard-status
 *       Require local
 *   </Location>
 */

#include "httpd.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "http_vhost.h"
#include "util_mutex.h"
#include "mod_status.h"
#include "apr_optional_hooks.h"
#include "apr_shm.h"
#include "apr_global_mutex.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "mod_proxy.h"
#include "ap_socache.h"
#include "ap_provider.h"

#include "pg_decide.h"
#include "pg_table.h"
#include "pg_status.h"
#include "pg_version.h"

module AP_MODULE_DECLARE_DATA proxyguard_module;

/* Stable message tags: fail2ban filters and operators' greps match these,
 * so a tag never changes meaning. */
#define PG_TAG_HIT          "PG0001"   /* a request hit */
#define PG_TAG_TABLE        "PG0002"   /* table created or kept at start-up */
#define PG_TAG_TABLE_ERROR  "PG0003"   /* table or mutex unavailable */
#define PG_TAG_OPEN_PROXY   "PG0004"   /* ProxyRequests On for everyone */
#define PG_TAG_MAIL_PORT    "PG0005"   /* a mail port in ProxyGuardConnectPorts */
#define PG_TAG_SUPPRESSED   "PG0006"   /* hits counted but not logged */
#define PG_TAG_BAN          "PG0010"   /* a ban starts */
#define PG_TAG_BAN_LIFTED   "PG0011"   /* an operator lifted a ban */
#define PG_TAG_BAN_CACHE    "PG0012"   /* the ban cache failed: fail open */

#define PG_BAN_KEY_PREFIX "pgban:"

#define PG_HANDLER "proxyguard-status"
#define PG_MUTEX_TYPE "proxyguard-shm"

/* Spare vhost rows, so a restart that adds a vhost or two keeps the table. */
#define PG_VHOST_ROWS_SPARE 16

/* Attacker-controlled fields are cut to this many bytes before escaping. */
#define PG_LOG_FIELD_MAX 200

#define PG_UNSET (-1)

typedef struct pg_server_conf {
    int mode;                           /* pg_mode, or PG_UNSET */
    int unknown_host;                   /* pg_unknown_host, or PG_UNSET */
    apr_array_header_t *allow_hosts;    /* of pg_hostpat; NULL when unset */
    apr_array_header_t *proxy_clients;  /* of apr_ipsubnet_t *; NULL unset */
    apr_array_header_t *connect_ports;  /* of unsigned; NULL: just 443 */
    int table_size;                     /* main server only; or PG_UNSET */
    int vhost_row;                      /* this vhost's row in the table */
    /* ProxyGuardBan and friends: main server only */
    int ban_hits;                       /* PG_UNSET: no bans */
    int ban_window;                     /* seconds */
    int ban_duration;                   /* seconds */
    apr_array_header_t *ban_exempt;     /* of apr_ipsubnet_t * */
    const char *ban_cache;              /* provider[:args]; NULL: shmcb */
    int log_lines;                      /* ProxyGuardLogLimit; PG_UNSET */
    int log_window;
    /* this vhost's names, made once in post_config for the request path:
     * ServerName, exact ServerAliases and <VirtualHost> names through
     * pg_name_canon; wildcard ServerAliases as they are */
    apr_array_header_t *own_names;      /* of pg_span */
    apr_array_header_t *own_wild;       /* of const char * */
} pg_server_conf;

/* ProxyGuardLogLimit default: fail2ban's default (5 failures in 10 minutes)
 * always sees enough lines, a flood never fills the disk. */
#define PG_LOG_LINES_DEFAULT  10
#define PG_LOG_WINDOW_DEFAULT 60

/* The shared table and its mutex.  Both are made once, from the process
 * pool, and found again through its userdata at every later start-up
 * pass: so the counters live through graceful and full restarts. */
typedef struct pg_shared {
    apr_shm_t *shm;
    pg_table *table;
    apr_size_t bytes;
    apr_global_mutex_t *mutex;
    /* the ban store, an ap_socache provider: made anew for every
     * configuration generation (its code lives in a module httpd unloads
     * and reloads at each restart), refilled from the table's ban list */
    const char *ban_spec;
    const ap_socache_provider_t *ban_provider;
    ap_socache_instance_t *ban_cache;
    server_rec *ban_server;
} pg_shared;

/* The main server's settings, for request-time use of the global ones. */
static const struct pg_server_conf *pg_main_conf;

/* Set in post_config, before the children are forked. */
static pg_shared *pg_shm;

/* ------------------------------------------------------------------ */
/* Configuration                                                        */

static void *pg_create_server_conf(apr_pool_t *p, server_rec *s)
{
    pg_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->mode = PG_UNSET;
    conf->unknown_host = PG_UNSET;
    conf->allow_hosts = NULL;
    conf->proxy_clients = NULL;
    conf->connect_ports = NULL;
    conf->table_size = PG_UNSET;
    conf->vhost_row = 0;
    conf->ban_hits = PG_UNSET;
    conf->ban_window = PG_UNSET;
    conf->ban_duration = PG_UNSET;
    conf->ban_exempt = NULL;
    conf->ban_cache = NULL;
    conf->log_lines = PG_UNSET;
    conf->log_window = PG_UNSET;
    return conf;
}

static apr_array_header_t *pg_merge_lists(apr_pool_t *p,
                                          const apr_array_header_t *base,
                                          const apr_array_header_t *add)
{
    if (base == NULL || add == NULL) {
        return (apr_array_header_t *)(add ? add : base);
    }
    return apr_array_append(p, base, add);
}

/* A vhost's own settings win; the main server's names add to a vhost's. */
static void *pg_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const pg_server_conf *base = basev;
    const pg_server_conf *add = addv;
    pg_server_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->mode = add->mode != PG_UNSET ? add->mode : base->mode;
    conf->unknown_host = add->unknown_host != PG_UNSET ? add->unknown_host
                                                       : base->unknown_host;
    conf->allow_hosts = pg_merge_lists(p, base->allow_hosts, add->allow_hosts);
    /* who may proxy, and where to: a vhost's own list replaces, so that
     * one vhost can be stricter than the server */
    conf->proxy_clients = add->proxy_clients ? add->proxy_clients
                                             : base->proxy_clients;
    conf->connect_ports = add->connect_ports ? add->connect_ports
                                             : base->connect_ports;
    /* global only: a vhost sees the main server's */
    conf->table_size = base->table_size;
    conf->ban_hits = base->ban_hits;
    conf->ban_window = base->ban_window;
    conf->ban_duration = base->ban_duration;
    conf->ban_exempt = base->ban_exempt;
    conf->ban_cache = base->ban_cache;
    conf->log_lines = base->log_lines;
    conf->log_window = base->log_window;
    conf->vhost_row = 0;                    /* assigned in post_config */
    return conf;
}

static pg_mode pg_effective_mode(const pg_server_conf *conf)
{
    return conf->mode == PG_UNSET ? PG_MODE_ON : (pg_mode)conf->mode;
}

static pg_unknown_host pg_effective_unknown_host(const pg_server_conf *conf)
{
    return conf->unknown_host == PG_UNSET ? PG_UNKNOWN_DETECT
                                          : (pg_unknown_host)conf->unknown_host;
}

typedef struct pg_keyword {
    const char *word;
    int value;
} pg_keyword;

static const pg_keyword pg_mode_words[] = {
    { "On", PG_MODE_ON },
    { "Off", PG_MODE_OFF },
    { "DetectOnly", PG_MODE_DETECT_ONLY },
    { NULL, 0 }
};

static const pg_keyword pg_unknown_host_words[] = {
    { "Allow", PG_UNKNOWN_ALLOW },
    { "Detect", PG_UNKNOWN_DETECT },
    { "Deny", PG_UNKNOWN_DENY },
    { NULL, 0 }
};

/* One keyword from cmd->info's table, or an error naming the directive,
 * the bad value and the accepted ones. */
static const char *pg_set_keyword(cmd_parms *cmd, int *field, const char *arg)
{
    const pg_keyword *kw;
    const char *expected = NULL;

    for (kw = cmd->info; kw->word; kw++) {
        if (!ap_cstr_casecmp(arg, kw->word)) {
            *field = kw->value;
            return NULL;
        }
        expected = expected ? apr_pstrcat(cmd->temp_pool, expected, kw[1].word
                                          ? ", " : " or ", kw->word, NULL)
                            : kw->word;
    }
    return apr_psprintf(cmd->pool, "%s: invalid value '%s' (expected %s)",
                        cmd->cmd->name, arg, expected);
}

static pg_server_conf *pg_conf_of(const server_rec *s)
{
    return ap_get_module_config(s->module_config, &proxyguard_module);
}

static const char *pg_cmd_mode(cmd_parms *cmd, void *dummy, const char *arg)
{
    (void)dummy;
    return pg_set_keyword(cmd, &pg_conf_of(cmd->server)->mode, arg);
}

static const char *pg_cmd_unknown_host(cmd_parms *cmd, void *dummy,
                                       const char *arg)
{
    (void)dummy;
    return pg_set_keyword(cmd, &pg_conf_of(cmd->server)->unknown_host, arg);
}

static const char *pg_cmd_allow_host(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    pg_server_conf *conf = pg_conf_of(cmd->server);
    pg_hostpat *pat;
    const char *err;

    (void)dummy;
    if (conf->allow_hosts == NULL) {
        conf->allow_hosts = apr_array_make(cmd->pool, 4, sizeof(pg_hostpat));
    }
    pat = apr_array_push(conf->allow_hosts);
    if ((err = pg_hostpat_parse(arg, pat)) != NULL) {
        return apr_psprintf(cmd->pool, "%s: '%s' is %s", cmd->cmd->name, arg,
                            err);
    }
    return NULL;
}

/* A whole number in [min, max], or an error naming directive and value. */
static const char *pg_parse_number(cmd_parms *cmd, const char *arg, int min,
                                   int max, int *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(arg, &end, 10);

    if (*arg == '\0' || *end != '\0' || n < min || n > max) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number from %d to %d",
                            cmd->cmd->name, arg, min, max);
    }
    *out = (int)n;
    return NULL;
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.7": one apr_ipsubnet_t. */
static const char *pg_parse_subnet(cmd_parms *cmd, const char *arg,
                                   apr_ipsubnet_t **subnet)
{
    char *ip = apr_pstrdup(cmd->temp_pool, arg);
    char *mask = ap_strchr(ip, '/');
    apr_status_t rv;

    if (mask) {
        *mask++ = '\0';
    }
    rv = apr_ipsubnet_create(subnet, ip, mask, cmd->pool);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not an IP address or "
                            "CIDR range", cmd->cmd->name, arg);
    }
    return NULL;
}

/* One more address or range for a list directive (created on first use). */
static const char *pg_push_subnet(cmd_parms *cmd, apr_array_header_t **list,
                                  const char *arg)
{
    apr_ipsubnet_t *subnet;
    const char *err;

    if ((err = pg_parse_subnet(cmd, arg, &subnet)) != NULL) {
        return err;
    }
    if (*list == NULL) {
        *list = apr_array_make(cmd->pool, 4, sizeof(subnet));
    }
    APR_ARRAY_PUSH(*list, apr_ipsubnet_t *) = subnet;
    return NULL;
}

static const char *pg_cmd_proxy_clients(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    (void)dummy;
    return pg_push_subnet(cmd, &pg_conf_of(cmd->server)->proxy_clients, arg);
}

static const char *pg_cmd_connect_ports(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    pg_server_conf *conf = pg_conf_of(cmd->server);
    int port;
    const char *err;

    (void)dummy;
    if ((err = pg_parse_number(cmd, arg, 1, 65535, &port)) != NULL) {
        return err;
    }
    if (conf->connect_ports == NULL) {
        conf->connect_ports = apr_array_make(cmd->pool, 4, sizeof(unsigned));
    }
    APR_ARRAY_PUSH(conf->connect_ports, unsigned) = (unsigned)port;
    return NULL;
}

static const char *pg_cmd_ban(cmd_parms *cmd, void *dummy, const char *hits,
                              const char *seconds, const char *duration)
{
    pg_server_conf *conf = pg_conf_of(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err
        || (err = pg_parse_number(cmd, hits, 1, 1000000, &conf->ban_hits))
        || (err = pg_parse_number(cmd, seconds, 1, 86400 * 30,
                                  &conf->ban_window))
        || (err = pg_parse_number(cmd, duration, 1, 86400 * 365,
                                  &conf->ban_duration))) {
        return err;
    }
    return NULL;
}

static const char *pg_cmd_ban_exempt(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    return err ? err : pg_push_subnet(cmd, &pg_conf_of(cmd->server)->ban_exempt,
                                      arg);
}

static const char *pg_cmd_log_limit(cmd_parms *cmd, void *dummy,
                                    const char *lines, const char *seconds)
{
    pg_server_conf *conf = pg_conf_of(cmd->server);
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err
        || (err = pg_parse_number(cmd, lines, 0, 1000000, &conf->log_lines))
        || (err = pg_parse_number(cmd, seconds, 1, 86400, &conf->log_window))) {
        return err;
    }
    return NULL;
}

static const char *pg_cmd_ban_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err) {
        return err;
    }
    pg_conf_of(cmd->server)->ban_cache = arg;
    return NULL;
}

static const char *pg_cmd_table_size(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    return err ? err : pg_parse_number(cmd, arg, PG_TABLE_SIZE_MIN,
                                       PG_TABLE_SIZE_MAX,
                                       &pg_conf_of(cmd->server)->table_size);
}

/* ------------------------------------------------------------------ */
/* Is a host name one of ours?                                          */

/* The names httpd itself would select s for: ServerName, ServerAlias and
 * the names on its <VirtualHost> line (vhost.c: matches_aliases and the
 * virthost fallback), canonical, collected once per start. */
static void pg_add_name(apr_pool_t *p, apr_array_header_t *names,
                        const char *name)
{
    char buf[PG_HOSTNAME_MAX + 4];
    pg_span *canon;
    size_t len = name ? pg_name_canon(name, buf, sizeof(buf)) : 0;

    if (len) {
        canon = apr_array_push(names);
        canon->ptr = apr_pstrmemdup(p, buf, len);
        canon->len = len;
    }
}

static void pg_collect_names(apr_pool_t *p, server_rec *s)
{
    pg_server_conf *conf = pg_conf_of(s);
    const server_addr_rec *sar;
    int i;

    conf->own_names = apr_array_make(p, 4, sizeof(pg_span));
    conf->own_wild = apr_array_make(p, 1, sizeof(const char *));
    pg_add_name(p, conf->own_names, s->server_hostname);
    for (i = 0; s->names && i < s->names->nelts; i++) {
        pg_add_name(p, conf->own_names, APR_ARRAY_IDX(s->names, i, const char *));
    }
    for (sar = s->addrs; sar; sar = sar->next) {
        pg_add_name(p, conf->own_names, sar->virthost);
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        const char *w = APR_ARRAY_IDX(s->wild_names, i, const char *);

        if (w) {
            APR_ARRAY_PUSH(conf->own_wild, const char *) = w;
        }
    }
}

static int pg_server_has_name(const server_rec *s, pg_span host)
{
    const pg_server_conf *conf = pg_conf_of(s);
    int i;

    for (i = 0; i < conf->own_names->nelts; i++) {
        if (pg_name_is(APR_ARRAY_IDX(conf->own_names, i, pg_span), host)) {
            return 1;
        }
    }
    for (i = 0; i < conf->own_wild->nelts; i++) {
        if (pg_name_matches(APR_ARRAY_IDX(conf->own_wild, i, const char *),
                            host)) {
            return 1;
        }
    }
    return 0;
}

static int pg_iterate_has_name(void *baton, conn_rec *c, server_rec *s)
{
    (void)c;
    return pg_server_has_name(s, *(const pg_span *)baton);
}

/* pg_own_host_fn: the vhost httpd picked first (almost always the answer),
 * then every other vhost serving this connection's address and port. */
static int pg_is_own_host(void *baton, pg_span host)
{
    request_rec *r = baton;

    return pg_server_has_name(r->server, host)
           || ap_vhost_iterate_given_conn(r->connection, pg_iterate_has_name,
                                          &host);
}

/* ------------------------------------------------------------------ */
/* The shared table: made in post_config, inherited by the children     */

static int pg_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                         apr_pool_t *ptemp)
{
    (void)plog;
    (void)ptemp;
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

/* Give every vhost its row (by ServerName: vhosts sharing a name share
 * the row).  Returns 0 when the table has no row left. */
static int pg_assign_vhost_rows(server_rec *s, pg_table *table)
{
    for (; s; s = s->next) {
        int row = pg_table_vhost_row(table, s->server_hostname
                                            ? s->server_hostname : "");

        if (row < 0) {
            return 0;
        }
        pg_conf_of(s)->vhost_row = row;
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
static int pg_table_setup(pg_shared *shared, server_rec *s)
{
    int size = pg_conf_of(s)->table_size;
    apr_uint32_t n_clients = size == PG_UNSET ? PG_TABLE_SIZE_DEFAULT
                                              : (apr_uint32_t)size;
    apr_uint32_t n_vhosts = pg_count_servers(s);
    apr_status_t rv;

    if (shared->table
        && pg_table_fits(shared->table, shared->bytes, n_vhosts, n_clients)
        && pg_assign_vhost_rows(s, shared->table)) {
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
    pg_assign_vhost_rows(s, shared->table);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, PG_TAG_TABLE
                 ": hit table of %" APR_SIZE_T_FMT " bytes: %u client "
                 "addresses (ProxyGuardTableSize), %u vhost rows",
                 shared->bytes, n_clients, shared->table->n_vhosts);
    return OK;
}

static const char *pg_vhost_label(const server_rec *s)
{
    return s->is_virtual ? apr_psprintf(s->process->pconf, "%s (%s:%d)",
                                        s->server_hostname, s->defn_name,
                                        s->defn_line_number)
                         : "the main server";
}

/* A forward proxy for everyone is an open relay (one relayed SMTP for
 * strangers for weeks): say so at every start.  mod_proxy's configuration
 * is read only when it is loaded. */
static void pg_warn_open_proxies(server_rec *main_server)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    const apr_array_header_t *main_ports = pg_conf_of(main_server)->connect_ports;
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        const pg_server_conf *conf = pg_conf_of(s);
        int i;

        if (proxy) {
            const proxy_server_conf *pc = ap_get_module_config(s->module_config,
                                                               proxy);

            if (pc && pc->req && conf->proxy_clients == NULL) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PG_TAG_OPEN_PROXY
                             ": ProxyRequests On in %s without "
                             "ProxyGuardProxyClients: %s", pg_vhost_label(s),
                             pg_effective_mode(conf) == PG_MODE_ON
                             ? "mod_proxyguard rejects every proxy request "
                               "there; list the clients that may use the proxy"
                             : "this is an OPEN PROXY (ProxyGuard is not On "
                               "there); list the clients that may use it");
            }
        }
        if (s->is_virtual && conf->connect_ports == main_ports) {
            continue;       /* inherited: warned about for the main server */
        }
        for (i = 0; conf->connect_ports && i < conf->connect_ports->nelts; i++) {
            unsigned port = APR_ARRAY_IDX(conf->connect_ports, i, unsigned);

            if (port == 25 || port == 465 || port == 587) {
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PG_TAG_MAIL_PORT
                             ": ProxyGuardConnectPorts in %s allows the mail "
                             "port %u: proxy clients can send mail through "
                             "this server", pg_vhost_label(s), port);
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* The ban store: an ap_socache provider (shmcb, memcache, redis ...)   */

static int pg_bans_on(void)
{
    return pg_main_conf && pg_main_conf->ban_hits != PG_UNSET && pg_shm
           && pg_shm->ban_cache;
}

/* "memcache:host:port" -> provider name "memcache", args "host:port". */
static const ap_socache_provider_t *pg_ban_provider(apr_pool_t *p,
                                                    const char *spec,
                                                    const char **name,
                                                    const char **args)
{
    char *copy = apr_pstrdup(p, spec);
    char *colon = ap_strchr(copy, ':');

    if (colon) {
        *colon++ = '\0';
    }
    *name = copy;
    *args = colon;
    return ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, copy,
                              AP_SOCACHE_PROVIDER_VERSION);
}

/* Runs for `apache2 -t` too: a missing provider or bad arguments stop the
 * configuration test, not only the start. */
static int pg_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                           apr_pool_t *ptemp, server_rec *s)
{
    const pg_server_conf *conf = pg_conf_of(s);
    const char *spec = conf->ban_cache ? conf->ban_cache : "shmcb";
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *probe;
    const char *name, *args, *err;

    (void)pconf;
    (void)plog;
    if (conf->ban_hits == PG_UNSET) {
        return OK;
    }
    provider = pg_ban_provider(ptemp, spec, &name, &args);
    if (provider == NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE
                     ": ProxyGuardBanCache: no shared object cache provider "
                     "'%s' (LoadModule mod_socache_%s)", name, name);
        return !OK;
    }
    if ((err = provider->create(&probe, args, ptemp, ptemp)) != NULL) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE
                     ": ProxyGuardBanCache '%s': %s", spec, err);
        return !OK;
    }
    return OK;
}

/* pconf cleanup: runs before httpd unloads the provider's module. */
static apr_status_t pg_ban_cache_destroy(void *data)
{
    pg_shared *shared = data;

    if (shared->ban_cache) {
        shared->ban_provider->destroy(shared->ban_cache, shared->ban_server);
        shared->ban_cache = NULL;
    }
    return APR_SUCCESS;
}

/* A local store (shmcb) starts empty at each start: the bans still running
 * go back in from the table's list, which outlives restarts.  (A shared
 * store keeps its own; refilling it could bring back a ban that another
 * server lifted.) */
static void pg_ban_cache_refill(pg_shared *shared, server_rec *s,
                                apr_pool_t *ptemp)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    char text[PG_CLIENT_TEXT_MAX];
    int i;

    if (!(shared->ban_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE)) {
        return;
    }
    for (i = 0; i < PG_BANS_MAX; i++) {
        const pg_ban_row *row = &shared->table->bans[i];
        const char *key, *value;

        if (!row->addr.family || row->until <= now || row->lifted) {
            continue;
        }
        key = apr_pstrcat(ptemp, PG_BAN_KEY_PREFIX,
                          pg_addr_format(text, sizeof(text), &row->addr), NULL);
        value = apr_psprintf(ptemp, "%u", row->until);
        shared->ban_provider->store(shared->ban_cache, s,
                                    (const unsigned char *)key,
                                    (unsigned int)strlen(key),
                                    apr_time_from_sec(row->until),
                                    (unsigned char *)value,
                                    (unsigned int)strlen(value), ptemp);
    }
}

/* The ban store for this generation, from pconf like mod_ssl's session
 * cache: pg_check_config has vouched for provider and arguments. */
static int pg_ban_cache_setup(pg_shared *shared, server_rec *s,
                              apr_pool_t *pconf, apr_pool_t *ptemp)
{
    const pg_server_conf *conf = pg_conf_of(s);
    const char *spec = conf->ban_cache ? conf->ban_cache : "shmcb";
    struct ap_socache_hints hints = { 64, 16, 60 };
    const char *name, *args, *err;
    apr_status_t rv;

    shared->ban_cache = NULL;
    shared->ban_server = s;
    if (conf->ban_hits == PG_UNSET) {
        return OK;
    }
    shared->ban_provider = pg_ban_provider(ptemp, spec, &name, &args);
    err = shared->ban_provider->create(&shared->ban_cache, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, PG_TAG_BAN_CACHE
                     ": ProxyGuardBanCache %s: %s", spec, err);
        shared->ban_cache = NULL;
        return !OK;
    }
    rv = shared->ban_provider->init(shared->ban_cache, "mod_proxyguard",
                                    &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PG_TAG_BAN_CACHE
                     ": ProxyGuardBanCache %s: cannot initialise", spec);
        shared->ban_cache = NULL;
        return !OK;
    }
    apr_pool_cleanup_register(pconf, shared, pg_ban_cache_destroy,
                              apr_pool_cleanup_null);
    shared->ban_spec = apr_pstrdup(pconf, spec);
    pg_ban_cache_refill(shared, s, ptemp);
    return OK;
}

static int pg_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                          apr_pool_t *ptemp, server_rec *s)
{
    static const char *const key = "mod_proxyguard-shared";
    pg_shared *shared = NULL;
    server_rec *vhost;
    apr_status_t rv;

    (void)plog;
    /* the first pass only checks the configuration */
    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG) {
        return OK;
    }
    apr_pool_userdata_get((void **)&shared, key, s->process->pool);
    if (shared == NULL) {
        shared = apr_pcalloc(s->process->pool, sizeof(*shared));
        rv = ap_global_mutex_create(&shared->mutex, NULL, PG_MUTEX_TYPE, NULL,
                                    s, s->process->pool, 0);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, PG_TAG_TABLE_ERROR
                         ": cannot create the mutex %s", PG_MUTEX_TYPE);
            return !OK;
        }
        apr_pool_userdata_set(shared, key, apr_pool_cleanup_null,
                              s->process->pool);
    }
    if (pg_table_setup(shared, s) != OK
        || pg_ban_cache_setup(shared, s, pconf, ptemp) != OK) {
        return !OK;
    }
    pg_shm = shared;
    pg_main_conf = pg_conf_of(s);
    for (vhost = s; vhost; vhost = vhost->next) {
        pg_collect_names(pconf, vhost);
    }
    pg_warn_open_proxies(s);
    return OK;
}

static void pg_child_init(apr_pool_t *p, server_rec *s)
{
    apr_status_t rv;

    if (pg_shm == NULL) {
        return;
    }
    rv = apr_global_mutex_child_init(&pg_shm->mutex,
                                     apr_global_mutex_lockfile(pg_shm->mutex),
                                     p);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, PG_TAG_TABLE_ERROR
                     ": cannot reopen the mutex %s in a child", PG_MUTEX_TYPE);
    }
}

/* ------------------------------------------------------------------ */
/* Counting a hit                                                       */

static void pg_addr_of(const apr_sockaddr_t *sa, pg_addr *addr)
{
    memset(addr, 0, sizeof(*addr));
    if (sa == NULL) {
        return;
    }
#if APR_HAVE_IPV6
    if (sa->family == APR_INET6) {
        const unsigned char *b = sa->ipaddr_ptr;

        /* an IPv4-mapped address (::ffff:a.b.c.d) is that IPv4 client */
        if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)b)) {
            addr->family = 4;
            memcpy(addr->bytes, b + 12, 4);
        }
        else {
            addr->family = 6;
            memcpy(addr->bytes, b, 16);
        }
        return;
    }
#endif
    if (sa->family == APR_INET) {
        addr->family = 4;
        memcpy(addr->bytes, sa->ipaddr_ptr, 4);
    }
}

/* ------------------------------------------------------------------ */
/* Bans at request time                                                 */

static apr_status_t pg_lock(void)
{
    return apr_global_mutex_lock(pg_shm->mutex);
}

static void pg_unlock(void)
{
    apr_global_mutex_unlock(pg_shm->mutex);
}

/* A provider not safe for concurrent use (shmcb) goes under our mutex; it
 * is also this machine's own store, holding nothing the ban list lacks. */
static int pg_ban_cache_needs_lock(void)
{
    return (pg_shm->ban_provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) != 0;
}

static int pg_ban_exempt(request_rec *r)
{
    const apr_array_header_t *exempt = pg_main_conf->ban_exempt;
    int i;

    for (i = 0; exempt && i < exempt->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(exempt, i, apr_ipsubnet_t *),
                              r->useragent_addr)) {
            return 1;
        }
    }
    return 0;
}

static const char *pg_ban_key(apr_pool_t *p, const pg_addr *addr)
{
    char text[PG_CLIENT_TEXT_MAX];

    return apr_pstrcat(p, PG_BAN_KEY_PREFIX,
                       pg_addr_format(text, sizeof(text), addr), NULL);
}

/* A failing ban cache (memcached down ...) lets requests through: say so,
 * but at most once a minute per process, not once per request. */
static void pg_ban_cache_failed(request_rec *r, apr_status_t rv,
                                const char *what)
{
    static apr_time_t last;

    if (r->request_time - last > apr_time_from_sec(60)) {
        last = r->request_time;
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_BAN_CACHE
                      ": ban cache %s: %s failed; failing open (requests pass)",
                      pg_shm->ban_spec, what);
    }
}

/* Is the client banned?
 * - A local store (shmcb): the ban list in the shared table answers, with
 *   no lock and no lookup; it holds every ban this server started and it
 *   outlives restarts (the store is refilled from it at each start).
 * - A shared store (memcache, redis): the store answers, since another
 *   server may have started the ban, or lifted it; the list follows it. */
static int pg_ban_lookup(request_rec *r, const pg_addr *addr)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(r->request_time);
    const char *key;
    unsigned char value[32];
    unsigned int len = sizeof(value) - 1;
    pg_ban_row *row = pg_table_ban_find(pg_shm->table, addr, now);
    apr_status_t rv;

    if (pg_ban_cache_needs_lock()) {
        if (row) {
            apr_atomic_inc32(&row->blocked);
        }
        return row != NULL;
    }
    key = pg_ban_key(r->pool, addr);
    rv = pg_shm->ban_provider->retrieve(pg_shm->ban_cache, r->server,
                                        (const unsigned char *)key,
                                        (unsigned int)strlen(key), value,
                                        &len, r->pool);
    if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
        pg_ban_cache_failed(r, rv, "lookup");
        return 0;               /* fail open */
    }
    if ((rv == APR_NOTFOUND) != (row == NULL) && pg_lock() == APR_SUCCESS) {
        if (rv == APR_NOTFOUND) {
            pg_table_ban_lift(pg_shm->table, addr);     /* lifted elsewhere */
        }
        else {
            value[len] = '\0';
            pg_table_ban_add(pg_shm->table, addr, 0,
                             (apr_uint32_t)apr_atoi64((char *)value), 0);
        }
        pg_unlock();
        row = pg_table_ban_find(pg_shm->table, addr, now);
    }
    if (rv == APR_NOTFOUND) {
        return 0;
    }
    if (row) {
        apr_atomic_inc32(&row->blocked);
    }
    return 1;
}

static int pg_is_banned(request_rec *r)
{
    pg_addr addr;

    if (!pg_bans_on() || pg_ban_exempt(r)) {
        return 0;
    }
    pg_addr_of(r->useragent_addr, &addr);
    return addr.family && pg_ban_lookup(r, &addr);
}

/* A client reached ProxyGuardBan's count: store the ban (the shared store
 * makes it hold on every server using it) and log it, once. */
static void pg_ban_start(request_rec *r, const pg_addr *addr, apr_uint32_t hits,
                         apr_uint32_t until)
{
    const char *key = pg_ban_key(r->pool, addr);
    const char *value = apr_psprintf(r->pool, "%u", until);
    int locked = pg_ban_cache_needs_lock();
    apr_status_t rv;

    if (locked && pg_lock() != APR_SUCCESS) {
        return;
    }
    rv = pg_shm->ban_provider->store(pg_shm->ban_cache, r->server,
                                     (const unsigned char *)key,
                                     (unsigned int)strlen(key),
                                     apr_time_from_sec(until),
                                     (unsigned char *)value,
                                     (unsigned int)strlen(value), r->pool);
    if (locked) {
        pg_unlock();
    }
    if (rv != APR_SUCCESS) {
        pg_ban_cache_failed(r, rv, "store");
    }
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN
                  ": ban start: %u hits in %d s, banned for %d s",
                  hits, pg_main_conf->ban_window, pg_main_conf->ban_duration);
}

/* Lifts a ban everywhere the store reaches; 0 if none was known here. */
static int pg_ban_lift(request_rec *r, const pg_addr *addr)
{
    const char *key = pg_ban_key(r->pool, addr);
    int found = 0, locked = pg_ban_cache_needs_lock();

    if (pg_lock() != APR_SUCCESS) {
        return 0;
    }
    found = pg_table_ban_lift(pg_shm->table, addr);
    if (locked) {
        pg_shm->ban_provider->remove(pg_shm->ban_cache, r->server,
                                     (const unsigned char *)key,
                                     (unsigned int)strlen(key), r->pool);
    }
    pg_unlock();
    if (!locked) {
        pg_shm->ban_provider->remove(pg_shm->ban_cache, r->server,
                                     (const unsigned char *)key,
                                     (unsigned int)strlen(key), r->pool);
    }
    return found;
}

/* The exact counters need no lock; the per-client detail takes the mutex
 * for a few hundred nanoseconds.  Only hits get here. */
static void pg_count_hit(request_rec *r, const pg_verdict *v,
                         pg_record_result *res)
{
    pg_hit hit;
    apr_status_t rv;
    apr_uint32_t until = 0;

    memset(res, 0, sizeof(*res));
    res->log = 1;               /* unless the table says otherwise */
    if (pg_shm == NULL) {
        return;
    }
    hit.vhost = (apr_uint32_t)pg_conf_of(r->server)->vhost_row;
    hit.reason = v->reason;
    hit.action = v->action;
    pg_addr_of(r->useragent_addr, &hit.addr);
    hit.client = r->useragent_ip;
    hit.connect_port = v->reason == PG_REASON_CONNECT && r->parsed_uri.port_str
                       ? r->parsed_uri.port : 0;
    hit.method = r->method;
    hit.target = r->unparsed_uri;
    hit.host = apr_table_get(r->headers_in, "Host");
    hit.now = r->request_time;
    /* only rejections (or DetectOnly's would-be rejections) lead to bans:
     * unknown-host under Detect and proxy-header are too weak a signal */
    hit.ban_hits = hit.ban_window = 0;
    if (v->status && pg_bans_on() && !pg_ban_exempt(r)) {
        hit.ban_hits = (apr_uint32_t)pg_main_conf->ban_hits;
        hit.ban_window = (apr_uint32_t)pg_main_conf->ban_window;
    }
    hit.log_lines = pg_main_conf->log_lines == PG_UNSET
                    ? PG_LOG_LINES_DEFAULT : (apr_uint32_t)pg_main_conf->log_lines;
    hit.log_window = pg_main_conf->log_window == PG_UNSET
                     ? PG_LOG_WINDOW_DEFAULT
                     : (apr_uint32_t)pg_main_conf->log_window;

    pg_table_count(pg_shm->table, &hit);
    if (v->reason == PG_REASON_BANNED) {
        return;         /* a banned flood takes no lock */
    }
    if ((rv = pg_lock()) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, PG_TAG_TABLE_ERROR
                      ": cannot lock %s; hit counted, details skipped",
                      PG_MUTEX_TYPE);
        return;
    }
    pg_table_record(pg_shm->table, &hit, res);
    if (res->ban_hits) {
        until = (apr_uint32_t)apr_time_sec(hit.now) + pg_main_conf->ban_duration;
        pg_table_ban_add(pg_shm->table, &hit.addr,
                         (apr_uint32_t)apr_time_sec(hit.now), until,
                         res->ban_hits);
    }
    pg_unlock();
    if (res->ban_hits) {
        pg_ban_start(r, &hit.addr, res->ban_hits, until);
    }
}

/* ------------------------------------------------------------------ */
/* What a hit leaves behind                                             */

/* An attacker-controlled field for the log line: cut to PG_LOG_FIELD_MAX
 * bytes first (an escape sequence is never split, the line stays bounded),
 * '"' written as %22 so that a raw quote in the line only ever delimits a
 * field, then ap_escape_logitem for control bytes, bytes >= 0x80 and '\'.
 * A stock httpd escapes the message once more when it writes the error log
 * (backslashes doubled); builds with AP_UNSAFE_ERROR_LOG_UNESCAPED don't,
 * and are safe all the same. */
static const char *pg_log_field(apr_pool_t *p, const char *s)
{
    apr_size_t len, i;
    char *copy;
    const char *escaped;

    if (s == NULL) {
        return "";
    }
    len = strlen(s);
    if (len > PG_LOG_FIELD_MAX) {
        len = PG_LOG_FIELD_MAX;
    }
    copy = apr_palloc(p, len * 3 + 1);
    for (i = 0; len > 0; s++, len--) {
        if (*s == '"') {
            memcpy(copy + i, "%22", 3);
            i += 3;
        }
        else {
            copy[i++] = *s;
        }
    }
    copy[i] = '\0';
    escaped = ap_escape_logitem(p, copy);
    return s[0] ? apr_pstrcat(p, escaped, "...", NULL) : escaped;
}

static void pg_log_hit(request_rec *r, const pg_verdict *v)
{
    /* Rejections (and DetectOnly's would-be rejections) are warnings; hits
     * that only count are info. */
    int level = v->status ? APLOG_WARNING : APLOG_INFO;

    if (!APLOG_R_IS_LEVEL(r, level)) {
        return;
    }
    ap_log_rerror(APLOG_MARK, level, 0, r,
                  PG_TAG_HIT ": action=%s reason=%s vhost=%s "
                  "method=\"%s\" uri=\"%s\" host=\"%s\"",
                  pg_action_name(v->action), pg_reason_name(v->reason),
                  r->server->server_hostname,
                  pg_log_field(r->pool, r->method),
                  pg_log_field(r->pool, r->unparsed_uri),
                  pg_log_field(r->pool, apr_table_get(r->headers_in, "Host")));
}

/* The hits of this client that ProxyGuardLogLimit kept out of the log. */
static void pg_log_suppressed(request_rec *r, const pg_record_result *res)
{
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_SUPPRESSED
                  ": %u more hits from this client in the last %u s were "
                  "counted but not logged (ProxyGuardLogLimit)",
                  res->suppressed, res->log_window);
}

/* PROXYGUARD=reason for mod_log_config (%{PROXYGUARD}e, env=PROXYGUARD),
 * SetEnvIf and mod_rewrite; the same in r->notes for %{PROXYGUARD}n. */
static void pg_publish_hit(request_rec *r, const pg_verdict *v)
{
    const char *reason = pg_reason_name(v->reason);
    const char *action = pg_action_name(v->action);

    apr_table_setn(r->subprocess_env, "PROXYGUARD", reason);
    apr_table_setn(r->subprocess_env, "PROXYGUARD_ACTION", action);
    apr_table_setn(r->notes, "PROXYGUARD", reason);
    apr_table_setn(r->notes, "PROXYGUARD_ACTION", action);
}

/* ------------------------------------------------------------------ */
/* The hook                                                             */

/* ProxyGuardConnectPorts unset: HTTPS only. */
static const unsigned pg_default_connect_ports[] = { 443 };

static pg_span pg_span_of(const char *s)
{
    pg_span span;

    span.ptr = s;
    span.len = s ? strlen(s) : 0;
    return span;
}

static int pg_is_proxy_client(request_rec *r, const pg_server_conf *conf)
{
    int i;

    for (i = 0; conf->proxy_clients && i < conf->proxy_clients->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(conf->proxy_clients, i,
                                            apr_ipsubnet_t *),
                              r->useragent_addr)) {
            return 1;
        }
    }
    return 0;
}

/* Host (the first, as apr_table_get gives it) and whether a proxy header
 * came: one pass over the request headers instead of three lookups, since
 * this runs for every request. */
static void pg_scan_headers(request_rec *r, pg_request *req)
{
    const apr_array_header_t *hdrs = apr_table_elts(r->headers_in);
    const apr_table_entry_t *e = (const apr_table_entry_t *)hdrs->elts;
    const char *host = NULL;
    int i;

    req->has_proxy_header = 0;
    for (i = 0; i < hdrs->nelts; i++) {
        const char *key = e[i].key;

        if (key == NULL) {
            continue;
        }
        if ((key[0] == 'H' || key[0] == 'h') && host == NULL
            && !ap_cstr_casecmp(key, "Host")) {
            host = e[i].val;
        }
        else if ((key[0] == 'P' || key[0] == 'p')
                 && (!ap_cstr_casecmp(key, "Proxy-Connection")
                     || !ap_cstr_casecmp(key, "Proxy-Authorization"))) {
            req->has_proxy_header = 1;
        }
    }
    req->host = pg_span_of(host);
}

static void pg_request_from(request_rec *r, const pg_server_conf *conf,
                            pg_request *req)
{
    req->method = pg_span_of(r->method);
    req->uri = pg_span_of(r->unparsed_uri);
    pg_scan_headers(r, req);
    req->local_port = r->connection->local_addr->port;
    req->server_port = r->server->port;
    req->proxy_client = pg_is_proxy_client(r, conf);
}

/* The vhost's settings, as pg_decide wants them (mode already set). */
static void pg_policy_from(request_rec *r, const pg_server_conf *conf,
                           pg_policy *policy)
{
    policy->unknown_host = pg_effective_unknown_host(conf);
    policy->allow = conf->allow_hosts
                    ? (const pg_hostpat *)conf->allow_hosts->elts : NULL;
    policy->n_allow = conf->allow_hosts ? (size_t)conf->allow_hosts->nelts : 0;
    policy->connect_ports = conf->connect_ports
                            ? (const unsigned *)conf->connect_ports->elts
                            : pg_default_connect_ports;
    policy->n_connect_ports = conf->connect_ports
                              ? (size_t)conf->connect_ports->nelts : 1;
    policy->is_own_host = pg_is_own_host;
    policy->baton = r;
}

static int pg_reject_later(request_rec *r, const pg_verdict *v);

static int pg_post_read_request(request_rec *r)
{
    const pg_server_conf *conf;
    pg_request req;
    pg_policy policy;
    pg_verdict v;
    pg_record_result res;

    /* Decide once, on the request as the client sent it: internal
     * redirects (ErrorDocument among them) and subrequests run this hook
     * again. */
    if (r->prev || r->main) {
        return DECLINED;
    }
    conf = pg_conf_of(r->server);
    policy.mode = pg_effective_mode(conf);
    if (policy.mode == PG_MODE_OFF) {
        return DECLINED;
    }
    if (pg_is_banned(r)) {
        /* before any other work; counted, never logged per request */
        v.reason = PG_REASON_BANNED;
        v.status = HTTP_FORBIDDEN;
        v.action = policy.mode == PG_MODE_DETECT_ONLY ? PG_ACTION_DETECT
                                                      : PG_ACTION_DENY;
        pg_publish_hit(r, &v);
        pg_count_hit(r, &v, &res);
        return pg_reject_later(r, &v);
    }
    pg_policy_from(r, conf, &policy);
    pg_request_from(r, conf, &req);
    v = pg_decide(&req, &policy);
    if (v.reason == PG_REASON_NONE) {
        return DECLINED;
    }
    pg_publish_hit(r, &v);
    pg_count_hit(r, &v, &res);
    if (res.suppressed) {
        pg_log_suppressed(r, &res);
    }
    if (res.log) {
        pg_log_hit(r, &v);
    }
    return pg_reject_later(r, &v);
}

/* The answer to a rejected request is given by pg_quick_handler, the first
 * thing httpd runs after post_read_request: before translate_name,
 * map_to_storage, access control and any content or proxy handler.  Not
 * returning it from post_read_request itself matters: a request that dies
 * there makes httpd drop the connection, so every probe of a flood would
 * cost a new TCP connection where stock httpd keeps it alive. */
static int pg_reject_later(request_rec *r, const pg_verdict *v)
{
    const char *scheme = r->parsed_uri.scheme;

    /* httpd itself answers 400 to a scheme other than http(s) right after
     * post_read_request (protocol.c): such a rejection has to be given
     * here to be ours */
    if (v->action == PG_ACTION_DENY && scheme && ap_cstr_casecmp(scheme, "http")
        && ap_cstr_casecmp(scheme, "https")) {
        return v->status;
    }
    if (v->action == PG_ACTION_DENY) {
        int *status = apr_palloc(r->pool, sizeof(*status));

        *status = v->status;
        ap_set_module_config(r->request_config, &proxyguard_module, status);
    }
    return DECLINED;
}

static int pg_quick_handler(request_rec *r, int lookup_uri)
{
    const int *status = ap_get_module_config(r->request_config,
                                             &proxyguard_module);

    if (status == NULL || lookup_uri) {
        return DECLINED;
    }
    if (*status == HTTP_METHOD_NOT_ALLOWED) {
        /* ap_send_error_response builds Allow from r->allowed_methods */
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", "OPTIONS",
                         NULL);
    }
    return *status;
}

/* ------------------------------------------------------------------ */
/* The status handler and the /server-status section                    */

static void pg_write_to_request(void *baton, const char *data, apr_size_t len)
{
    ap_rwrite(data, (int)len, baton);
}

/* A private copy of the table, so rendering takes no lock and sees one
 * consistent moment. */
static const pg_table *pg_snapshot(apr_pool_t *p)
{
    pg_table *copy;

    if (pg_shm == NULL) {
        return NULL;
    }
    copy = apr_palloc(p, pg_shm->bytes);
    if (apr_global_mutex_lock(pg_shm->mutex) != APR_SUCCESS) {
        return NULL;
    }
    memcpy(copy, pg_shm->table, pg_shm->bytes);
    apr_global_mutex_unlock(pg_shm->mutex);
    return copy;
}

/* ?auto, ?json, ?prometheus, ?refresh=N, in any order, '&'-separated. */
static pg_format pg_status_args(request_rec *r, int *refresh)
{
    pg_format format = PG_FORMAT_HTML;
    char *args = r->args ? apr_pstrdup(r->pool, r->args) : NULL;
    char *word, *state;

    *refresh = 0;
    for (word = args ? apr_strtok(args, "&", &state) : NULL; word;
         word = apr_strtok(NULL, "&", &state)) {
        if (!strcmp(word, "auto")) {
            format = PG_FORMAT_AUTO;
        }
        else if (!strcmp(word, "json")) {
            format = PG_FORMAT_JSON;
        }
        else if (!strcmp(word, "prometheus")) {
            format = PG_FORMAT_PROMETHEUS;
        }
        else if (!strncmp(word, "refresh=", 8)) {
            int n = atoi(word + 8);

            *refresh = n < 1 ? 1 : n > 3600 ? 3600 : n;
        }
    }
    return format;
}

/* The value of one field of a POSTed form, or NULL. */
static const char *pg_form_field(request_rec *r, const char *name)
{
    apr_array_header_t *pairs = NULL;
    int i;

    if (ap_parse_form_data(r, NULL, &pairs, 16, 4096) != OK || !pairs) {
        return NULL;
    }
    for (i = 0; i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *value;

        if (strcmp(pair->name, name)
            || apr_brigade_length(pair->value, 1, &len) != APR_SUCCESS
            || len > 256) {
            continue;
        }
        size = (apr_size_t)len;
        value = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, value, &size);
        value[size] = '\0';
        return value;
    }
    return NULL;
}

/* POST unban=ADDRESS: lift a ban without a restart.  Who may do this is
 * the Require of the location (see docs/bans.md). */
static int pg_status_unban(request_rec *r)
{
    const char *text = pg_form_field(r, "unban");
    pg_addr addr;
    char shown[PG_CLIENT_TEXT_MAX];
    int found;

    if (!pg_bans_on()) {
        return HTTP_NOT_FOUND;
    }
    if (text == NULL || !pg_addr_parse(text, &addr)) {
        return HTTP_BAD_REQUEST;
    }
    found = pg_ban_lift(r, &addr);
    pg_addr_format(shown, sizeof(shown), &addr);
    ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, PG_TAG_BAN_LIFTED
                  ": ban on %s lifted by an operator%s", shown,
                  found ? "" : " (none was listed here)");
    ap_set_content_type(r, "text/plain; charset=us-ascii");
    ap_rprintf(r, "ban on %s lifted%s\n", shown,
               found ? "" : " (none was listed here; removed from the ban cache)");
    return OK;
}

static int pg_status_handler(request_rec *r)
{
    pg_status_opts opts;
    pg_format format;
    const pg_table *snap;
    pg_out out;

    /* every request of the server passes here: the first byte settles
     * almost all of them */
    if (r->handler[0] != PG_HANDLER[0] || strcmp(r->handler, PG_HANDLER)) {
        return DECLINED;
    }
    if (r->method_number == M_POST) {
        return pg_status_unban(r);
    }
    if (r->method_number != M_GET) {            /* GET, and so HEAD */
        ap_allow_methods(r, REPLACE_ALLOW, "GET", "HEAD", "POST", NULL);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    if (pg_shm == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    format = pg_status_args(r, &opts.refresh);
    ap_set_content_type(r, pg_status_content_type(format));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->header_only) {
        return OK;      /* HEAD: no need to copy the table */
    }
    if ((snap = pg_snapshot(r->pool)) == NULL) {
        return HTTP_SERVICE_UNAVAILABLE;
    }
    opts.now = apr_time_now();
    opts.version = PG_VERSION;
    opts.table_bytes = pg_shm->bytes;
    out.write = pg_write_to_request;
    out.baton = r;
    pg_status_render(&out, r->pool, format, snap, &opts);
    return OK;
}

/* mod_status's optional hook: a few lines in /server-status (and ?auto). */
static int pg_server_status_hook(request_rec *r, int flags)
{
    const pg_table *snap = pg_snapshot(r->pool);
    pg_out out;

    if (snap == NULL) {
        return OK;
    }
    out.write = pg_write_to_request;
    out.baton = r;
    if (flags & AP_STATUS_SHORT) {
        pg_status_auto_lines(&out, snap);
    }
    else {
        pg_status_html_summary(&out, snap);
    }
    return OK;
}

static void pg_register_hooks(apr_pool_t *p)
{
    /* after mod_remoteip, so r->useragent_ip is the real client */
    static const char *const pg_after[] = { "mod_remoteip.c", NULL };

    (void)p;
    ap_hook_post_read_request(pg_post_read_request, pg_after, NULL,
                              APR_HOOK_FIRST);
    /* answers what pg_post_read_request rejected, before anything else */
    ap_hook_quick_handler(pg_quick_handler, NULL, NULL, APR_HOOK_REALLY_FIRST);
    ap_hook_pre_config(pg_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(pg_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(pg_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(pg_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(pg_status_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, pg_server_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}

static const command_rec pg_cmds[] = {
    AP_INIT_TAKE1("ProxyGuard", pg_cmd_mode, (void *)pg_mode_words,
                  RSRC_CONF,
                  "On (reject proxy-style requests), Off, or DetectOnly "
                  "(log and count, never reject)"),
    AP_INIT_ITERATE("ProxyGuardAllowHost", pg_cmd_allow_host, NULL,
                    RSRC_CONF,
                    "host names treated as our own: names, *.suffix "
                    "wildcards, IPv4 and IPv6 addresses"),
    AP_INIT_TAKE1("ProxyGuardUnknownHost", pg_cmd_unknown_host,
                  (void *)pg_unknown_host_words, RSRC_CONF,
                  "what to do with a Host that names none of our vhosts: "
                  "Allow, Detect (count and log) or Deny (403)"),
    AP_INIT_ITERATE("ProxyGuardProxyClients", pg_cmd_proxy_clients, NULL,
                    RSRC_CONF,
                    "addresses or CIDR ranges that may use this server as a "
                    "forward proxy"),
    AP_INIT_ITERATE("ProxyGuardConnectPorts", pg_cmd_connect_ports, NULL,
                    RSRC_CONF,
                    "the only ports proxy clients may CONNECT to (default "
                    "443)"),
    AP_INIT_TAKE3("ProxyGuardBan", pg_cmd_ban, NULL, RSRC_CONF,
                  "hits seconds duration: ban an address with that many hits "
                  "within that many seconds, for duration seconds"),
    AP_INIT_ITERATE("ProxyGuardBanExempt", pg_cmd_ban_exempt, NULL, RSRC_CONF,
                    "addresses or CIDR ranges that are never banned"),
    AP_INIT_TAKE1("ProxyGuardBanCache", pg_cmd_ban_cache, NULL, RSRC_CONF,
                  "where bans are kept: a socache provider[:args], e.g. "
                  "shmcb (default), memcache:host:port, redis:host:port"),
    AP_INIT_TAKE2("ProxyGuardLogLimit", pg_cmd_log_limit, NULL, RSRC_CONF,
                  "lines seconds: log at most that many hits per client per "
                  "that many seconds, then one summary (0 lines: no limit)"),
    AP_INIT_TAKE1("ProxyGuardTableSize", pg_cmd_table_size, NULL, RSRC_CONF,
                  "client addresses the shared hit table tracks (server "
                  "config only)"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

AP_DECLARE_MODULE(proxyguard) = {
    STANDARD20_MODULE_STUFF,
    NULL,                       /* create per-directory config */
    NULL,                       /* merge per-directory config */
    pg_create_server_conf,      /* create per-server config */
    pg_merge_server_conf,       /* merge per-server config */
    pg_cmds,                    /* directives */
    pg_register_hooks,          /* hooks */
    AP_MODULE_FLAG_ALWAYS_MERGE /* every vhost gets its own merged config */
};
