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
 * mod_proxyguard_config.h: the configuration structs, the directives and
 * their defaults (mod_proxyguard_config.c).
 */

#ifndef MOD_PROXYGUARD_CONFIG_H
#define MOD_PROXYGUARD_CONFIG_H

#include "httpd.h"
#include "http_config.h"
#include "apr_hash.h"

#include "pg_decide.h"
#include "mod_proxyguard_private.h"

/* The settings of the whole server (server config only): one per
 * configuration generation, shared by every vhost's configuration. */
typedef struct pg_global_conf {
    int table_size;                     /* ProxyGuardTableSize */
    int ban_hits;                       /* ProxyGuardBan; PG_UNSET: no bans */
    int ban_window;                     /* seconds */
    int ban_duration;                   /* seconds */
    int ban_net6;                       /* ProxyGuardBanNet6: addresses of
                                         * one /64 that ban the /64 */
    apr_array_header_t *ban_exempt;     /* of apr_ipsubnet_t * */
    const char *ban_cache;              /* ProxyGuardBanCache provider[:args] */
    int ban_cache_given;                /* ... written, not the default */
    int log_lines;                      /* ProxyGuardLogLimit */
    int log_window;
    /* made at start-up (pg_backend_post_config): the backends the
     * configuration names literally, pg_backend_key -> "" */
    apr_hash_t *fixed_backends;
} pg_global_conf;

/* The settings of one vhost (server config and virtual host). */
typedef struct pg_vhost_conf {
    int mode;                           /* pg_mode */
    int unknown_host;                   /* pg_unknown_host */
    apr_array_header_t *allow_hosts;    /* of pg_hostpat */
    apr_array_header_t *proxy_clients;  /* of apr_ipsubnet_t * */
    apr_array_header_t *connect_ports;  /* of pg_port_range */
    apr_array_header_t *proxy_ports;    /* of pg_port_range */
    int proxy_schemes;                  /* ProxyGuardProxySchemes: bits of
                                         * pg_scheme_bit, or PG_UNSET */
    apr_array_header_t *dynamic_backends; /* of pg_backend_pat */
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

/* ProxyGuardBan is on (then post_config has made its store, or httpd did
 * not start). */
static APR_INLINE int pg_bans_configured(const pg_global_conf *g)
{
    return g->ban_hits != PG_UNSET;
}

/* mod_proxyguard_config.c */
extern const command_rec pg_cmds[];
void *pg_create_server_conf(apr_pool_t *p, server_rec *s);
void *pg_merge_server_conf(apr_pool_t *p, void *basev, void *addv);
void pg_config_finish(apr_pool_t *pconf, server_rec *main_server);
void pg_config_warn(apr_pool_t *pconf, server_rec *main_server);
/* Is sa in one of the apr_ipsubnet_t * of the list (NULL: none)? */
int pg_subnets_match(const apr_array_header_t *subnets,
                     apr_sockaddr_t *sa);
int pg_server_has_name(const server_rec *s, pg_span host);


#endif /* MOD_PROXYGUARD_CONFIG_H */
