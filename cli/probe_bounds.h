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
 * probe_bounds.h: how long a run may take.  Two bounds: one per request
 * (connect, send, reply, tunnel) and one for the whole run; every wait
 * takes the earlier of the two (probe_run_step_deadline).
 *
 * Outside --plugin, -t/--timeout is the per-request bound (default 5 s)
 * and -T/--max-time the run's (default 120 s), as they always were.  With
 * --plugin, -t/--timeout is the monitoring plugins' -t: the whole run
 * (default 10 s), because that is the time the caller (NRPE, Icinga,
 * Nagios) gives the check before it kills it.  Each request then keeps
 * the default per-request bound, never past what is left of the run; -T,
 * given too, can only shorten the run.  A --plugin run that reaches its
 * bound says so in its status line, UNKNOWN unless an open proxy was
 * already proven (no probe left unrun can undo that proof).
 */

#ifndef PROBE_BOUNDS_H
#define PROBE_BOUNDS_H

#include "probe.h"

/* -t and -T as given (0: not given): what they mean depends on --plugin,
 * which may come after them on the command line. */
typedef struct probe_bounds {
    apr_interval_time_t timeout;        /* -t */
    apr_interval_time_t max_time;       /* -T */
} probe_bounds;

/* opts->timeout, opts->max_time and opts->max_time_from, from what was
 * given and opts->format. */
void probe_bounds_apply(const probe_bounds *given, probe_opts *opts);

/* Notes the step the run is in when it has reached its bound: the first
 * such step is where the time ran out (run->expired_in), which the plugin
 * line names, as the guidelines ask of a timeout. */
void probe_bounds_note(probe_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The plugin's exit code once the run has reached its bound. */
int probe_bounds_expired_exit(int exit);

/* With --plugin, a last resort for the steps that take no deadline (a
 * name lookup blocks in getaddrinfo): at the run's bound plus a margin,
 * an UNKNOWN line is written and the process exits 3, whatever it was
 * doing.  Disarmed before the real status line is written. */
void probe_bounds_backstop_arm(const probe_opts *opts);
void probe_bounds_backstop_disarm(void);

#endif /* PROBE_BOUNDS_H */
