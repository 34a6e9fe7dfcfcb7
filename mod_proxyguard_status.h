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
 * mod_proxyguard_status.h: the proxyguard-status handler
 * (mod_proxyguard_status.c).
 */

#ifndef MOD_PROXYGUARD_STATUS_H
#define MOD_PROXYGUARD_STATUS_H

#include "httpd.h"

int pg_status_handler(request_rec *r);

/* Is r for the handler, as the <Location> walk before translate_name
 * says?  And did the handler take it (at log time)?  The hub leaves such
 * requests' unknown-host verdicts unsettled until then (docs/decision.md). */
int pg_status_location(request_rec *r);
int pg_status_answered(const request_rec *r);
int pg_server_status_hook(request_rec *r, int flags);


#endif /* MOD_PROXYGUARD_STATUS_H */
