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
 * probe_bounds.c: the per-request and whole-run bounds, what -t and -T
 * mean with and without --plugin, and --plugin's backstop (probe_bounds.h).
 */

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include <apr_strings.h>

#include "cli.h"
#include "probe_bounds.h"

#define PROBE_SECONDS(s) ((apr_interval_time_t)((s) * APR_USEC_PER_SEC))

#define PROBE_DEFAULT_TIMEOUT  PROBE_SECONDS(5)     /* per request */
#define PROBE_DEFAULT_MAX_TIME PROBE_SECONDS(120)   /* the run */
/* --plugin's run: the monitoring plugins' usual 10 s, which is also
 * check_nrpe's default; a whole run takes well under a second on a LAN */
#define PROBE_PLUGIN_DEFAULT_TIME PROBE_SECONDS(10)
/* past the run's bound, the backstop leaves the run this long to write
 * its own line (every step that can end at the bound does so at once) */
#define PROBE_BACKSTOP_MARGIN apr_time_from_msec(500)

void probe_bounds_apply(const probe_bounds *given, probe_opts *o)
{
    o->timeout = PROBE_DEFAULT_TIMEOUT;
    if (o->format != PROBE_FORMAT_PLUGIN) {
        if (given->timeout) {
            o->timeout = given->timeout;
        }
        o->max_time = given->max_time ? given->max_time : PROBE_DEFAULT_MAX_TIME;
        o->max_time_from = "--max-time";
        return;
    }
    /* the caller's -t is the whole run's; each request keeps the default
     * bound and never outlives the run (probe_run_step_deadline) */
    o->max_time = PROBE_PLUGIN_DEFAULT_TIME;
    o->max_time_from = "--plugin's default";
    if (given->timeout) {
        o->max_time = given->timeout;
        o->max_time_from = "--timeout";
    }
    if (given->max_time && (!given->timeout || given->max_time < given->timeout)) {
        o->max_time = given->max_time;
        o->max_time_from = "--max-time";
    }
}

void probe_bounds_note(probe_run *run, const char *fmt, ...)
{
    va_list ap;

    if (run->expired_in || apr_time_now() < run->deadline) {
        return;
    }
    va_start(ap, fmt);
    run->expired_in = apr_pvsprintf(run->pool, fmt, ap);
    va_end(ap);
}

int probe_bounds_expired_exit(int exit)
{
    /* what was not run could have turned OK or WARNING into anything;
     * a proven open proxy stays proven */
    return exit == PROXYGUARD_EXIT_CRITICAL ? exit : PROXYGUARD_EXIT_UNKNOWN;
}

/* Written by the signal handler: formatted beforehand, since only write()
 * and _exit() are safe there. */
static char probe_backstop_line[256];
static size_t probe_backstop_len;

static void probe_backstop_fire(int sig)
{
    (void)sig;
    if (write(STDOUT_FILENO, probe_backstop_line, probe_backstop_len) < 0) {
        /* nowhere left to say it: the exit code still does */
    }
    _exit(PROXYGUARD_EXIT_UNKNOWN);
}

static void probe_backstop_timer(apr_interval_time_t after)
{
    struct itimerval it;

    memset(&it, 0, sizeof(it));
    it.it_value.tv_sec = (time_t)(after / APR_USEC_PER_SEC);
    it.it_value.tv_usec = (suseconds_t)(after % APR_USEC_PER_SEC);
    setitimer(ITIMER_REAL, &it, NULL);
}

void probe_bounds_backstop_arm(const probe_opts *o)
{
    struct sigaction sa;
    apr_interval_time_t after = o->max_time + PROBE_BACKSTOP_MARGIN;
    int n;

    n = snprintf(probe_backstop_line, sizeof(probe_backstop_line),
                 "PROXYGUARD UNKNOWN - timed out after %g s (%s), in a step"
                 " that takes no deadline (a name lookup) | time=%.3fs\n",
                 (double)o->max_time / APR_USEC_PER_SEC, o->max_time_from,
                 (double)after / APR_USEC_PER_SEC);
    probe_backstop_len = n < 0 ? 0
                         : (size_t)n < sizeof(probe_backstop_line)
                             ? (size_t)n
                             : sizeof(probe_backstop_line) - 1;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = probe_backstop_fire;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    probe_backstop_timer(after);
}

void probe_bounds_backstop_disarm(void)
{
    probe_backstop_timer(0);
}
