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
 * scan_conf.c: the names of one <VirtualHost>, read from the file and
 * line where `apachectl -S` says httpd found it.
 *
 * Only what names a vhost is read: the <VirtualHost> line's own names
 * (not "*", "_default_" or an address), ServerName and ServerAlias, up to
 * </VirtualHost>.  The rest of httpd's syntax matters only as far as
 * reading those needs: comments, continuation lines, quotes.  Conditions
 * (<IfModule>, <IfDefine>, <If>) are not evaluated: a name inside one is
 * taken, since a name wrongly taken as ours hides a hit only for that
 * name, while a real alias missed turns every visitor using it into one.
 * What cannot be read so (a ${VARIABLE}, mod_macro's $parameters, an
 * Include inside the vhost) is said, and the names are incomplete.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scan.h"

#define SCAN_CONF_LINE_MAX (64 * 1024)
#define SCAN_CONF_LINES_MAX 1000000       /* lines read to find the vhost */

typedef struct scan_conf_reader {
    FILE *f;
    unsigned long line;             /* of the last physical line read */
    char buf[SCAN_CONF_LINE_MAX];
} scan_conf_reader;

/* The next logical line (continuations joined), without its newline;
 * NULL at the end.  A line longer than the buffer is cut. */
static char *scan_conf_next(scan_conf_reader *r)
{
    size_t used = 0;

    for (;;) {
        size_t len;

        if (fgets(r->buf + used, (int)(sizeof(r->buf) - used), r->f) == NULL) {
            return used ? r->buf : NULL;
        }
        r->line++;
        len = used + strlen(r->buf + used);
        while (len > used
               && (r->buf[len - 1] == '\n' || r->buf[len - 1] == '\r')) {
            r->buf[--len] = '\0';
        }
        if (len > 0 && r->buf[len - 1] == '\\' && len + 1 < sizeof(r->buf)) {
            used = len - 1;         /* httpd joins "a \" + "b" as "a b" */
            r->buf[used] = '\0';
            continue;
        }
        return r->buf;
    }
}

/* The next argument of a directive line: a word, or a "quoted" string.
 * *p is moved past it; len 0 at the end. */
static pg_span scan_conf_arg(const char **p)
{
    pg_span a = { NULL, 0 };
    const char *s = *p;

    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (*s == '"' || *s == '\'') {
        char q = *s++;
        const char *e = strchr(s, q);

        a.ptr = s;
        a.len = e ? (size_t)(e - s) : strlen(s);
        *p = e ? e + 1 : s + a.len;
        return a;
    }
    a.ptr = s;
    while (*s && *s != ' ' && *s != '\t' && *s != '>') {
        s++;
    }
    a.len = (size_t)(s - a.ptr);
    *p = s;
    return a;
}

static int scan_conf_is(pg_span w, const char *name)
{
    return w.len == strlen(name) && strncasecmp(w.ptr, name, w.len) == 0;
}

/* A name without "scheme://" and ":port"; its length, 0 for an address
 * or a wildcard address ("*", "_default_", an IP literal). */
static size_t scan_conf_host(pg_span w, const char **start)
{
    const char *s = w.ptr, *e = w.ptr + w.len, *scheme, *colon;
    unsigned char bytes[16];

    scheme = w.len > 3 ? strstr(s, "://") : NULL;
    if (scheme && scheme < e) {
        s = scheme + 3;
    }
    if (s < e && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(e - s));

        e = close ? close + 1 : e;
    }
    else if ((colon = memchr(s, ':', (size_t)(e - s))) != NULL) {
        e = colon;
    }
    *start = s;
    if (e == s || (e - s == 1 && *s == '*')
        || ((size_t)(e - s) == 9 && !strncasecmp(s, "_default_", 9))) {
        return 0;
    }
    if (*s == '[') {
        return 0;                   /* an IPv6 address */
    }
    if (pg_ip_parse((pg_span){ s, (size_t)(e - s) }, bytes)) {
        return 0;
    }
    return (size_t)(e - s);
}

static int scan_conf_fail(char *why, size_t size, const char *fmt,
                          const char *a, unsigned long n)
{
    snprintf(why, size, fmt, a, n);
    return 0;
}

/* One directive inside the vhost.  Returns 0 when the names cannot all be
 * read (why says so), 1 to go on, 2 at </VirtualHost>. */
static int scan_conf_directive(const char *text, scan_conf_name_fn *fn,
                               void *baton, const char *path,
                               unsigned long line, char *why, size_t size)
{
    const char *p = text;
    pg_span word = scan_conf_arg(&p), arg;
    int names = scan_conf_is(word, "ServerAlias");
    const char *host;
    size_t len;

    if (scan_conf_is(word, "</VirtualHost")) {
        return 2;
    }
    if (scan_conf_is(word, "Include")
        || scan_conf_is(word, "IncludeOptional")) {
        return scan_conf_fail(why, size, "an Include inside it (%s:%lu)", path,
                              line);
    }
    if (!names && !scan_conf_is(word, "ServerName")) {
        return 1;
    }
    while ((arg = scan_conf_arg(&p)).len > 0) {
        if (memchr(arg.ptr, '$', arg.len)) {
            return scan_conf_fail(why, size, "a name from a variable (%s:%lu)",
                                  path, line);
        }
        if (names && (memchr(arg.ptr, '*', arg.len)
                      || memchr(arg.ptr, '?', arg.len))) {
            fn(baton, arg.ptr, arg.len, 1);
        }
        else if ((len = scan_conf_host(arg, &host)) > 0) {
            fn(baton, host, len, 0);
        }
        if (!names) {
            break;                  /* ServerName takes one */
        }
    }
    return 1;
}

int scan_conf_vhost_names(const char *path, unsigned long at,
                          scan_conf_name_fn *fn, void *baton, char *why,
                          size_t size)
{
    scan_conf_reader *r = calloc(1, sizeof(*r));
    const char *text, *p;
    pg_span word, arg;
    int rc = 0, state;

    if (r == NULL || (r->f = fopen(path, "r")) == NULL) {
        snprintf(why, size, "%s: %s", path,
                 r ? strerror(errno) : "out of memory");
        free(r);
        return 0;
    }
    do {
        text = scan_conf_next(r);
    } while (text != NULL && r->line < at && r->line < SCAN_CONF_LINES_MAX);
    p = text ? text : "";
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    word = scan_conf_arg(&p);
    if (text == NULL || r->line < at || !scan_conf_is(word, "<VirtualHost")) {
        snprintf(why, size, "%s:%lu holds no <VirtualHost> (the file changed "
                 "since httpd read it?)", path, at);
        goto done;
    }
    while ((arg = scan_conf_arg(&p)).len > 0) {
        const char *host;
        size_t len;

        if (memchr(arg.ptr, '$', arg.len)) {
            snprintf(why, size, "its address is a variable or a macro "
                     "parameter (%s:%lu)", path, at);
            goto done;
        }
        if ((len = scan_conf_host(arg, &host)) > 0) {
            fn(baton, host, len, 0);
        }
    }
    while ((text = scan_conf_next(r)) != NULL) {
        while (*text == ' ' || *text == '\t') {
            text++;
        }
        if (*text == '\0' || *text == '#') {
            continue;
        }
        state = scan_conf_directive(text, fn, baton, path, r->line, why, size);
        if (state != 1) {
            rc = state == 2;
            goto done;
        }
    }
    snprintf(why, size, "no </VirtualHost> after %s:%lu", path, at);
done:
    fclose(r->f);
    free(r);
    return rc;
}
