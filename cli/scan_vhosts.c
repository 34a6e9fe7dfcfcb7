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
 * scan_vhosts.c: which host names are ours, for pg_decide's is_own_host.
 *
 * The module asks "is this a name of the vhost httpd selected for this
 * request?".  A log line answers the "which vhost" part only when its
 * format has %v (the vhost's ServerName); httpd answers the "its names"
 * part in `apachectl -S` output:
 *
 *   *:80                   is a NameVirtualHost
 *            default server www.example.com
 * (/etc/apache2/sites-enabled/a.conf:1) port 80 namevhost www.example.com
 * (/etc/apache2/sites-enabled/a.conf:1) alias example.com wild alias
 * *.example.org 127.0.0.1:8080         other.example.com
 * (/etc/apache2/sites-enabled/b.conf:1)
 *
 * So: with %v, the names of that vhost (on the line's port, when known)
 * plus %v itself (its ServerName); without %v, any name of any vhost.
 * --host patterns are ours everywhere, like ProxyGuardAllowHost.  httpd
 * prints the aliases of name-based vhosts only: the one vhost of an
 * address:port is listed without them, so they are read from where -S
 * says that vhost is defined (its file and line, the configuration httpd
 * itself loaded); where they cannot be, the caller is told which vhost's
 * names may be incomplete.
 */

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include "scan.h"

#define SCAN_NAME_BUF (PG_HOSTNAME_MAX + 4)
#define SCAN_VHOSTS_MAX 65536
#define SCAN_RUN_OUTPUT_MAX (8 * 1024 * 1024)

typedef struct scan_vhost {
    char *name;                 /* canonical ServerName */
    size_t name_len;
    unsigned port;              /* 0: any */
    char *conf;                 /* alone on its address: where it is */
    unsigned long conf_line;    /* defined (-S lists no aliases) */
    char **exact;               /* canonical aliases */
    size_t n_exact;
    char **wild;                /* wildcard aliases as written */
    size_t n_wild;
} scan_vhost;

struct scan_vhosts {
    char **patterns;            /* --host */
    size_t n_patterns;
    scan_vhost *v;
    size_t n, cap;
    /* every exact name of every vhost: open addressing, for lines
     * without %v */
    char **set;
    size_t set_cap, set_used;
    /* the last %v asked about, and its vhosts */
    char cache_name[SCAN_NAME_BUF];
    size_t cache_len;
    unsigned cache_port;
    int cache_valid;
    size_t *cache_idx;
    size_t cache_n;
    /* reading -S output, which may come a line at a time: the vhost that
     * "alias" lines belong to (an index: v may move) */
    size_t parse_cur;
    size_t incomplete;          /* vhosts whose names may be missing */
};

#define SCAN_NO_VHOST ((size_t)-1)

scan_vhosts *scan_vhosts_create(void)
{
    scan_vhosts *v = calloc(1, sizeof(scan_vhosts));

    if (v) {
        v->parse_cur = SCAN_NO_VHOST;
    }
    return v;
}

static void scan_free_list(char **list, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(list[i]);
    }
    free(list);
}

void scan_vhosts_destroy(scan_vhosts *v)
{
    size_t i;

    if (v == NULL) {
        return;
    }
    for (i = 0; i < v->n; i++) {
        free(v->v[i].name);
        free(v->v[i].conf);
        scan_free_list(v->v[i].exact, v->v[i].n_exact);
        scan_free_list(v->v[i].wild, v->v[i].n_wild);
    }
    free(v->v);
    scan_free_list(v->patterns, v->n_patterns);
    free(v->set);           /* its strings belong to the vhosts */
    free(v->cache_idx);
    free(v);
}

static char *scan_strndup(const char *s, size_t len)
{
    char *d = malloc(len + 1);

    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static int scan_push(char ***list, size_t *n, char *s)
{
    char **grown;

    if (s == NULL
        || (grown = realloc(*list, (*n + 1) * sizeof(char *))) == NULL) {
        free(s);
        return 0;
    }
    *list = grown;
    (*list)[(*n)++] = s;
    return 1;
}

/* A host name (span) made canonical in buf: lower case, no brackets, no
 * trailing dot.  Returns its length, 0 when it is empty or too long. */
static size_t scan_canon_span(pg_span s, char *buf)
{
    char tmp[SCAN_NAME_BUF];

    if (s.ptr == NULL || s.len == 0 || s.len >= sizeof(tmp)) {
        return 0;
    }
    memcpy(tmp, s.ptr, s.len);
    tmp[s.len] = '\0';
    return pg_name_canon(tmp, buf, SCAN_NAME_BUF);
}

const char *scan_vhosts_add_host(scan_vhosts *v, const char *pattern)
{
    size_t i, len = strlen(pattern);

    if (len == 0 || len > PG_HOSTNAME_MAX + 2) {
        return "not a host name (empty or too long)";
    }
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)pattern[i];

        if (c <= ' ' || c >= 0x7f || c == '/' || c == '@') {
            return "not a host name: give the name alone (www.example.com, "
                   "*.example.com, an IP address)";
        }
    }
    return scan_push(&v->patterns, &v->n_patterns, scan_strndup(pattern, len))
           ? NULL : "out of memory";
}

/* ------------------------------------------------------------------ */
/* The set of every exact name                                          */

static uint32_t scan_name_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;
    size_t i;

    for (i = 0; i < len; i++) {
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    }
    return h;
}

static int scan_set_grow(scan_vhosts *v)
{
    size_t cap = v->set_cap ? v->set_cap * 2 : 256;
    char **set = calloc(cap, sizeof(char *));
    size_t i;

    if (set == NULL) {
        return 0;
    }
    for (i = 0; i < v->set_cap; i++) {
        if (v->set[i]) {
            size_t j = scan_name_hash(v->set[i], strlen(v->set[i])) & (cap - 1);

            while (set[j]) {
                j = (j + 1) & (cap - 1);
            }
            set[j] = v->set[i];
        }
    }
    free(v->set);
    v->set = set;
    v->set_cap = cap;
    return 1;
}

static int scan_set_has(const scan_vhosts *v, const char *name, size_t len)
{
    size_t j;

    if (v->set_cap == 0) {
        return 0;
    }
    for (j = scan_name_hash(name, len) & (v->set_cap - 1); v->set[j];
         j = (j + 1) & (v->set_cap - 1)) {
        if (strlen(v->set[j]) == len && !memcmp(v->set[j], name, len)) {
            return 1;
        }
    }
    return 0;
}

static void scan_set_add(scan_vhosts *v, char *name)
{
    size_t len = strlen(name);
    size_t j;

    if (scan_set_has(v, name, len)) {
        return;
    }
    if ((v->set_used + 1) * 2 > v->set_cap && !scan_set_grow(v)) {
        return;
    }
    for (j = scan_name_hash(name, len) & (v->set_cap - 1); v->set[j];
         j = (j + 1) & (v->set_cap - 1)) {
    }
    v->set[j] = name;
    v->set_used++;
}

/* ------------------------------------------------------------------ */
/* Reading -S output                                                    */

static scan_vhost *scan_new_vhost(scan_vhosts *v, const char *name, size_t len,
                                  unsigned port)
{
    char canon[SCAN_NAME_BUF];
    size_t clen = scan_canon_span((pg_span){ name, len }, canon);
    scan_vhost *h;

    if (clen == 0 || v->n >= SCAN_VHOSTS_MAX) {
        return NULL;
    }
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        scan_vhost *grown = realloc(v->v, cap * sizeof(*grown));

        if (grown == NULL) {
            return NULL;
        }
        v->v = grown;
        v->cap = cap;
    }
    h = &v->v[v->n];
    memset(h, 0, sizeof(*h));
    if ((h->name = scan_strndup(canon, clen)) == NULL) {
        return NULL;
    }
    h->name_len = clen;
    h->port = port;
    v->n++;
    scan_set_add(v, h->name);
    v->cache_valid = 0;
    free(v->cache_idx);         /* sized for the vhosts known when made */
    v->cache_idx = NULL;
    return h;
}

static void scan_add_alias(scan_vhosts *v, scan_vhost *h, const char *name,
                           size_t len, int wild)
{
    char canon[SCAN_NAME_BUF];
    size_t clen;

    if (h == NULL || len == 0) {
        return;
    }
    if (wild) {
        scan_push(&h->wild, &h->n_wild, scan_strndup(name, len));
        return;
    }
    if ((clen = scan_canon_span((pg_span){ name, len }, canon)) > 0
        && scan_push(&h->exact, &h->n_exact, scan_strndup(canon, clen))) {
        scan_set_add(v, h->exact[h->n_exact - 1]);
    }
}

/* The next space-separated word of [*p, end). */
static pg_span scan_word(const char **p, const char *end)
{
    pg_span w;

    while (*p < end && (**p == ' ' || **p == '\t')) {
        (*p)++;
    }
    w.ptr = *p;
    while (*p < end && **p != ' ' && **p != '\t') {
        (*p)++;
    }
    w.len = (size_t)(*p - w.ptr);
    return w;
}

static int scan_word_is(pg_span w, const char *s)
{
    return w.len == strlen(s) && !memcmp(w.ptr, s, w.len);
}

/* "*:80", "127.0.0.1:8080", "[::1]:443", "_default_:443", "*:*": the
 * port, or -1 when the word is no address:port. */
static long scan_addr_port(pg_span w)
{
    const char *colon;
    unsigned long port;

    if (w.len < 3 || (colon = memrchr(w.ptr, ':', w.len)) == NULL
        || colon == w.ptr + w.len - 1) {
        return -1;
    }
    if (colon[1] == '*' && colon + 2 == w.ptr + w.len) {
        return 0;
    }
    return pg_parse_uint(colon + 1, (size_t)(w.ptr + w.len - colon - 1), 65535,
                         &port) ? (long)port : -1;
}

static unsigned scan_port_word(pg_span w)
{
    unsigned long port;

    return pg_parse_uint(w.ptr, w.len, 65535, &port) ? (unsigned)port : 0;
}

static void scan_open_vhost(scan_vhosts *v, const char *name, size_t len,
                            unsigned port)
{
    v->parse_cur =
        scan_new_vhost(v, name, len, port) ? v->n - 1 : SCAN_NO_VHOST;
}

static scan_vhost *scan_current(scan_vhosts *v)
{
    return v->parse_cur < v->n ? &v->v[v->parse_cur] : NULL;
}

/* "(/etc/apache2/sites-enabled/b.conf:12)" from p to the end of the line
 * (a path may hold spaces): where a vhost alone on its address is. */
static void scan_note_where(scan_vhost *h, const char *p, const char *end)
{
    const char *close = end, *colon;
    unsigned long line;

    while (close > p && close[-1] != ')') {
        close--;
    }
    if (h == NULL || close <= p + 1
        || (colon = memrchr(p + 1, ':', (size_t)(close - 1 - (p + 1)))) == NULL
        || !pg_parse_uint(colon + 1, (size_t)(close - 1 - (colon + 1)),
                          10000000, &line)
        || line == 0) {
        return;
    }
    free(h->conf);
    h->conf = scan_strndup(p + 1, (size_t)(colon - (p + 1)));
    h->conf_line = line;
}

/* One line of -S output. */
static void scan_parse_line(scan_vhosts *v, const char *p, const char *end)
{
    pg_span w1 = scan_word(&p, end);
    pg_span w2, w3, w4;
    long port;

    if (w1.len == 0) {
        return;
    }
    if (scan_word_is(w1, "port")) {
        /* port 80 namevhost www.example.com (file:line) */
        w2 = scan_word(&p, end);
        w3 = scan_word(&p, end);
        w4 = scan_word(&p, end);
        v->parse_cur = SCAN_NO_VHOST;
        if (scan_word_is(w3, "namevhost")) {
            scan_open_vhost(v, w4.ptr, w4.len, scan_port_word(w2));
        }
        return;
    }
    if (scan_word_is(w1, "alias")) {
        w2 = scan_word(&p, end);
        scan_add_alias(v, scan_current(v), w2.ptr, w2.len, 0);
        return;
    }
    if (scan_word_is(w1, "wild")) {
        w2 = scan_word(&p, end);
        w3 = scan_word(&p, end);
        if (scan_word_is(w2, "alias")) {
            scan_add_alias(v, scan_current(v), w3.ptr, w3.len, 1);
        }
        return;
    }
    v->parse_cur = SCAN_NO_VHOST;
    if ((port = scan_addr_port(w1)) >= 0) {
        /* "ADDR:PORT is a NameVirtualHost" opens a list of namevhost
         * lines; "ADDR:PORT name (file:line)" is a vhost of its own */
        w2 = scan_word(&p, end);
        w3 = scan_word(&p, end);
        if (!scan_word_is(w2, "is") && w3.len > 0 && w3.ptr[0] == '(') {
            scan_open_vhost(v, w2.ptr, w2.len, (unsigned)port);
            scan_note_where(scan_current(v), w3.ptr, end);
        }
    }
    /* anything else ("default server ...", "ServerRoot: ...") ends it */
}

size_t scan_vhosts_parse(scan_vhosts *v, const char *text, size_t len)
{
    const char *p = text, *end = text + len;
    size_t before = v->n;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;

        scan_parse_line(v, p, le);
        p = nl ? nl + 1 : end;
    }
    return v->n - before;
}

/* Runs the command with its standard output into a buffer; its standard
 * error stays ours (httpd's warnings are the operator's to see). */
const char *scan_vhosts_run(scan_vhosts *v, char *const argv[], char *msg,
                            size_t size)
{
    int out[2], errp[2];
    pid_t pid;
    char *text = NULL;
    size_t len = 0, cap = 0;
    int status, exec_errno = 0;
    ssize_t got;

    if (pipe(out) != 0 || pipe2(errp, O_CLOEXEC) != 0) {
        snprintf(msg, size, "%s: %s", argv[0], strerror(errno));
        return msg;
    }
    if ((pid = fork()) < 0) {
        snprintf(msg, size, "%s: %s", argv[0], strerror(errno));
        return msg;
    }
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        close(errp[0]);
        execvp(argv[0], argv);
        exec_errno = errno;
        if (write(errp[1], &exec_errno, sizeof(exec_errno)) < 0) {
            _exit(127);
        }
        _exit(127);
    }
    close(out[1]);
    close(errp[1]);
    for (;;) {
        if (len + 65536 > cap) {
            char *grown;

            cap = cap ? cap * 2 : 65536;
            if (cap > SCAN_RUN_OUTPUT_MAX
                || (grown = realloc(text, cap)) == NULL) {
                break;
            }
            text = grown;
        }
        got = read(out[0], text + len, cap - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            break;
        }
        len += (size_t)got;
    }
    close(out[0]);
    if (read(errp[0], &exec_errno, sizeof(exec_errno)) != sizeof(exec_errno)) {
        exec_errno = 0;
    }
    close(errp[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (exec_errno) {
        free(text);
        snprintf(msg, size, "could not run %s: %s", argv[0],
                 strerror(exec_errno));
        return msg;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        size_t i, used;

        free(text);
        used = (size_t)snprintf(msg, size, "%s", argv[0]);
        for (i = 1; argv[i] && used < size; i++) {
            used += (size_t)snprintf(msg + used, size - used, " %s", argv[i]);
        }
        if (used < size) {
            snprintf(msg + used, size - used, " failed (exit status %d): it "
                     "must print httpd's vhosts",
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
        }
        return msg;
    }
    scan_vhosts_parse(v, text ? text : "", len);
    free(text);
    return NULL;
}

typedef struct scan_alias_ctx {
    scan_vhosts *v;
    size_t h;                   /* an index: v->v does not move here */
} scan_alias_ctx;

static void scan_take_name(void *baton, const char *name, size_t len, int wild)
{
    scan_alias_ctx *ctx = baton;

    scan_add_alias(ctx->v, &ctx->v->v[ctx->h], name, len, wild);
}

size_t scan_vhosts_read_aliases(scan_vhosts *v, scan_vhosts_warn_fn *warn,
                                void *baton)
{
    char why[512], msg[1024];
    size_t i, incomplete = 0;

    for (i = 0; i < v->n; i++) {
        scan_vhost *h = &v->v[i];
        scan_alias_ctx ctx = { v, i };

        if (h->conf == NULL) {
            continue;
        }
        if (scan_conf_vhost_names(h->conf, h->conf_line, scan_take_name, &ctx,
                                  why, sizeof(why))) {
            continue;
        }
        snprintf(msg, sizeof(msg), "vhost %s is alone on its address, "
                 "where httpd -S lists no ServerAlias, and its definition "
                 "could not be read (%s): its names may be incomplete, give "
                 "them with --host", h->name, why);
        warn(baton, msg);
        incomplete++;
    }
    v->incomplete = incomplete;
    return incomplete;
}

size_t scan_vhosts_incomplete(const scan_vhosts *v)
{
    return v->incomplete;
}

size_t scan_vhosts_count(const scan_vhosts *v)
{
    return v->n;
}

size_t scan_vhosts_names(const scan_vhosts *v)
{
    size_t i, n = 0;

    for (i = 0; i < v->n; i++) {
        n += 1 + v->v[i].n_exact + v->v[i].n_wild;
    }
    return n;
}

size_t scan_vhosts_hosts(const scan_vhosts *v)
{
    return v->n_patterns;
}

/* ------------------------------------------------------------------ */
/* Asking                                                               */

/* The vhosts with this ServerName on this port (port 0: any), cached:
 * consecutive lines mostly belong to one vhost. */
static void scan_lookup(scan_vhosts *v, const char *canon, size_t len,
                        unsigned port)
{
    size_t i;

    if (v->cache_valid && v->cache_len == len && v->cache_port == port
        && !memcmp(v->cache_name, canon, len)) {
        return;
    }
    if (v->cache_idx == NULL && v->n > 0) {
        v->cache_idx = malloc(v->n * sizeof(size_t));
    }
    v->cache_n = 0;
    for (i = 0; v->cache_idx && i < v->n; i++) {
        const scan_vhost *h = &v->v[i];

        if (h->name_len == len && !memcmp(h->name, canon, len)
            && (port == 0 || h->port == 0 || h->port == port)) {
            v->cache_idx[v->cache_n++] = i;
        }
    }
    memcpy(v->cache_name, canon, len);
    v->cache_len = len;
    v->cache_port = port;
    v->cache_valid = 1;
}

unsigned scan_vhosts_port_of(scan_vhosts *v, pg_span vhost)
{
    char canon[SCAN_NAME_BUF];
    size_t len = scan_canon_span(vhost, canon);
    unsigned port = 0;
    size_t i;

    if (len == 0) {
        return 0;
    }
    scan_lookup(v, canon, len, 0);
    for (i = 0; i < v->cache_n; i++) {
        unsigned p = v->v[v->cache_idx[i]].port;

        if (p == 0 || (port != 0 && p != port)) {
            return 0;
        }
        port = p;
    }
    return port;
}

static int scan_vhost_has(const scan_vhost *h, pg_span host)
{
    size_t i;

    if (pg_name_is((pg_span){ h->name, h->name_len }, host)) {
        return 1;
    }
    for (i = 0; i < h->n_exact; i++) {
        if (pg_name_is((pg_span){ h->exact[i], strlen(h->exact[i]) }, host)) {
            return 1;
        }
    }
    for (i = 0; i < h->n_wild; i++) {
        if (pg_name_matches(h->wild[i], host)) {
            return 1;
        }
    }
    return 0;
}

static int scan_any_vhost_has(const scan_vhosts *v, pg_span host)
{
    char canon[SCAN_NAME_BUF];
    size_t len = scan_canon_span(host, canon);
    size_t i, k;

    if (len && scan_set_has(v, canon, len)) {
        return 1;
    }
    for (i = 0; i < v->n; i++) {
        for (k = 0; k < v->v[i].n_wild; k++) {
            if (pg_name_matches(v->v[i].wild[k], host)) {
                return 1;
            }
        }
    }
    return 0;
}

int scan_vhosts_is_own(scan_vhosts *v, pg_span vhost, unsigned port,
                       pg_span host)
{
    char canon[SCAN_NAME_BUF];
    size_t i, len;

    for (i = 0; i < v->n_patterns; i++) {
        if (pg_name_matches(v->patterns[i], host)) {
            return 1;
        }
    }
    if (vhost.ptr == NULL || (vhost.len == 1 && vhost.ptr[0] == '-')) {
        return scan_any_vhost_has(v, host);
    }
    /* %v is the ServerName of the vhost that served the line */
    if ((len = scan_canon_span(vhost, canon)) == 0) {
        return 0;
    }
    if (pg_name_is((pg_span){ canon, len }, host)) {
        return 1;
    }
    scan_lookup(v, canon, len, port);
    for (i = 0; i < v->cache_n; i++) {
        if (scan_vhost_has(&v->v[v->cache_idx[i]], host)) {
            return 1;
        }
    }
    return 0;
}
