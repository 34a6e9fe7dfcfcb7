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
 * pg_out.h: writing reports, for the status page (pg_status.c) and the
 * proxyguard program (cli/).  Output goes through a callback (a request, a
 * FILE, a test buffer).  Text that came from a request or a log line is
 * written only through the escaper of the format at hand, and each format
 * has exactly one: pg_put_html, pg_put_json, pg_put_label.  JSON documents
 * are written member by member through one set of writers (pg_json_*).
 * The HTML look (style sheet, reason colours, the stacked bar chart) is
 * here too, so that every page the project writes looks like the status
 * page.
 */

#ifndef PG_OUT_H
#define PG_OUT_H

#include <apr.h>

typedef struct pg_out {
    void (*write)(void *baton, const char *data, apr_size_t len);
    void *baton;
} pg_out;

void pg_write(const pg_out *out, const char *data, apr_size_t len);
void pg_puts(const pg_out *out, const char *s);

/* For numbers and the project's own words only: never request text. */
void pg_printf(const pg_out *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* HTML text and attribute values: markup characters as entities, control
 * bytes and bytes >= 0x80 as a visible \xNN. */
void pg_put_html(const pg_out *out, const char *s);

/* A JSON string, quotes included; bytes >= 0x80 read as Latin-1 (\u00NN),
 * so the document is valid JSON whatever was sent. */
void pg_put_json(const pg_out *out, const char *s);

/* A decimal number, for JSON and plain text alike. */
void pg_put_uint(const pg_out *out, apr_uint64_t v);
void pg_put_int(const pg_out *out, apr_int64_t v);

/* JSON members, the one way every JSON document of the project is written:
 * an object's (or an array's) members one after the other, lead before the
 * first and sep before each other one, so that a document keeps its own
 * layout.  The state lives on the caller's stack: nothing is allocated.
 *
 *     pg_json j;
 *     pg_json_begin(&j, out, "{", NULL, NULL);
 *     pg_json_str(&j, "name", name);          "name": "..." (NULL: null)
 *     pg_json_uint(&j, "hits", hits);         , "hits": 12
 *     pg_json_key(&j, "list");                , "list": (the caller writes
 *                                             the value, e.g. a nested list)
 *     pg_json_end(&j, "}");
 *
 * A NULL key writes no key: an array's element.  Keys are escaped like any
 * string (a key may be a server's text). */
typedef struct pg_json {
    const pg_out *out;
    const char *lead;           /* before the first member ("" for NULL) */
    const char *sep;            /* before every other (", " for NULL) */
    apr_uint32_t n;             /* members written */
} pg_json;

/* Writes open ("{", "[", or more), then starts the member list. */
void pg_json_begin(pg_json *j, const pg_out *out, const char *open,
                   const char *lead, const char *sep);
/* A member that is an object ("{") or an array ("["): the separator and
 * key as pg_json_key, then the opening, starting j with ", " between its
 * members. */
void pg_json_object(pg_json *parent, const char *key, pg_json *j);
void pg_json_array(pg_json *parent, const char *key, pg_json *j);
/* The separator, then "key": (nothing more for a NULL key). */
void pg_json_key(pg_json *j, const char *key);
void pg_json_str(pg_json *j, const char *key, const char *value);
void pg_json_uint(pg_json *j, const char *key, apr_uint64_t value);
void pg_json_int(pg_json *j, const char *key, apr_int64_t value);
void pg_json_bool(pg_json *j, const char *key, int value);
/* From the next member on, sep goes before each member. */
void pg_json_sep(pg_json *j, const char *sep);
/* A value the caller formatted (a fraction, say): our own text only. */
void pg_json_raw(pg_json *j, const char *key, const char *text);
/* Writes close ("}", "]", or more). */
void pg_json_end(pg_json *j, const char *close);

/* A Prometheus label value, quotes included. */
void pg_put_label(const pg_out *out, const char *s);

/* Text for a terminal or a plain-text report: printable ASCII as it is, a
 * backslash doubled, control bytes, bytes >= 0x80 and the bytes listed in
 * also (may be NULL; e.g. "|" where a '|' would start a monitoring plugin's
 * performance data) as \xNN. */
void pg_put_text(const pg_out *out, const char *s, const char *also);

/* The same for len bytes (NUL bytes included, shown as \x00). */
void pg_put_text_n(const pg_out *out, const char *s, apr_size_t len,
                   const char *also);

/* How many columns pg_put_text_n shows for byte c (1, 2 or 4). */
int pg_text_width(unsigned char c, const char *also);

/* A pg_out write callback for a stdio stream (the baton is the FILE *). */
void pg_write_stdio(void *baton, const char *data, apr_size_t len);

/* The colour of a reason (pg_reason order; see pg_decide.h). */
const char *pg_reason_color(int reason);

/* <!DOCTYPE html> ... <body>: the style every page shares.  refresh > 0
 * adds a meta refresh of that many seconds. */
void pg_html_head(const pg_out *out, const char *title, int refresh);

/* A stacked bar chart, one bar per period and one colour per reason,
 * inline SVG, no script. */
typedef struct pg_chart {
    const char *id;             /* element id */
    const char *title;
    apr_uint32_t bars;
    /* hits of one reason (1 .. PG_REASON_COUNT-1) in bar i, oldest first */
    apr_uint32_t (*hits)(const void *ctx, apr_uint32_t bar, int reason);
    /* what bar i is, for its tooltip ("3 min ago", "2009-08") */
    const char *(*label)(const void *ctx, apr_uint32_t bar, char *buf,
                         apr_size_t size);
    const char *first;          /* axis label under the first bar */
    const char *last;           /* ... and under the last */
    const void *ctx;
} pg_chart;

void pg_html_chart(const pg_out *out, const pg_chart *chart);

#endif /* PG_OUT_H */
