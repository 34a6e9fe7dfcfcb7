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
 * mod_proxyguard_backend.h: the backends of reverse-proxy rules
 * (mod_proxyguard_backend.c, pg_backend.c).
 */

#ifndef MOD_PROXYGUARD_BACKEND_H
#define MOD_PROXYGUARD_BACKEND_H

#include "httpd.h"
#include "mod_proxy.h"

#include "pg_decide.h"
#include "mod_proxyguard_config.h"

/* Adds fn to mod_proxy's scheme_handler hook, first, when mod_proxy is
 * loaded (pre_config, after every LoadModule).  Returns 1 when it did. */
int pg_backend_hook(proxy_HOOK_scheme_handler_t *fn);

/* At start-up: collects the backends the configuration names literally
 * (ProxyPass, ProxyPassMatch, RewriteRule [P], BalancerMember, <Proxy>,
 * SetHandler and AddHandler "proxy:...") and warns (PG0007, with file and
 * line) for every rule whose backend comes from the request. */
void pg_backend_post_config(apr_pool_t *pconf, server_rec *s, int hooked);

/* The last backend of a kept-alive connection that passed, by its
 * "scheme://authority" as mod_proxy wrote it: the next request to it
 * (a browser's, through the same RewriteRule [P]) is not read again. */
#define PG_BACKEND_MEMO_MAX 96

typedef struct pg_backend_memo {
    const pg_vhost_conf *conf;  /* NULL: nothing remembered */
    apr_size_t len;
    char prefix[PG_BACKEND_MEMO_MAX];
} pg_backend_memo;

/* The decision on the backend url that mod_proxy is about to connect to
 * for r through worker: a reverse-proxy backend that neither a configured
 * worker, the configuration's literal backends nor
 * ProxyGuardDynamicBackends names is a hit (dynamic-backend).  memo: the
 * connection's (NULL on an HTTP/2 stream). */
pg_decision pg_backend_decide(request_rec *r, const pg_vhost_conf *conf,
                              const proxy_worker *worker,
                              const proxy_server_conf *proxy_conf,
                              const char *url, pg_backend_memo *memo);

#endif /* MOD_PROXYGUARD_BACKEND_H */
