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
 * scan_filter.c: which lines are read at all: --since and --until (a
 * window of time), --exclude (the operator's own monitoring and probe
 * hosts).  A line outside is skipped whole, as if the log did not hold
 * it, and counted.
 *
 * A bound without a UTC offset is a time as the log shows it: each line is
 * compared in its own offset, so `--since 2024-01-01` starts at midnight
 * of every line's own clock, as an operator reading the log would count.
 * With an offset (Z, +08:00) it is one instant for every line.
 */

#include <string.h>

#include "scan.h"

/* Digits at s[0..n): their value, or -1. */
static long scan_digits(const char *s, size_t n)
{
    unsigned long v;

    return pg_parse_uint(s, n, 999999, &v) ? (long)v : -1;
}

/* "Z", "+08:00", "+0800", "-05:00" at s: minutes east of UTC in *minutes.
 * Returns the bytes read, 0 when it is no offset. */
static size_t scan_zone(const char *s, long *minutes)
{
    long h, m;
    size_t n;

    if (s[0] == 'Z' || s[0] == 'z') {
        *minutes = 0;
        return 1;
    }
    if (s[0] != '+' && s[0] != '-') {
        return 0;
    }
    if ((h = scan_digits(s + 1, 2)) < 0 || h > 23) {
        return 0;
    }
    n = s[3] == ':' ? 4 : 3;
    if ((m = scan_digits(s + n, 2)) < 0 || m > 59) {
        return 0;
    }
    *minutes = (s[0] == '-' ? -1 : 1) * (h * 60 + m);
    return n + 2;
}

const char *scan_bound_parse(const char *text, int until, scan_bound *out)
{
    const char *bad = "wants an ISO date or time: 2024-01-31, "
                      "2024-01-31T18:00, 2024-01-31T18:00:05, with an "
                      "optional offset (Z, +08:00)";
    long y, mo, d, h = 0, mi = 0, sec = 0, zone = 0;
    int64_t step = 86400;
    size_t len = strlen(text), at = 10, z;

    if (len < 10 || text[4] != '-' || text[7] != '-'
        || (y = scan_digits(text, 4)) < 0 || (mo = scan_digits(text + 5, 2)) < 1
        || mo > 12 || (d = scan_digits(text + 8, 2)) < 1 || d > 31) {
        return bad;
    }
    if (at < len && (text[at] == 'T' || text[at] == 't' || text[at] == ' ')) {
        if (len < at + 6 || text[at + 3] != ':'
            || (h = scan_digits(text + at + 1, 2)) < 0 || h > 23
            || (mi = scan_digits(text + at + 4, 2)) < 0 || mi > 59) {
            return bad;
        }
        at += 6;
        step = 60;
        if (at < len && text[at] == ':') {
            if ((sec = scan_digits(text + at + 1, 2)) < 0 || sec > 60) {
                return bad;
            }
            at += 3;
            step = 1;
        }
    }
    out->zoned = 0;
    if (at < len) {
        if ((z = scan_zone(text + at, &zone)) == 0 || at + z != len) {
            return bad;
        }
        out->zoned = 1;
    }
    /* --until names the last day, minute or second it includes */
    out->at = scan_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400
              + h * 3600 + mi * 60 + sec - zone * 60 + (until ? step : 0);
    return NULL;
}

const char *scan_cidr_parse(const char *text, scan_cidr *out)
{
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    unsigned long bits;
    unsigned i;

    memset(out, 0, sizeof(*out));
    out->family = pg_ip_parse((pg_span){ text, alen }, out->bytes);
    if (out->family == 0) {
        return "wants an address or a network: 192.0.2.7, 192.0.2.0/24, "
               "2001:db8::/64";
    }
    out->bits = out->family == 4 ? 32 : 128;
    if (slash) {
        if (!pg_parse_uint(slash + 1, strlen(slash + 1), out->bits, &bits)) {
            return out->family == 4 ? "wants a prefix length from 0 to 32"
                                    : "wants a prefix length from 0 to 128";
        }
        out->bits = (unsigned)bits;
    }
    for (i = out->bits; i < 128; i++) {
        out->bytes[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
    }
    return NULL;
}

static int scan_cidr_has(const scan_cidr *c, int family, const unsigned char *a)
{
    unsigned whole = c->bits / 8, rest = c->bits % 8;

    if (family != c->family || memcmp(a, c->bytes, whole) != 0) {
        return 0;
    }
    return rest == 0
           || ((a[whole] ^ c->bytes[whole]) & (0xff00u >> rest) & 0xff) == 0;
}

int scan_filter_excludes(const scan_filter *f, pg_span client)
{
    unsigned char bytes[16];
    int family;
    size_t i;

    if (f->n_exclude == 0 || (family = pg_ip_parse(client, bytes)) == 0) {
        return 0;
    }
    for (i = 0; i < f->n_exclude; i++) {
        if (scan_cidr_has(&f->exclude[i], family, bytes)) {
            return 1;
        }
    }
    return 0;
}

int scan_filter_in_window(const scan_filter *f, const scan_time *t)
{
    int64_t utc = t->sec, wall = t->sec + (int64_t)t->offset * 60;

    if (f->has_since && (f->since.zoned ? utc : wall) < f->since.at) {
        return 0;
    }
    if (f->has_until && (f->until.zoned ? utc : wall) >= f->until.at) {
        return 0;
    }
    return 1;
}
