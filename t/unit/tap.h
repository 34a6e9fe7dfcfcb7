/* Licensed under the Apache License, Version 2.0.  See LICENSE.
 *
 * The few lines of TAP the C unit tests share: ok() and the plan at the
 * end (prove counts "1..N" printed last).
 */

#ifndef PG_TAP_H
#define PG_TAP_H

#include <stdio.h>

static int tap_run;
static int tap_failed;

static void ok(int cond, const char *name)
{
    tap_run++;
    if (!cond) {
        tap_failed++;
    }
    printf("%sok %d - %s\n", cond ? "" : "not ", tap_run, name);
}

/* Line-buffered, so prove sees every line even if a test aborts. */
static void tap_start(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
}

static int tap_finish(void)
{
    printf("1..%d\n", tap_run);
    return tap_failed ? 1 : 0;
}

#endif
