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
 * scan_time.c: the times Apache writes in access logs.
 *
 * A log line carries its own UTC offset ("+0800"), and the operator thinks
 * in it: days and months are counted in the offset of each line, and times
 * are shown with it.  So no libc time zone (TZ, mktime) is involved: the
 * calendar arithmetic is Howard Hinnant's days_from_civil/civil_from_days,
 * exact for any date.
 */

#include <stdio.h>
#include <string.h>

#include "scan.h"

int64_t scan_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void scan_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t scan_floor_div(int64_t a, int64_t b)
{
    return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int64_t scan_local_seconds(const scan_time *t)
{
    return t->sec + (int64_t)t->offset * 60;
}

int64_t scan_time_day(const scan_time *t)
{
    return scan_floor_div(scan_local_seconds(t), 86400);
}

int64_t scan_time_month(const scan_time *t)
{
    int64_t y;
    unsigned m, d;

    scan_civil_from_days(scan_time_day(t), &y, &m, &d);
    return y * 12 + (int64_t)m - 1;
}

const char *scan_time_iso(const scan_time *t, char *buf, size_t size)
{
    int64_t local, day, y;
    unsigned m, d, secs;
    int32_t off;

    if (!t->valid) {
        snprintf(buf, size, "-");
        return buf;
    }
    local = scan_local_seconds(t);
    day = scan_floor_div(local, 86400);
    secs = (unsigned)(local - day * 86400);
    scan_civil_from_days(day, &y, &m, &d);
    off = t->offset < 0 ? -t->offset : t->offset;
    snprintf(buf, size, "%04lld-%02u-%02uT%02u:%02u:%02u%c%02d:%02d",
             (long long)y, m, d, secs / 3600, secs / 60 % 60, secs % 60,
             t->offset < 0 ? '-' : '+', (int)(off / 60), (int)(off % 60));
    return buf;
}

const char *scan_day_text(int64_t day, char *buf, size_t size)
{
    int64_t y;
    unsigned m, d;

    scan_civil_from_days(day, &y, &m, &d);
    snprintf(buf, size, "%04lld-%02u-%02u", (long long)y, m, d);
    return buf;
}

const char *scan_month_text(int64_t month, char *buf, size_t size)
{
    snprintf(buf, size, "%04lld-%02u", (long long)scan_floor_div(month, 12),
             (unsigned)(month - scan_floor_div(month, 12) * 12) + 1);
    return buf;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */

typedef struct scan_cursor {
    const char *p;
    const char *end;
} scan_cursor;

/* Exactly n digits (n > 0), or up to max digits when n == 0. */
static int scan_digits(scan_cursor *c, int n, int max, int64_t *out)
{
    int64_t v = 0;
    int got = 0;
    int limit = n ? n : max;

    while (c->p < c->end && got < limit && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p - '0');
        c->p++;
        got++;
    }
    *out = v;
    return n ? got == n : got > 0;
}

static int scan_expect(scan_cursor *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static const char scan_month_names[12][4] = {
    "jan", "feb", "mar", "apr", "may", "jun",
    "jul", "aug", "sep", "oct", "nov", "dec"
};

/* "Aug" (Apache writes English names whatever the locale), or the full
 * name ("August") for %B. */
static int scan_month_name(scan_cursor *c, unsigned *month)
{
    unsigned i, k;

    if (c->end - c->p < 3) {
        return 0;
    }
    for (i = 0; i < 12; i++) {
        for (k = 0; k < 3; k++) {
            char ch = c->p[k];

            if (ch >= 'A' && ch <= 'Z') {
                ch = (char)(ch + 32);
            }
            if (ch != scan_month_names[i][k]) {
                break;
            }
        }
        if (k == 3) {
            c->p += 3;
            while (c->p < c->end && ((*c->p >= 'a' && *c->p <= 'z')
                                     || (*c->p >= 'A' && *c->p <= 'Z'))) {
                c->p++;
            }
            *month = i + 1;
            return 1;
        }
    }
    return 0;
}

/* "+0800", "-0330", "Z", "+08:00" */
static int scan_offset(scan_cursor *c, int32_t *minutes)
{
    int sign;
    int64_t h, m;

    if (scan_expect(c, 'Z')) {
        *minutes = 0;
        return 1;
    }
    if (c->p >= c->end || (*c->p != '+' && *c->p != '-')) {
        return 0;
    }
    sign = *c->p++ == '-' ? -1 : 1;
    if (!scan_digits(c, 2, 2, &h)) {
        return 0;
    }
    scan_expect(c, ':');
    if (!scan_digits(c, 2, 2, &m) || h > 23 || m > 59) {
        return 0;
    }
    *minutes = (int32_t)(sign * (h * 60 + m));
    return 1;
}

typedef struct scan_civil {
    int64_t y, mon, d, h, min, s;
    int32_t offset;
} scan_civil;

static int scan_civil_valid(const scan_civil *c)
{
    return c->mon >= 1 && c->mon <= 12 && c->d >= 1 && c->d <= 31
           && c->h <= 23 && c->min <= 59 && c->s <= 60;
}

static int scan_civil_to_time(const scan_civil *c, scan_time *out)
{
    if (!scan_civil_valid(c)) {
        return 0;
    }
    out->sec = scan_days_from_civil(c->y, (unsigned)c->mon, (unsigned)c->d)
               * 86400 + c->h * 3600 + c->min * 60 + c->s
               - (int64_t)c->offset * 60;
    out->offset = c->offset;
    out->valid = 1;
    return 1;
}

/* [02/Aug/2009:17:54:40 +0800], brackets optional */
static int scan_parse_clf(scan_cursor *c, scan_time *out)
{
    scan_civil t;
    unsigned mon;

    memset(&t, 0, sizeof(t));
    scan_expect(c, '[');
    if (!scan_digits(c, 0, 2, &t.d) || !scan_expect(c, '/')
        || !scan_month_name(c, &mon) || !scan_expect(c, '/')
        || !scan_digits(c, 4, 4, &t.y) || !scan_expect(c, ':')
        || !scan_digits(c, 2, 2, &t.h) || !scan_expect(c, ':')
        || !scan_digits(c, 2, 2, &t.min) || !scan_expect(c, ':')
        || !scan_digits(c, 2, 2, &t.s)) {
        return 0;
    }
    t.mon = mon;
    if (scan_expect(c, ' ') && !scan_offset(c, &t.offset)) {
        return 0;
    }
    return scan_civil_to_time(&t, out);
}

/* Seconds (or ms, us) since the epoch: UTC. */
static int scan_parse_epoch(scan_cursor *c, int64_t divisor, scan_time *out)
{
    int64_t v;

    if (!scan_digits(c, 0, 19, &v)) {
        return 0;
    }
    out->sec = v / divisor;
    out->offset = 0;
    out->valid = 1;
    return 1;
}

static int scan_skip_word(scan_cursor *c)
{
    const char *start = c->p;

    while (c->p < c->end && *c->p != ' ' && *c->p != ',') {
        c->p++;
    }
    return c->p > start;
}

/* One strftime conversion of the subset Apache users write. */
static int scan_strftime_one(scan_cursor *c, char conv, scan_civil *t)
{
    unsigned mon;

    switch (conv) {
    case 'Y': return scan_digits(c, 4, 4, &t->y);
    case 'y':
        if (!scan_digits(c, 2, 2, &t->y)) {
            return 0;
        }
        t->y += t->y < 69 ? 2000 : 1900;
        return 1;
    case 'm': return scan_digits(c, 0, 2, &t->mon);
    case 'd': return scan_digits(c, 0, 2, &t->d);
    case 'e':
        scan_expect(c, ' ');
        return scan_digits(c, 0, 2, &t->d);
    case 'H': return scan_digits(c, 0, 2, &t->h);
    case 'M': return scan_digits(c, 0, 2, &t->min);
    case 'S': return scan_digits(c, 0, 2, &t->s);
    case 'b': case 'h': case 'B':
        if (!scan_month_name(c, &mon)) {
            return 0;
        }
        t->mon = mon;
        return 1;
    case 'z': return scan_offset(c, &t->offset);
    case 'a': case 'A': case 'Z': case 'p': return scan_skip_word(c);
    case 'T':
        return scan_strftime_one(c, 'H', t) && scan_expect(c, ':')
               && scan_strftime_one(c, 'M', t) && scan_expect(c, ':')
               && scan_strftime_one(c, 'S', t);
    case 'F':
        return scan_strftime_one(c, 'Y', t) && scan_expect(c, '-')
               && scan_strftime_one(c, 'm', t) && scan_expect(c, '-')
               && scan_strftime_one(c, 'd', t);
    case 'D':
        return scan_strftime_one(c, 'm', t) && scan_expect(c, '/')
               && scan_strftime_one(c, 'd', t) && scan_expect(c, '/')
               && scan_strftime_one(c, 'y', t);
    case '%': return scan_expect(c, '%');
    default: return 0;
    }
}

static int scan_parse_strftime(scan_cursor *c, const char *fmt, scan_time *out)
{
    scan_civil t;

    memset(&t, 0, sizeof(t));
    t.y = 1970;
    t.mon = 1;
    t.d = 1;
    for (; *fmt; fmt++) {
        if (*fmt == '%' && fmt[1]) {
            fmt++;
            if (!scan_strftime_one(c, *fmt, &t)) {
                return 0;
            }
        }
        else if (!scan_expect(c, *fmt)) {
            return 0;
        }
    }
    return scan_civil_to_time(&t, out);
}

int scan_time_parse(scan_time_kind kind, const char *strftime_fmt, pg_span text,
                    scan_time *out)
{
    scan_cursor c;

    memset(out, 0, sizeof(*out));
    if (text.ptr == NULL || text.len == 0) {
        return 0;
    }
    c.p = text.ptr;
    c.end = text.ptr + text.len;
    switch (kind) {
    case SCAN_TIME_CLF: return scan_parse_clf(&c, out);
    case SCAN_TIME_SEC: return scan_parse_epoch(&c, 1, out);
    case SCAN_TIME_MSEC: return scan_parse_epoch(&c, 1000, out);
    case SCAN_TIME_USEC: return scan_parse_epoch(&c, 1000000, out);
    case SCAN_TIME_STRFTIME: return scan_parse_strftime(&c, strftime_fmt, out);
    default: return 0;
    }
}
