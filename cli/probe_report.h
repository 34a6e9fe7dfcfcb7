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
 * probe_report.h: the three outputs.  Everything that came from a server
 * (status lines, what the canary received, error text built from them) is
 * written through an escaper: pg_put_json for --json, pg_put_text
 * (control bytes, backslash and non-ASCII as \xNN) for the terminal.
 */

#ifndef PROBE_REPORT_H
#define PROBE_REPORT_H

#include "pg_out.h"
#include "probe.h"

/* The readable table of one target. */
void probe_report_table(const pg_out *out, apr_pool_t *p, const probe_run *run,
                        const probe_target *t);

/* One JSON object (one line) for one target: the --json contract. */
void probe_report_json(const pg_out *out, apr_pool_t *p, const probe_run *run,
                       const probe_target *t);

/* The monitoring-plugin line for the whole run: status, text, perfdata;
 * first, where the run reached its time bound, where that was. */
void probe_report_plugin(const pg_out *out, apr_pool_t *p,
                         const probe_run *run, const probe_target *t, int n,
                         int exit, double seconds);

#endif /* PROBE_REPORT_H */
