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
 * scan_format.c: Apache LogFormat strings, compiled once into a list of
 * literals and fields, and the split of a line along them.
 *
 * A field ends where the literal after it begins.  Fields that Apache
 * writes through ap_escape_logitem (%r, headers, notes) escape '"' as \",
 * so a quote preceded by an odd number of backslashes is inside the field,
 * not its end.  The default %t is "[...]" and holds a space, so it ends at
 * its ']'.  A field followed directly by another field, or ending the
 * format, ends at the first space when it is a token (no spaces in it).
 *
 * Lenient where real logs differ from their format, strict where a wrong
 * guess would misread a line:
 *  - a line may end before the format does (a common-format line read as
 *    combined): the fields it lacks are not logged for it;
 *  - text after the last field scan needs is not looked at (a combined
 *    line read as common);
 *  - but a literal that is there and differs, or a line that ends before
 *    its request is complete, makes the line unparsed.
 * The split stops after the last field scan uses, so the user agent of a
 * combined line is never scanned.
 */

#include <string.h>

#include "scan.h"

typedef struct scan_preset {
    const char *name;
    const char *format;
} scan_preset;

/* httpd's and Debian's stock formats, and the guide's abuse log. */
static const scan_preset scan_presets[] = {
    { "common", "%h %l %u %t \"%r\" %>s %b" },
    { "combined",
      "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" },
    { "vhost_combined",
      "%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\"" },
    { "combinedio",
      "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %I %O" },
    { "proxyguard", "%h %l %u %t \"%r\" %>s %b \"%{User-Agent}i\" "
                    "%{PROXYGUARD}e/%{PROXYGUARD_ACTION}e" },
    { NULL, NULL }
};

const char *scan_format_preset(const char *name)
{
    const scan_preset *p;

    for (p = scan_presets; p->name; p++) {
        if (!strcmp(p->name, name)) {
            return p->format;
        }
    }
    return NULL;
}

const char *scan_format_preset_name(size_t i)
{
    return i < sizeof(scan_presets) / sizeof(scan_presets[0])
               ? scan_presets[i].name
               : NULL;
}

/* ------------------------------------------------------------------ */
/* Compiling                                                            */

static const char *scan_store(scan_format *f, const char *s, size_t len)
{
    char *at;

    if (f->store_used + len + 1 > sizeof(f->store)) {
        return NULL;
    }
    at = f->store + f->store_used;
    memcpy(at, s, len);
    at[len] = '\0';
    f->store_used += len + 1;
    return at;
}

static scan_format_item *scan_new_item(scan_format *f)
{
    scan_format_item *it;

    if (f->n_items >= SCAN_FORMAT_ITEMS_MAX) {
        return NULL;
    }
    it = &f->items[f->n_items++];
    memset(it, 0, sizeof(*it));
    it->field = SCAN_F_NONE;
    return it;
}

/* Appends literal bytes, merging with a literal just before. */
static const char *scan_add_literal(scan_format *f, const char *s, size_t len)
{
    scan_format_item *last = f->n_items ? &f->items[f->n_items - 1] : NULL;

    if (len == 0) {
        return NULL;
    }
    if (last && last->literal
        && last->text + last->len + 1 == f->store + f->store_used
        && f->store_used + len <= sizeof(f->store)) {
        /* the previous literal is the last thing stored: extend it */
        memcpy(f->store + f->store_used - 1, s, len);
        f->store_used += len;
        f->store[f->store_used - 1] = '\0';
        last->len += len;
        return NULL;
    }
    if ((last = scan_new_item(f)) == NULL) {
        return "the format has too many items";
    }
    last->literal = 1;
    if ((last->text = scan_store(f, s, len)) == NULL) {
        return "the format is too long";
    }
    last->len = len;
    return NULL;
}

static int scan_arg_is(const char *arg, size_t len, const char *word)
{
    size_t i;

    if (strlen(word) != len) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char a = arg[i], b = word[i];

        if (a >= 'A' && a <= 'Z') {
            a = (char)(a + 32);
        }
        if (b >= 'A' && b <= 'Z') {
            b = (char)(b + 32);
        }
        if (a != b) {
            return 0;
        }
    }
    return 1;
}

/* %{...}t: the kind of time, and the strftime format when it is one. */
static const char *scan_time_field(scan_format *f, scan_format_item *it,
                                   const char *arg, size_t len)
{
    it->field = SCAN_F_TIME;
    it->token = 1;
    if (arg == NULL) {
        it->time_kind = SCAN_TIME_CLF;
        it->bracketed = 1;
        it->token = 0;
        return NULL;
    }
    if (len >= 6 && (!strncmp(arg, "begin:", 6))) {
        arg += 6;
        len -= 6;
    }
    else if (len >= 4 && !strncmp(arg, "end:", 4)) {
        arg += 4;
        len -= 4;
    }
    if (scan_arg_is(arg, len, "sec")) {
        it->time_kind = SCAN_TIME_SEC;
    }
    else if (scan_arg_is(arg, len, "msec")) {
        it->time_kind = SCAN_TIME_MSEC;
    }
    else if (scan_arg_is(arg, len, "usec")) {
        it->time_kind = SCAN_TIME_USEC;
    }
    else if (len > 5 && !strncmp(arg + len - 5, "_frac", 5)) {
        it->field = SCAN_F_NONE;      /* msec_frac, usec_frac: a fraction */
        it->time_kind = SCAN_TIME_FRACTION;
    }
    else {
        it->time_kind = SCAN_TIME_STRFTIME;
        it->token = memchr(arg, ' ', len) == NULL;
        if ((it->time_fmt = scan_store(f, arg, len)) == NULL) {
            return "the format is too long";
        }
    }
    return NULL;
}

/* The meaning of one directive: %X or %{arg}X. */
static const char *scan_directive(scan_format *f, scan_format_item *it, char d,
                                  const char *arg, size_t alen, int final)
{
    it->token = 1;
    switch (d) {
    case 'a':
        it->field = arg ? SCAN_F_NONE : SCAN_F_CLIENT;
        break;
    case 'h':
        it->field = arg ? SCAN_F_NONE : SCAN_F_REMOTE_HOST;
        break;
    case 'A': it->field = SCAN_F_LOCAL_ADDR; break;
    case 'b': case 'B': it->field = SCAN_F_BYTES; break;
    case 'O': it->field = SCAN_F_BYTES_SENT; break;
    case 'r': it->field = SCAN_F_REQUEST; it->token = 0; break;
    case 'm': it->field = SCAN_F_METHOD; break;
    case 'U': it->field = SCAN_F_PATH; it->token = 0; break;
    case 'q': it->field = SCAN_F_QUERY; it->token = 0; break;
    case 's': it->field = final ? SCAN_F_STATUS : SCAN_F_STATUS_ORIG; break;
    case 'v': it->field = SCAN_F_VHOST; break;
    case 'p':
        if (arg == NULL || scan_arg_is(arg, alen, "canonical")) {
            it->field = SCAN_F_CANONICAL_PORT;
        }
        else if (scan_arg_is(arg, alen, "local")) {
            it->field = SCAN_F_LOCAL_PORT;
        }
        break;
    case 'i':
        it->token = 0;
        if (arg && scan_arg_is(arg, alen, "Host")) {
            it->field = SCAN_F_HOST;
        }
        break;
    case 'e':
        if (arg && alen == 5 && !memcmp(arg, "HTTPS", 5)) {
            it->field = SCAN_F_HTTPS;
        }
        else if (arg && alen == 10 && !memcmp(arg, "PROXYGUARD", 10)) {
            it->field = SCAN_F_PROXYGUARD;
        }
        else {
            it->token = 0;
        }
        break;
    case 'n':
        if (arg && alen == 10 && !memcmp(arg, "PROXYGUARD", 10)) {
            it->field = SCAN_F_PROXYGUARD;
        }
        else {
            it->token = 0;
        }
        break;
    case 't':
        return scan_time_field(f, it, arg, alen);
    case 'u': case 'C': case 'o': case 'f': case 'R': case 'L':
    case 'c': case 'x':         /* mod_ssl's %{VAR}c and %{VAR}x */
        it->token = 0;
        break;
    case 'D': case 'T': case 'H': case 'k': case 'l': case 'P':
    case 'V': case 'X': case 'I': case 'S':
        break;
    default:
        return "unknown directive in the format (see LogFormat in "
               "httpd's mod_log_config)";
    }
    return NULL;
}

/* "%...": modifiers, an optional {argument}, the directive.  *pp points
 * after the '%' and is moved past the directive. */
static const char *scan_compile_percent(scan_format *f, const char **pp)
{
    const char *p = *pp;
    const char *arg = NULL;
    size_t alen = 0;
    int final = 0;
    scan_format_item *it;
    const char *err;
    char name[8];

    if (*p == '%') {
        *pp = p + 1;
        return scan_add_literal(f, "%", 1);
    }
    /* status conditions (%400,501{...}i, %!200{...}i) and < > */
    while (*p == '!' || *p == ',' || *p == '<' || *p == '>'
           || (*p >= '0' && *p <= '9')) {
        if (*p == '>') {
            final = 1;
        }
        p++;
    }
    if (*p == '{') {
        const char *close = strchr(p, '}');

        if (close == NULL) {
            return "unclosed { in the format";
        }
        arg = p + 1;
        alen = (size_t)(close - arg);
        p = close + 1;
    }
    if (*p == '\0') {
        return "the format ends with an unfinished %-directive";
    }
    if ((it = scan_new_item(f)) == NULL) {
        return "the format has too many items";
    }
    if (*p == '^') {
        /* two-letter tags: mod_log_config's %{...}^ti and ^to (trailers),
         * mod_logio's %^FB (time to first byte); modules may add others */
        if (p[1] == '\0' || p[2] == '\0') {
            return "the format ends with an unfinished %^ directive";
        }
        it->token = p[1] == 'F' && p[2] == 'B';
        p += 3;
    }
    else if ((err = scan_directive(f, it, *p, arg, alen, final)) != NULL) {
        return err;
    }
    else {
        p++;
    }
    name[0] = '%';
    name[1] = p[-1];
    name[2] = '\0';
    it->text = scan_store(f, name, 2);
    it->len = 2;
    *pp = p;
    return NULL;
}

/* A backslash escape as httpd's config reader and mod_log_config leave
 * it: \" and \\ (so a format pasted from httpd.conf works), \n, \t. */
static char scan_unbackslash(char c)
{
    return c == 'n' ? '\n' : c == 't' ? '\t' : c;
}

static int scan_is_status(const scan_format_item *it)
{
    return !it->literal
           && (it->field == SCAN_F_STATUS || it->field == SCAN_F_STATUS_ORIG);
}

static void scan_mark_needed(scan_format *f)
{
    size_t i;

    memset(f->has, 0, sizeof(f->has));
    f->last_needed = 0;
    for (i = 0; i < f->n_items; i++) {
        scan_format_item *it = &f->items[i];

        if (!it->literal && it->field != SCAN_F_NONE) {
            f->has[it->field] = 1;
            f->last_needed = i;
        }
        it->status_after = !it->literal && !it->token && i + 2 < f->n_items
                           && f->items[i + 1].literal
                           && scan_is_status(&f->items[i + 2]);
    }
}

const char *scan_format_compile(scan_format *f, const char *spec)
{
    const char *p;
    const char *err;

    memset(f, 0, sizeof(*f));
    f->source = spec;
    if ((p = scan_format_preset(spec)) != NULL) {
        spec = p;
    }
    f->expanded = spec;
    for (p = spec; *p; ) {
        if (*p == '%') {
            p++;
            err = scan_compile_percent(f, &p);
        }
        else if (*p == '\\' && p[1]) {
            char c = scan_unbackslash(p[1]);

            err = scan_add_literal(f, &c, 1);
            p += 2;
        }
        else {
            err = scan_add_literal(f, p, 1);
            p++;
        }
        if (err) {
            return err;
        }
    }
    scan_mark_needed(f);
    if (!f->has[SCAN_F_REQUEST]
        && !(f->has[SCAN_F_METHOD] && f->has[SCAN_F_PATH])) {
        return "the format logs no request: it needs %r (or %m and %U)";
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Splitting                                                            */

/* Is the byte at q preceded by an odd number of backslashes (after
 * start)?  Then it is escaped. */
static int scan_escaped(const char *start, const char *q)
{
    size_t n = 0;

    while (q > start && q[-1] == '\\') {
        q--;
        n++;
    }
    return n & 1;
}

/* The first unescaped occurrence of lit in [p, end), or NULL. */
static inline const char *scan_find_literal(const char *p, const char *end,
                                            const char *lit, size_t llen,
                                            int escapes)
{
    const char *start = p;

    while (p < end) {
        const char *q = memchr(p, lit[0], (size_t)(end - p));

        if (q == NULL || (size_t)(end - q) < llen) {
            return NULL;
        }
        if ((llen == 1 || memcmp(q + 1, lit + 1, llen - 1) == 0)
            && !(escapes && scan_escaped(start, q))) {
            return q;
        }
        p = q + 1;
    }
    return NULL;
}

/* Does a status (three digits, then the end of the field) start at p?
 * Item i is the status. */
static int scan_status_at(const scan_format *f, size_t i, const char *p,
                          const char *end)
{
    const scan_format_item *after =
        i + 1 < f->n_items ? &f->items[i + 1] : NULL;

    if (end - p < 3 || p[0] < '0' || p[0] > '9' || p[1] < '0' || p[1] > '9'
        || p[2] < '0' || p[2] > '9') {
        return 0;
    }
    return end - p == 3 || p[3] == ' '
           || (after && after->literal && p[3] == after->text[0]);
}

/* The end of a field that a literal closes, when a status follows that
 * literal.  Apache before 2.0.46 wrote a request's '"' unescaped into %r,
 * so the literal that closes it may occur inside it: the end is the first
 * occurrence that a status follows (a few tries; else the first). */
#define SCAN_END_TRIES 16

static const char *scan_literal_end(const scan_format *f, size_t i,
                                    const char *from, const char *end)
{
    const scan_format_item *it = &f->items[i];
    const scan_format_item *lit = &f->items[i + 1];
    const char *first =
        scan_find_literal(from, end, lit->text, lit->len, !it->token);
    const char *q = first;
    int tries;

    for (tries = 0; q && tries < SCAN_END_TRIES; tries++) {
        if (scan_status_at(f, i + 2, q + lit->len, end)) {
            return q;
        }
        q = scan_find_literal(q + 1, end, lit->text, lit->len, !it->token);
    }
    return first;
}

static const char *scan_token_end(const char *p, const char *end)
{
    const char *sp = memchr(p, ' ', (size_t)(end - p));

    return sp ? sp : end;
}

/* Where the field of item i, starting at p, ends.  *complete is 0 when the
 * literal that should end it is missing (the line ended early). */
static const char *scan_field_end(const scan_format *f, size_t i, const char *p,
                                  const char *end, int *complete)
{
    const scan_format_item *it = &f->items[i];
    const scan_format_item *next = i + 1 < f->n_items ? &f->items[i + 1] : NULL;
    const char *from = p;
    const char *q;

    *complete = 1;
    if (it->bracketed) {
        if (p >= end || *p != '[') {
            return NULL;
        }
        q = memchr(p, ']', (size_t)(end - p));
        if (q == NULL) {
            *complete = 0;
            return end;
        }
        return q + 1;
    }
    if (p < end && *p == '[' && it->token) {
        /* an IPv6 literal (%v, %A, %h) may hold the ':' that follows it */
        const char *close = memchr(p, ']', (size_t)(end - p));

        if (close) {
            from = close;
        }
    }
    if (next == NULL || !next->literal) {
        return it->token || next != NULL ? scan_token_end(from, end) : end;
    }
    q = it->status_after
            ? scan_literal_end(f, i, from, end)
            : scan_find_literal(from, end, next->text, next->len, !it->token);
    if (q == NULL) {
        *complete = 0;
        return it->token ? scan_token_end(from, end) : end;
    }
    return q;
}

/* Splits up to item last (or every item); *whole is set when every item
 * of the format matched and the line ended right after the last one. */
static int scan_split(const scan_format *f, const char *line, size_t len,
                      size_t last, scan_line_fields *out, int *whole)
{
    const char *p = line;
    const char *end = line + len;
    int have_request = 0;
    size_t i;

    memset(out, 0, sizeof(*out));
    *whole = 0;
    for (i = 0; i <= last && i < f->n_items; i++) {
        const scan_format_item *it = &f->items[i];
        const char *fe;
        int complete;

        if (it->literal) {
            if ((size_t)(end - p) < it->len
                || memcmp(p, it->text, it->len) != 0) {
                /* a line that simply ends here lacks the fields after */
                if (p == end) {
                    return have_request;
                }
                return 0;
            }
            p += it->len;
            continue;
        }
        if ((fe = scan_field_end(f, i, p, end, &complete)) == NULL) {
            return 0;
        }
        if (it->field != SCAN_F_NONE && out->f[it->field].ptr == NULL) {
            out->f[it->field].ptr = p;
            out->f[it->field].len = (size_t)(fe - p);
        }
        if (it->field == SCAN_F_REQUEST || it->field == SCAN_F_PATH) {
            if (!complete) {
                return 0;       /* the request was cut: not a line we know */
            }
            have_request = 1;
        }
        p = fe;
        if (!complete) {
            return have_request;
        }
    }
    *whole = i == f->n_items && p == end;
    return have_request;
}

int scan_format_split(const scan_format *f, const char *line, size_t len,
                      scan_line_fields *out)
{
    int whole;

    return scan_split(f, line, len, f->last_needed, out, &whole);
}

int scan_format_fits(const scan_format *f, const char *line, size_t len)
{
    scan_line_fields lf;
    int whole;

    return scan_split(f, line, len, f->n_items, &lf, &whole) && whole;
}

/* ------------------------------------------------------------------ */
/* Which preset a file is in                                            */

#define SCAN_PRESETS (sizeof(scan_presets) / sizeof(scan_presets[0]) - 1)

static scan_format scan_compiled[SCAN_PRESETS];

size_t scan_format_presets(const scan_format **out)
{
    static int compiled;
    size_t i;

    if (!compiled) {
        for (i = 0; i < SCAN_PRESETS; i++) {
            scan_format_compile(&scan_compiled[i], scan_presets[i].name);
        }
        compiled = 1;
    }
    *out = scan_compiled;
    return SCAN_PRESETS;
}

const scan_format *scan_format_compiled(const char *name)
{
    const scan_format *presets;
    size_t i, n = scan_format_presets(&presets);

    for (i = 0; i < n; i++) {
        if (!strcmp(scan_presets[i].name, name)) {
            return &presets[i];
        }
    }
    return NULL;
}

const scan_format *scan_format_detect(const pg_span *lines, size_t n)
{
    const scan_format *presets, *best = NULL;
    size_t i, k, count = scan_format_presets(&presets);
    size_t best_fit = 0, best_split = 0;

    for (i = 0; i < count; i++) {
        size_t fit = 0, split = 0;
        scan_line_fields lf;

        for (k = 0; k < n; k++) {
            fit += scan_format_fits(&presets[i], lines[k].ptr, lines[k].len);
            split +=
                scan_format_split(&presets[i], lines[k].ptr, lines[k].len, &lf);
        }
        if (fit > best_fit || (fit == best_fit && split > best_split)) {
            best = &presets[i];
            best_fit = fit;
            best_split = split;
        }
    }
    return best_split ? best : NULL;
}

const char *scan_format_name(const scan_format *f)
{
    return scan_format_preset(f->source) ? f->source : NULL;
}
