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
 * mod_proxyguard_agent.h: the ban agent (mod_proxyguard_agent.c).
 */

#ifndef MOD_PROXYGUARD_AGENT_H
#define MOD_PROXYGUARD_AGENT_H

#include "httpd.h"

/* post_config, with a shared store: the agent of this generation (pconf),
 * forked from the parent, started again whenever it ends until httpd
 * stops or restarts.  ban_duration: ProxyGuardBan's, the longest ban a
 * store's answer may give (pg_ban_until_clamp). */
void pg_agent_start(server_rec *s, apr_pool_t *pconf,
                    apr_uint32_t ban_duration);

#endif /* MOD_PROXYGUARD_AGENT_H */
