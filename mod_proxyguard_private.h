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
 * mod_proxyguard_private.h: what every glue file shares, and nothing else:
 * the module, its log index, the stable tags and a few names.  Each glue
 * file has a header of its own for what it offers the others.
 *
 * The glue (httpd) files, and the pure file each pairs with:
 *
 *   mod_proxyguard.c          the hub of the request path: reads the
 *                             request once, decides (pg_decide.c), builds
 *                             the hit, has it counted and the ban code act;
 *                             logs, publishes, answers; hooks; the module
 *   mod_proxyguard_config.c   directives, configuration structs, every
 *                             default (pg_config_finish), the vhosts' names
 *   mod_proxyguard_table.c    the shared memory and its mutex: start-up,
 *                             restarts, count and record a hit, snapshots
 *                             (pg_table.c, pg_record.c, pg_snapshot.c)
 *   mod_proxyguard_ban.c      bans at request time and their start-up
 *                             (pg_ban.c)
 *   mod_proxyguard_store.c    the ban store, an ap_socache instance, as
 *                             mod_ssl's ssl_scache.c is the session cache's
 *   mod_proxyguard_agent.c    the ban agent: the process that talks to a
 *                             shared store
 *   mod_proxyguard_status.c   the proxyguard-status handler, the unban form,
 *                             the /server-status section (pg_status.c)
 *   mod_proxyguard_backend.c  reverse-proxy backends taken from the
 *                             request: mod_proxy's scheme_handler hook,
 *                             the rules found at start-up (pg_backend.c)
 *
 * The calls go one way: the hub calls the others; ban calls store, agent
 * and table; agent calls store and table; store calls table; status calls
 * ban, table and config; config, table and backend call no other glue
 * file.  The pure files
 * (pg_*.c: also linked by the unit tests, the fuzzer and the proxyguard
 * program) call no glue.  t/27_structure.t checks both from the objects.
 */

#ifndef MOD_PROXYGUARD_PRIVATE_H
#define MOD_PROXYGUARD_PRIVATE_H

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"

/* Keeps a rarely taken branch's code (and its stack frame) out of the
 * function every request runs. */
#if defined(__GNUC__)
#define PG_NOINLINE __attribute__((noinline))
#else
#define PG_NOINLINE
#endif

/* The module (mod_proxyguard.c), and its messages' log index:
 * [proxyguard:warn], LogLevel proxyguard:info.  Here once for every file,
 * so mod_proxyguard.c declares the module without AP_DECLARE_MODULE, which
 * would say APLOG_USE_MODULE a second time. */
APLOG_USE_MODULE(proxyguard);

/* Stable message tags: fail2ban filters and operators' greps match these,
 * so a tag never changes meaning. */
#define PG_TAG_HIT          "PG0001"   /* a request hit */
#define PG_TAG_TABLE        "PG0002"   /* table created or kept at start-up */
#define PG_TAG_TABLE_ERROR  "PG0003"   /* table or mutex unavailable */
#define PG_TAG_OPEN_PROXY   "PG0004"   /* ProxyRequests On for everyone */
#define PG_TAG_MAIL_PORT    "PG0005"   /* a mail port open to proxy clients */
#define PG_TAG_SUPPRESSED   "PG0006"   /* hits counted but not logged */
#define PG_TAG_DYNAMIC_BACKEND "PG0007" /* a proxy rule's backend comes
                                         * from the request */
#define PG_TAG_BAN          "PG0010"   /* a ban starts */
#define PG_TAG_BAN_LIFTED   "PG0011"   /* an operator lifted a ban */
#define PG_TAG_BAN_CACHE    "PG0012"   /* the ban store failed: fail open */
#define PG_TAG_BANS_FULL    "PG0013"   /* a ban could not start: list full */
#define PG_TAG_UNBAN_REFUSED "PG0014"  /* an unban request was refused */
#define PG_TAG_BAN_CACHE_BACK "PG0015" /* the ban store answers again */
#define PG_TAG_BAN_NET      "PG0016"   /* a ban of an IPv6 /64 starts */

#define PG_HANDLER "proxyguard-status"
#define PG_MUTEX_TYPE "proxyguard-shm"

#define PG_UNSET (-1)                   /* a directive not given */

#endif /* MOD_PROXYGUARD_PRIVATE_H */
