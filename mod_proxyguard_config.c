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
 * mod_proxyguard_config.c: the directives, the configuration structs and
 * their defaults.
 *
 * Two structs, as mod_md has them: pg_global_conf holds what only the main
 * server may set (one per configuration generation, in pconf's userdata),
 * pg_vhost_conf what every vhost may set, with a pointer to the global one.
 * Unset is PG_UNSET or NULL until pg_config_finish, the one place where
 * defaults are filled in, after which the request path reads the vhost's
 * ready-made pg_policy.
 */

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "apr_strings.h"
#include "mod_proxy.h"

#include "pg_backend.h"
#include "pg_table.h"
#include "mod_proxyguard_private.h"
#include "mod_proxyguard_config.h"


/* Defaults, all of them (docs/directives.md lists them; pg_config_finish
 * fills them in).  ProxyGuard On and ProxyGuardUnknownHost Detect are in
 * pg_policy_finish.  ProxyGuardLogLimit: fail2ban's default (5 failures in
 * 10 minutes) always sees enough lines, a flood never fills the disk.
 * Proxy clients may CONNECT to HTTPS only and fetch http and https URLs on
 * their default ports only: never a mail port unless the operator says
 * so.  Bans are kept in this machine's own shared memory unless a shared
 * store is named. */
#define PG_TABLE_SIZE_DEFAULT 4096
#define PG_LOG_LINES_DEFAULT  10
#define PG_LOG_WINDOW_DEFAULT 60
#define PG_BAN_CACHE_DEFAULT  "shmcb"
#define PG_BAN_NET6_DEFAULT   4   /* a /64 holds at most 3 address bans + 1 */
#define PG_BAN_NET6_MIN       2
#define PG_BAN_NET6_MAX       64
static const pg_port_range pg_default_connect_ports[] = { { 443, 443 } };
static const pg_port_range pg_default_proxy_ports[] = { { 80, 80 },
                                                        { 443, 443 } };

#define PG_GLOBAL_KEY "mod_proxyguard-global"

/* The global settings of the configuration being read (pool is pconf). */
static pg_global_conf *pg_global_of(apr_pool_t *pool)
{
    pg_global_conf *g = NULL;

    apr_pool_userdata_get((void **)&g, PG_GLOBAL_KEY, pool);
    if (g == NULL) {
        g = apr_pcalloc(pool, sizeof(*g));
        g->table_size = PG_UNSET;
        g->ban_hits = PG_UNSET;
        g->ban_window = PG_UNSET;
        g->ban_duration = PG_UNSET;
        g->ban_net6 = PG_UNSET;
        g->ban_exempt = NULL;
        g->ban_cache = NULL;
        g->ban_cache_given = 0;
        g->log_lines = PG_UNSET;
        g->log_window = PG_UNSET;
        g->fixed_backends = NULL;
        apr_pool_userdata_set(g, PG_GLOBAL_KEY, apr_pool_cleanup_null, pool);
    }
    return g;
}

void *pg_create_server_conf(apr_pool_t *p, server_rec *s)
{
    pg_vhost_conf *conf = apr_pcalloc(p, sizeof(*conf));

    (void)s;
    conf->mode = PG_UNSET;
    conf->unknown_host = PG_UNSET;
    conf->allow_hosts = NULL;
    conf->proxy_clients = NULL;
    conf->connect_ports = NULL;
    conf->proxy_ports = NULL;
    conf->proxy_schemes = PG_UNSET;
    conf->dynamic_backends = NULL;
    conf->global = pg_global_of(p);
    return conf;
}

/* A vhost's own setting wins where it has one.  Names add up (the main
 * server's AllowHost names are every vhost's); who may proxy and where to
 * replace, so that one vhost can be stricter than the server. */
void *pg_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    const pg_vhost_conf *base = basev;
    const pg_vhost_conf *add = addv;
    pg_vhost_conf *conf = apr_pcalloc(p, sizeof(*conf));

    conf->mode = add->mode != PG_UNSET ? add->mode : base->mode;
    conf->unknown_host = add->unknown_host != PG_UNSET ? add->unknown_host
                                                       : base->unknown_host;
    conf->allow_hosts = base->allow_hosts && add->allow_hosts
                        ? apr_array_append(p, base->allow_hosts,
                                           add->allow_hosts)
                        : add->allow_hosts ? add->allow_hosts
                                           : base->allow_hosts;
    conf->proxy_clients = add->proxy_clients ? add->proxy_clients
                                             : base->proxy_clients;
    conf->connect_ports = add->connect_ports ? add->connect_ports
                                             : base->connect_ports;
    conf->proxy_ports = add->proxy_ports ? add->proxy_ports : base->proxy_ports;
    conf->proxy_schemes = add->proxy_schemes != PG_UNSET ? add->proxy_schemes
                                                         : base->proxy_schemes;
    conf->dynamic_backends = add->dynamic_backends ? add->dynamic_backends
                                                   : base->dynamic_backends;
    conf->global = base->global;
    return conf;
}

/* ------------------------------------------------------------------ */
/* Directive arguments                                                  */

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

/* A whole number in [min, max] (min >= 0: every directive's is), or an
 * error naming directive and value. */
static const char *pg_parse_number(cmd_parms *cmd, const char *arg, int min,
                                   int max, int *out)
{
    unsigned long n;

    if (!pg_parse_uint(arg, strlen(arg), (unsigned long)max, &n)
        || n < (unsigned long)min) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a number from %d to %d",
                            cmd->cmd->name, arg, min, max);
    }
    *out = (int)n;
    return NULL;
}

/* "192.0.2.0/24", "2001:db8::/32", "192.0.2.7": one apr_ipsubnet_t.  The
 * address must be whole: apr_ipsubnet_create takes "10" for 10.0.0.0/8,
 * which nobody means by writing it. */
static const char *pg_parse_subnet(cmd_parms *cmd, const char *arg,
                                   apr_ipsubnet_t **subnet)
{
    char *ip = apr_pstrdup(cmd->temp_pool, arg);
    char *mask = ap_strchr(ip, '/');
    unsigned char bytes[16];

    if (mask) {
        *mask++ = '\0';
    }
    if (!pg_ip_parse((pg_span){ ip, strlen(ip) }, bytes)) {
        return apr_psprintf(cmd->pool, "%s: '%s' is not a whole IP address "
                            "(write a network as 10.0.0.0/8 or 2001:db8::/32)",
                            cmd->cmd->name, arg);
    }
    if (apr_ipsubnet_create(subnet, ip, mask, cmd->pool) != APR_SUCCESS) {
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

/* One more parsed argument for a list directive (created on first use):
 * err is what the parser said of arg, item what it made of it. */
static const char *pg_push_parsed(cmd_parms *cmd, apr_array_header_t **list,
                                  const char *arg, const char *err,
                                  const void *item, size_t size)
{
    if (err) {
        return apr_psprintf(cmd->pool, "%s: '%s' is %s", cmd->cmd->name, arg,
                            err);
    }
    if (*list == NULL) {
        *list = apr_array_make(cmd->pool, 4, (int)size);
    }
    memcpy(apr_array_push(*list), item, size);
    return NULL;
}

/* One more port or port range for ProxyGuardConnectPorts / ProxyPorts. */
static const char *pg_push_ports(cmd_parms *cmd, apr_array_header_t **list,
                                 const char *arg)
{
    pg_port_range range;
    const char *err = pg_port_range_parse(arg, &range);

    return pg_push_parsed(cmd, list, arg, err, &range, sizeof(range));
}

/* ------------------------------------------------------------------ */
/* Directives                                                           */

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
    pg_hostpat pat;
    const char *err = pg_hostpat_parse(arg, &pat);

    (void)dummy;
    return pg_push_parsed(cmd, &pg_conf_of(cmd->server)->allow_hosts, arg, err,
                          &pat, sizeof(pat));
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
    (void)dummy;
    return pg_push_ports(cmd, &pg_conf_of(cmd->server)->connect_ports, arg);
}

static const char *pg_cmd_proxy_ports(cmd_parms *cmd, void *dummy,
                                      const char *arg)
{
    (void)dummy;
    return pg_push_ports(cmd, &pg_conf_of(cmd->server)->proxy_ports, arg);
}

/* One more scheme for ProxyGuardProxySchemes: the first replaces the
 * default list. */
static const char *pg_cmd_proxy_schemes(cmd_parms *cmd, void *dummy,
                                        const char *arg)
{
    pg_vhost_conf *conf = pg_conf_of(cmd->server);
    pg_span scheme;
    unsigned bit;

    (void)dummy;
    scheme.ptr = arg;
    scheme.len = strlen(arg);
    if ((bit = pg_scheme_bit(scheme)) == 0) {
        return apr_psprintf(cmd->pool, "%s: '%s' is no scheme mod_proxy has "
                            "a handler for (http https ws wss h2c h2 ftp fcgi "
                            "scgi uwsgi ajp)", cmd->cmd->name, arg);
    }
    if (conf->proxy_schemes == PG_UNSET) {
        conf->proxy_schemes = 0;
    }
    conf->proxy_schemes |= (int)bit;
    return NULL;
}

static const char *pg_cmd_dynamic_backends(cmd_parms *cmd, void *dummy,
                                           const char *arg)
{
    pg_backend_pat pat;
    const char *err = pg_backend_pat_parse(arg, &pat);

    (void)dummy;
    return pg_push_parsed(cmd, &pg_conf_of(cmd->server)->dynamic_backends,
                          arg, err, &pat, sizeof(pat));
}

static const char *pg_cmd_ban(cmd_parms *cmd, void *dummy, const char *hits,
                              const char *seconds, const char *duration)
{
    pg_global_conf *g = pg_conf_of(cmd->server)->global;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err
        || (err = pg_parse_number(cmd, hits, 1, 1000000, &g->ban_hits))
        || (err = pg_parse_number(cmd, seconds, 1, 86400 * 30, &g->ban_window))
        || (err = pg_parse_number(cmd, duration, 1, 86400 * 365,
                                  &g->ban_duration))) {
        return err;
    }
    return NULL;
}

/* A number of the whole server's (server config only). */
static const char *pg_global_number(cmd_parms *cmd, const char *arg, int min,
                                    int max, int *out)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    return err ? err : pg_parse_number(cmd, arg, min, max, out);
}

static const char *pg_cmd_ban_net6(cmd_parms *cmd, void *dummy,
                                   const char *arg)
{
    (void)dummy;
    return pg_global_number(cmd, arg, PG_BAN_NET6_MIN, PG_BAN_NET6_MAX,
                            &pg_conf_of(cmd->server)->global->ban_net6);
}

static const char *pg_cmd_ban_exempt(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    return err ? err : pg_push_subnet(cmd, &pg_conf_of(cmd->server)->global
                                               ->ban_exempt, arg);
}

static const char *pg_cmd_ban_cache(cmd_parms *cmd, void *dummy,
                                    const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err) {
        return err;
    }
    pg_conf_of(cmd->server)->global->ban_cache = arg;
    pg_conf_of(cmd->server)->global->ban_cache_given = 1;
    return NULL;
}

static const char *pg_cmd_log_limit(cmd_parms *cmd, void *dummy,
                                    const char *lines, const char *seconds)
{
    pg_global_conf *g = pg_conf_of(cmd->server)->global;
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    (void)dummy;
    if (err
        || (err = pg_parse_number(cmd, lines, 0, 1000000, &g->log_lines))
        || (err = pg_parse_number(cmd, seconds, 1, 86400, &g->log_window))) {
        return err;
    }
    return NULL;
}

static const char *pg_cmd_table_size(cmd_parms *cmd, void *dummy,
                                     const char *arg)
{
    (void)dummy;
    return pg_global_number(cmd, arg, PG_TABLE_SIZE_MIN, PG_TABLE_SIZE_MAX,
                            &pg_conf_of(cmd->server)->global->table_size);
}

const command_rec pg_cmds[] = {
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
                    "the only ports (or low-high ranges) proxy clients may "
                    "CONNECT to"),
    AP_INIT_ITERATE("ProxyGuardProxyPorts", pg_cmd_proxy_ports, NULL,
                    RSRC_CONF,
                    "the only ports (or low-high ranges) proxy clients' "
                    "absolute URIs may name"),
    AP_INIT_ITERATE("ProxyGuardProxySchemes", pg_cmd_proxy_schemes, NULL,
                    RSRC_CONF,
                    "the only schemes proxy clients' absolute URIs may use "
                    "(default: http https ws wss)"),
    AP_INIT_ITERATE("ProxyGuardDynamicBackends", pg_cmd_dynamic_backends,
                    NULL, RSRC_CONF,
                    "backends (host[:port], *.suffix, addresses) that a "
                    "reverse-proxy rule may take from the request"),
    AP_INIT_TAKE3("ProxyGuardBan", pg_cmd_ban, NULL, RSRC_CONF,
                  "hits seconds duration: ban an address with that many hits "
                  "within that many seconds, for duration seconds"),
    AP_INIT_TAKE1("ProxyGuardBanNet6", pg_cmd_ban_net6, NULL, RSRC_CONF,
                  "N: when N addresses of one IPv6 /64 are banned, ban the "
                  "/64 instead (2 to 64, default 4)"),
    AP_INIT_ITERATE("ProxyGuardBanExempt", pg_cmd_ban_exempt, NULL, RSRC_CONF,
                    "addresses or CIDR ranges that are never banned"),
    AP_INIT_TAKE1("ProxyGuardBanCache", pg_cmd_ban_cache, NULL, RSRC_CONF,
                  "where bans are kept: a socache provider[:args], e.g. "
                  PG_BAN_CACHE_DEFAULT " (default), memcache:host:port, "
                  "redis:host:port"),
    AP_INIT_TAKE2("ProxyGuardLogLimit", pg_cmd_log_limit, NULL, RSRC_CONF,
                  "lines seconds: log at most that many hits per client per "
                  "that many seconds, then one summary (0 lines: no limit)"),
    AP_INIT_TAKE1("ProxyGuardTableSize", pg_cmd_table_size, NULL, RSRC_CONF,
                  "client addresses the shared hit table tracks, and bans it "
                  "can hold (server config only)"),
    { NULL, { NULL }, NULL, 0, 0, NULL }
};

/* ------------------------------------------------------------------ */
/* After the configuration is read                                      */

static void pg_global_finish(pg_global_conf *g)
{
    if (g->table_size == PG_UNSET) {
        g->table_size = PG_TABLE_SIZE_DEFAULT;
    }
    if (g->log_lines == PG_UNSET) {
        g->log_lines = PG_LOG_LINES_DEFAULT;
        g->log_window = PG_LOG_WINDOW_DEFAULT;
    }
    if (g->ban_cache == NULL) {
        g->ban_cache = PG_BAN_CACHE_DEFAULT;
    }
    if (g->ban_net6 == PG_UNSET) {
        g->ban_net6 = PG_BAN_NET6_DEFAULT;
    }
}

static const pg_port_range *pg_ranges(const apr_array_header_t *list,
                                      const pg_port_range *fallback,
                                      size_t n_fallback, size_t *n)
{
    *n = list ? (size_t)list->nelts : n_fallback;
    return list ? (const pg_port_range *)list->elts : fallback;
}

/* The vhost's pg_policy, as the request path hands it to pg_decide (the
 * baton is set per request). */
static void pg_policy_finish(pg_vhost_conf *conf)
{
    pg_policy *p = &conf->policy;

    p->mode = conf->mode == PG_UNSET ? PG_MODE_ON : (pg_mode)conf->mode;
    p->unknown_host = conf->unknown_host == PG_UNSET
                      ? PG_UNKNOWN_DETECT : (pg_unknown_host)conf->unknown_host;
    p->allow = conf->allow_hosts ? (const pg_hostpat *)conf->allow_hosts->elts
                                 : NULL;
    p->n_allow = conf->allow_hosts ? (size_t)conf->allow_hosts->nelts : 0;
    p->connect_ports = pg_ranges(conf->connect_ports, pg_default_connect_ports,
                                 1, &p->n_connect_ports);
    p->proxy_ports = pg_ranges(conf->proxy_ports, pg_default_proxy_ports, 2,
                               &p->n_proxy_ports);
    p->proxy_schemes = conf->proxy_schemes == PG_UNSET
                       ? pg_default_proxy_schemes()
                       : (unsigned)conf->proxy_schemes;
    p->is_own_host = NULL;      /* set with the baton, per request */
    p->baton = NULL;
}

/* The names httpd itself would select s for: ServerName, ServerAlias and
 * the names on its <VirtualHost> line (vhost.c: matches_aliases and the
 * virthost fallback), canonical, collected once per start.  The "*" of
 * <VirtualHost *:80> and "_default_" are addresses, not names. */
static void pg_add_name(apr_pool_t *p, apr_array_header_t *names,
                        const char *name)
{
    char buf[PG_HOSTNAME_MAX + 4];
    pg_span *canon;
    size_t len;

    if (name == NULL || !strcmp(name, "*") || !strcmp(name, "_default_")) {
        return;
    }
    if ((len = pg_name_canon(name, buf, sizeof(buf))) != 0) {
        canon = apr_array_push(names);
        canon->ptr = apr_pstrmemdup(p, buf, len);
        canon->len = len;
    }
}

static void pg_collect_names(apr_pool_t *p, server_rec *s, pg_vhost_conf *conf)
{
    apr_array_header_t *names = apr_array_make(p, 4, sizeof(pg_span));
    apr_array_header_t *wild = apr_array_make(p, 1, sizeof(const char *));
    const server_addr_rec *sar;
    int i;

    pg_add_name(p, names, s->server_hostname);
    for (i = 0; s->names && i < s->names->nelts; i++) {
        pg_add_name(p, names, APR_ARRAY_IDX(s->names, i, const char *));
    }
    for (sar = s->addrs; sar; sar = sar->next) {
        pg_add_name(p, names, sar->virthost);
    }
    for (i = 0; s->wild_names && i < s->wild_names->nelts; i++) {
        const char *w = APR_ARRAY_IDX(s->wild_names, i, const char *);

        if (w) {
            APR_ARRAY_PUSH(wild, const char *) = w;
        }
    }
    conf->own_names = (const pg_span *)names->elts;
    conf->n_own_names = names->nelts;
    conf->own_wild = (const char *const *)wild->elts;
    conf->n_own_wild = wild->nelts;
}

int pg_server_has_name(const server_rec *s, pg_span host)
{
    const pg_vhost_conf *conf = pg_conf_of(s);
    int i;

    for (i = 0; i < conf->n_own_names; i++) {
        if (pg_name_is(conf->own_names[i], host)) {
            return 1;
        }
    }
    for (i = 0; i < conf->n_own_wild; i++) {
        if (pg_name_matches(conf->own_wild[i], host)) {
            return 1;
        }
    }
    return 0;
}

int pg_subnets_match(const apr_array_header_t *subnets,
                     apr_sockaddr_t *sa)
{
    int i;

    for (i = 0; subnets && i < subnets->nelts; i++) {
        if (apr_ipsubnet_test(APR_ARRAY_IDX(subnets, i, apr_ipsubnet_t *),
                              sa)) {
            return 1;
        }
    }
    return 0;
}

static const char *pg_vhost_label(apr_pool_t *p, const server_rec *s)
{
    return s->is_virtual ? apr_psprintf(p, "%s (%s:%d)", s->server_hostname,
                                        s->defn_name, s->defn_line_number)
                         : "the main server";
}

/* PG0005 for every mail port a port list lets proxy clients reach. */
static void pg_warn_mail_ports(apr_pool_t *p, server_rec *s,
                               const char *directive,
                               const apr_array_header_t *list)
{
    static const unsigned mail_ports[] = PG_MAIL_PORTS;
    size_t i;

    for (i = 0; list && i < sizeof(mail_ports) / sizeof(mail_ports[0]); i++) {
        if (pg_port_in((const pg_port_range *)list->elts, (size_t)list->nelts,
                       mail_ports[i])) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PG_TAG_MAIL_PORT
                         ": %s in %s allows the mail port %u: proxy clients "
                         "can send mail through this server", directive,
                         pg_vhost_label(p, s), mail_ports[i]);
        }
    }
}

/* A forward proxy for everyone is an open relay (one relayed SMTP for
 * strangers for weeks): say so at every start.  mod_proxy's configuration
 * is read only when it is loaded. */
static void pg_warn(apr_pool_t *p, server_rec *main_server)
{
    module *proxy = ap_find_linked_module("mod_proxy.c");
    const pg_vhost_conf *main_conf = pg_conf_of(main_server);
    server_rec *s;

    for (s = main_server; s; s = s->next) {
        const pg_vhost_conf *conf = pg_conf_of(s);
        const proxy_server_conf *pc = proxy
            ? ap_get_module_config(s->module_config, proxy) : NULL;

        if (pc && pc->req && conf->proxy_clients == NULL) {
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, PG_TAG_OPEN_PROXY
                         ": ProxyRequests On in %s without "
                         "ProxyGuardProxyClients: %s", pg_vhost_label(p, s),
                         conf->policy.mode == PG_MODE_ON
                         ? "mod_proxyguard refuses every request mod_proxy "
                           "would forward there (403, CONNECT 405); list the "
                           "clients that may use the proxy"
                         : "this is an OPEN PROXY (ProxyGuard is not On "
                           "there); list the clients that may use it");
        }
        /* an inherited list was warned about for the main server */
        if (!s->is_virtual || conf->connect_ports != main_conf->connect_ports) {
            pg_warn_mail_ports(p, s, "ProxyGuardConnectPorts",
                               conf->connect_ports);
        }
        if (!s->is_virtual || conf->proxy_ports != main_conf->proxy_ports) {
            pg_warn_mail_ports(p, s, "ProxyGuardProxyPorts", conf->proxy_ports);
        }
    }
}

/* check_config: every default is filled in here, for `apache2 -t` and for
 * the real start alike. */
void pg_config_finish(apr_pool_t *pconf, server_rec *main_server)
{
    server_rec *s;

    pg_global_finish(pg_conf_of(main_server)->global);
    for (s = main_server; s; s = s->next) {
        pg_vhost_conf *conf = pg_conf_of(s);

        pg_policy_finish(conf);
        pg_collect_names(pconf, s, conf);
    }
}

/* post_config, once per start: what an operator must know. */
void pg_config_warn(apr_pool_t *pconf, server_rec *main_server)
{
    pg_warn(pconf, main_server);
}
