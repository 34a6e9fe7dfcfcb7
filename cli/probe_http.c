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
 * probe_http.c: bounded reading of HTTP/1 replies; see probe_http.h.
 */

#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "pg_decide.h"

#include "probe_http.h"

#define PROBE_INTERIM_MAX 4        /* 1xx replies skipped before giving up */
#define PROBE_LINE_SHOWN  200      /* bytes of a status line kept */

/* The body being read: kept up to PROBE_BODY_MAX, the rest counted away. */
static char probe_body_buf[PROBE_BODY_MAX + 1];

apr_uint64_t probe_http_hash(const char *data, apr_size_t len)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    apr_size_t i;

    for (i = 0; i < len; i++) {
        h ^= (unsigned char)data[i];
        h *= APR_UINT64_C(1099511628211);
    }
    return h;
}

static const char *probe_find_bytes(const char *hay, apr_size_t len,
                                    const char *needle, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; n && i + n <= len; i++) {
        if (hay[i] == needle[0] && !memcmp(hay + i, needle, n)) {
            return hay + i;
        }
    }
    return NULL;
}

int probe_mem_has(const char *data, apr_size_t len, const char *text)
{
    return data && probe_find_bytes(data, len, text, strlen(text)) != NULL;
}

int probe_http_contains(const probe_reply *r, const char *text)
{
    apr_size_t n = strlen(text);

    return (r->body && probe_find_bytes(r->body, r->body_len, text, n))
           || (r->status_line && strstr(r->status_line, text));
}

/* End of the head in the buffer (the offset just past the blank line), 0
 * while there is none yet. */
static apr_size_t probe_head_end(const probe_conn *c)
{
    const char *crlf = probe_find_bytes(c->buf, c->len, "\r\n\r\n", 4);
    const char *lf = probe_find_bytes(c->buf, c->len, "\n\n", 2);

    if (crlf && (!lf || crlf < lf)) {
        return (apr_size_t)(crlf - c->buf) + 4;
    }
    return lf ? (apr_size_t)(lf - c->buf) + 2 : 0;
}

static int probe_parse_status(const char *line, apr_size_t len)
{
    if (len < 12 || memcmp(line, "HTTP/", 5) || line[5] < '0' || line[5] > '9'
        || line[6] != '.' || line[7] < '0' || line[7] > '9' || line[8] != ' '
        || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9'
        || line[11] < '0' || line[11] > '9'
        || (len > 12 && line[12] != ' ' && line[12] != '\r')) {
        return 0;
    }
    return (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
}

/* The value of a header in a head (case-insensitive name), or NULL. */
/* The value of the first header called name in the head (the status line
 * skipped), blanks around it trimmed; NULL if there is none. */
static const char *probe_header_span(const char *head, apr_size_t len,
                                     const char *name, apr_size_t *vlen)
{
    apr_size_t n = strlen(name);
    const char *line = memchr(head, '\n', len);

    while (line && ++line < head + len) {
        const char *end = memchr(line, '\n', (apr_size_t)(head + len - line));
        apr_size_t l = end ? (apr_size_t)(end - line)
                           : (apr_size_t)(head + len - line);

        if (l > n && line[n] == ':' && !strncasecmp(line, name, n)) {
            const char *v = line + n + 1;
            const char *e = line + l;

            while (v < e && (*v == ' ' || *v == '\t')) {
                v++;
            }
            while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t')) {
                e--;
            }
            *vlen = (apr_size_t)(e - v);
            return v;
        }
        line = end;
    }
    return NULL;
}

static const char *probe_header(apr_pool_t *p, const char *head,
                                apr_size_t len, const char *name)
{
    apr_size_t vlen;
    const char *v = probe_header_span(head, len, name, &vlen);

    return v ? apr_pstrndup(p, v, vlen) : NULL;
}

int probe_http_content_length(const char *head, apr_size_t len,
                              apr_uint64_t *length)
{
    apr_size_t vlen;
    const char *v = probe_header_span(head, len, "Content-Length", &vlen);
    unsigned long n;

    if (!v) {
        return -1;
    }
    if (!pg_parse_uint(v, vlen, (unsigned long)APR_INT64_MAX, &n)) {
        return 0;
    }
    *length = n;
    return 1;
}

static int probe_fail(probe_reply *r, const probe_conn *c, const char *why)
{
    r->status = 0;
    r->error = c->error && c->timed_out ? c->error : why;
    return -1;
}

int probe_http_read_head(probe_conn *c, apr_pool_t *p, probe_reply *r)
{
    int interim;

    for (interim = 0; interim <= PROBE_INTERIM_MAX; interim++) {
        apr_size_t end;
        const char *nl, *te;
        apr_size_t line_len;
        apr_uint64_t length;

        while ((end = probe_head_end(c)) == 0) {
            long n;

            if (c->len >= c->cap) {
                return probe_fail(r, c, "reply head over 64 KiB");
            }
            if (c->len >= 5 && memcmp(c->buf, "HTTP/", 5)) {
                break;          /* not HTTP: no need to wait for more */
            }
            n = probe_conn_fill(c);
            if (n < 0) {
                return probe_fail(r, c, c->error ? c->error : "receive failed");
            }
            if (n == 0) {
                break;
            }
        }
        nl = memchr(c->buf, '\n', c->len);
        line_len = nl ? (apr_size_t)(nl - c->buf) : c->len;
        if (line_len && c->buf[line_len - 1] == '\r') {
            line_len--;
        }
        r->status_line = apr_pstrndup(
            p, c->buf,
            line_len < PROBE_LINE_SHOWN ? line_len : PROBE_LINE_SHOWN);
        r->bytes = c->total;
        if (!c->len) {
            return probe_fail(
                r, c,
                c->error ? c->error
                         : "the server closed the connection without a reply");
        }
        r->status = probe_parse_status(c->buf, line_len);
        if (!r->status) {
            return probe_fail(r, c, "not an HTTP reply");
        }
        if (!end) {
            r->status = 0;
            return probe_fail(r, c, "the reply head ended early");
        }
        if (r->status >= 200 || r->status == 101) {
            te = probe_header(p, c->buf, end, "Transfer-Encoding");
            r->content_type = probe_header(p, c->buf, end, "Content-Type");
            r->has_body_framing = (te && strcasestr(te, "chunked"))
                                  || (probe_http_content_length(c->buf, end,
                                                                &length) > 0
                                      && length > 0);
            r->head = apr_pstrndup(p, c->buf, end);
            probe_conn_consume(c, end);
            return 0;
        }
        probe_conn_consume(c, end);    /* 100 Continue and friends */
    }
    return probe_fail(r, c, "too many interim (1xx) replies");
}

/* Makes sure n bytes are buffered (or EOF / the deadline comes first). */
static int probe_want(probe_conn *c, apr_size_t n)
{
    while (c->len < n) {
        long got;

        if (n > c->cap) {
            return -1;
        }
        got = probe_conn_fill(c);
        if (got <= 0) {
            return -1;
        }
    }
    return 0;
}

/* Takes up to n body bytes from the connection; returns how many. */
static apr_size_t probe_take(probe_conn *c, probe_reply *r, apr_size_t n,
                             apr_size_t *kept)
{
    apr_size_t take = n < c->len ? n : c->len;
    apr_size_t room = PROBE_BODY_MAX - *kept;
    apr_size_t keep = take < room ? take : room;

    memcpy(probe_body_buf + *kept, c->buf, keep);
    *kept += keep;
    if (keep < take) {
        r->truncated = 1;
    }
    probe_conn_consume(c, take);
    return take;
}

static void probe_read_length(probe_conn *c, probe_reply *r,
                              apr_uint64_t length, apr_size_t *kept)
{
    while (length && !r->truncated) {
        if (!c->len && probe_conn_fill(c) <= 0) {
            r->incomplete = 1;
            return;
        }
        length -= probe_take(
            c, r, length < c->len ? (apr_size_t)length : c->len, kept);
    }
}

static void probe_read_to_eof(probe_conn *c, probe_reply *r, apr_size_t *kept)
{
    for (;;) {
        long n = 0;

        probe_take(c, r, c->len, kept);
        if (r->truncated || (n = probe_conn_fill(c)) <= 0) {
            probe_take(c, r, c->len, kept);
            r->incomplete = !r->truncated && n < 0;
            return;
        }
    }
}

static void probe_read_chunked(probe_conn *c, probe_reply *r, apr_size_t *kept)
{
    for (;;) {
        const char *nl;
        apr_uint64_t size = 0;
        apr_size_t i;

        while ((nl = memchr(c->buf, '\n', c->len)) == NULL) {
            if (c->len > 1024 || probe_conn_fill(c) <= 0) {
                /* ended early, or a chunk-size line far too long */
                r->incomplete = 1;
                return;
            }
        }
        for (i = 0; c->buf + i < nl && apr_isxdigit(c->buf[i]) && i < 15; i++) {
            size = size * 16
                   + (apr_uint64_t)(apr_isdigit(c->buf[i])
                                        ? c->buf[i] - '0'
                                        : (apr_tolower(c->buf[i]) - 'a' + 10));
        }
        probe_conn_consume(c, (apr_size_t)(nl - c->buf) + 1);
        if (!size) {
            return;
        }
        probe_read_length(c, r, size, kept);
        if (r->truncated || probe_want(c, 1) < 0) {
            return;
        }
        if (c->buf[0] == '\r') {
            probe_conn_consume(c, 1);
        }
        if (probe_want(c, 1) == 0 && c->buf[0] == '\n') {
            probe_conn_consume(c, 1);
        }
    }
}

void probe_http_read_body(probe_conn *c, apr_pool_t *p, probe_reply *r,
                          int is_head)
{
    const char *head = r->head ? r->head : "";
    apr_size_t head_len = strlen(head);
    const char *te = probe_header(p, head, head_len, "Transfer-Encoding");
    apr_uint64_t length = 0;
    int cl = probe_http_content_length(head, head_len, &length);
    apr_size_t kept = 0;

    if (is_head || r->status < 200 || r->status == 204 || r->status == 304) {
        /* no body */
    }
    else if (te && strcasestr(te, "chunked")) {
        probe_read_chunked(c, r, &kept);
    }
    else if (cl >= 0) {
        /* a length that is not digits only (a sign, a list, junk) or past
         * 2^63 - 1 is not believed: nothing more is read */
        probe_read_length(c, r, cl ? length : 0, &kept);
    }
    else {
        probe_read_to_eof(c, r, &kept);
    }
    if (r->incomplete && c->error) {
        r->error = c->error;
    }
    r->body = apr_pstrmemdup(p, probe_body_buf, kept);
    r->body_len = kept;
    r->hash = probe_http_hash(r->body, kept);
    r->bytes = c->total;
}

void probe_http_read(probe_conn *c, apr_pool_t *p, probe_reply *r, int is_head)
{
    if (probe_http_read_head(c, p, r) == 0) {
        probe_http_read_body(c, p, r, is_head);
    }
    r->bytes = c->total;
}
