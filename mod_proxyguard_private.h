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

extern module AP_MODULE_DECLARE_DATA proxyguard_module;

/* the module's messages: [proxyguard:warn], LogLevel proxyguard:info */
APLOG_USE_MODULE(proxyguard);

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

/* mod_proxyguard.c */
/* A request header's value (the first, as apr_table_get gives it), by its
 * name in lower case (letters and '-'), len bytes: a short header list is
 * read directly, which costs a tenth of apr_table_get's strcasecmp. */
const char *pg_request_header(request_rec *r, const char *lower,
                              apr_size_t len);


#endif /* MOD_PROXYGUARD_PRIVATE_H */
