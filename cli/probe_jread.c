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
 * probe_jread.c: a recursive-descent JSON reader; see probe_jread.h.
 */

#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "probe_jread.h"

#define PROBE_JSON_DEPTH 32
#define PROBE_JSON_NODES 200000    /* a status page has a few thousand */

typedef struct probe_jparser {
    apr_pool_t *pool;
    const char *s;
    const char *end;
    int nodes;
    const char *why;
} probe_jparser;

static probe_json *probe_jvalue(probe_jparser *j, int depth);

static void probe_jspace(probe_jparser *j)
{
    while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' || *j->s == '\n'
                             || *j->s == '\r')) {
        j->s++;
    }
}

static probe_json *probe_jfail(probe_jparser *j, const char *why)
{
    if (!j->why) {
        j->why = why;
    }
    return NULL;
}

static probe_json *probe_jnode(probe_jparser *j, probe_jtype type)
{
    probe_json *v;

    if (++j->nodes > PROBE_JSON_NODES) {
        return probe_jfail(j, "too many values");
    }
    v = apr_pcalloc(j->pool, sizeof(*v));
    v->type = type;
    return v;
}

static int probe_jhex4(const char *s, unsigned *out)
{
    int i;

    *out = 0;
    for (i = 0; i < 4; i++) {
        char c = s[i];

        *out <<= 4;
        if (c >= '0' && c <= '9') *out |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') *out |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') *out |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    return 0;
}

static char *probe_jutf8(char *o, unsigned cp)
{
    if (cp < 0x800) {
        *o++ = (char)(0xc0 | (cp >> 6));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    }
    else {
        *o++ = (char)(0xf0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
    }
    *o++ = (char)(0x80 | (cp & 0x3f));
    return o;
}

/* A string at j->s (the opening quote); decoded into the pool. */
static const char *probe_jstring(probe_jparser *j, apr_size_t *len)
{
    const char *s = j->s + 1, *q = s;
    char *out, *o;

    while (q < j->end && *q != '"') {
        q += *q == '\\' ? 2 : 1;
    }
    /* decoding never makes a string longer than its source */
    o = out = apr_palloc(j->pool, (apr_size_t)(q - s) + 1);
    while (s < j->end && *s != '"') {
        unsigned cp, lo;

        if ((unsigned char)*s < 0x20) {
            probe_jfail(j, "control byte in a string");
            return NULL;
        }
        if (*s != '\\') {
            *o++ = *s++;
            continue;
        }
        if (++s >= j->end) {
            break;
        }
        switch (*s) {
        case '"': case '\\': case '/': *o++ = *s; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u':
            if (j->end - s < 5 || probe_jhex4(s + 1, &cp) < 0) {
                probe_jfail(j, "bad \\u escape");
                return NULL;
            }
            s += 4;
            if (cp < 0x100) {
                *o++ = (char)cp;        /* the status page's raw bytes */
            }
            else if (cp >= 0xd800 && cp < 0xdc00 && j->end - s >= 7
                     && s[1] == '\\' && s[2] == 'u'
                     && probe_jhex4(s + 3, &lo) == 0 && lo >= 0xdc00
                     && lo < 0xe000) {
                o = probe_jutf8(o, 0x10000 + ((cp - 0xd800) << 10)
                                       + (lo - 0xdc00));
                s += 6;
            }
            else if (cp >= 0xd800 && cp < 0xe000) {
                *o++ = '?';             /* a lone surrogate */
            }
            else {
                o = probe_jutf8(o, cp);
            }
            break;
        default:
            probe_jfail(j, "bad escape");
            return NULL;
        }
        s++;
    }
    if (s >= j->end) {
        probe_jfail(j, "unterminated string");
        return NULL;
    }
    *o = '\0';
    *len = (apr_size_t)(o - out);
    j->s = s + 1;
    return out;
}

static probe_json *probe_jcontainer(probe_jparser *j, int depth, int object)
{
    probe_json *v = probe_jnode(j, object ? PROBE_J_OBJECT : PROBE_J_ARRAY),
               **tail;
    char close = object ? '}' : ']';

    if (!v) {
        return NULL;
    }
    if (depth >= PROBE_JSON_DEPTH) {
        return probe_jfail(j, "nested too deep");
    }
    tail = &v->child;
    j->s++;
    probe_jspace(j);
    if (j->s < j->end && *j->s == close) {
        j->s++;
        return v;
    }
    for (;;) {
        const char *key = NULL;
        apr_size_t klen;
        probe_json *item;

        probe_jspace(j);
        if (object) {
            if (j->s >= j->end || *j->s != '"'
                || !(key = probe_jstring(j, &klen))) {
                return probe_jfail(j, "expected a member name");
            }
            probe_jspace(j);
            if (j->s >= j->end || *j->s != ':') {
                return probe_jfail(j, "expected ':'");
            }
            j->s++;
        }
        if (!(item = probe_jvalue(j, depth + 1))) {
            return NULL;
        }
        item->key = key;
        *tail = item;
        tail = &item->next;
        probe_jspace(j);
        if (j->s < j->end && *j->s == ',') {
            j->s++;
            continue;
        }
        if (j->s < j->end && *j->s == close) {
            j->s++;
            return v;
        }
        return probe_jfail(j, object ? "expected ',' or '}'"
                                     : "expected ',' or ']'");
    }
}

static probe_json *probe_jliteral(probe_jparser *j, const char *word,
                                  probe_jtype type, double num)
{
    apr_size_t n = strlen(word);
    probe_json *v;

    if ((apr_size_t)(j->end - j->s) < n || memcmp(j->s, word, n)) {
        return probe_jfail(j, "unexpected character");
    }
    j->s += n;
    if ((v = probe_jnode(j, type)) != NULL) {
        v->num = num;
    }
    return v;
}

static probe_json *probe_jnumber(probe_jparser *j)
{
    char buf[64];
    const char *start = j->s;
    apr_size_t n;
    probe_json *v;

    while (j->s < j->end && strchr("+-0123456789.eE", *j->s)) {
        j->s++;
    }
    n = (apr_size_t)(j->s - start);
    if (!n || n >= sizeof(buf)) {
        return probe_jfail(j, "bad number");
    }
    memcpy(buf, start, n);
    buf[n] = '\0';
    if (!(v = probe_jnode(j, PROBE_J_NUMBER))) {
        return NULL;
    }
    return probe_parse_number(buf, &v->num) ? v
                                            : probe_jfail(j, "bad number");
}

/* The program's one strtod: JSON numbers and --timeout genuinely take
 * fractions (0.5), which pg_parse_uint cannot read.  The whole string
 * must be the number. */
int probe_parse_number(const char *s, double *out)
{
    char *end;

    *out = strtod(s, &end);
    return end != s && !*end;
}

static probe_json *probe_jvalue(probe_jparser *j, int depth)
{
    probe_json *v;

    probe_jspace(j);
    if (j->s >= j->end) {
        return probe_jfail(j, "unexpected end");
    }
    switch (*j->s) {
    case '{': return probe_jcontainer(j, depth, 1);
    case '[': return probe_jcontainer(j, depth, 0);
    case '"':
        if (!(v = probe_jnode(j, PROBE_J_STRING))
            || !(v->str = probe_jstring(j, &v->len))) {
            return NULL;
        }
        return v;
    case 't': return probe_jliteral(j, "true", PROBE_J_BOOL, 1);
    case 'f': return probe_jliteral(j, "false", PROBE_J_BOOL, 0);
    case 'n': return probe_jliteral(j, "null", PROBE_J_NULL, 0);
    default: return probe_jnumber(j);
    }
}

probe_json *probe_json_parse(apr_pool_t *p, const char *text, apr_size_t len,
                             const char **why)
{
    probe_jparser j;
    probe_json *v;

    j.pool = p;
    j.s = text;
    j.end = text + len;
    j.nodes = 0;
    j.why = NULL;
    v = probe_jvalue(&j, 0);
    probe_jspace(&j);
    if (v && j.s != j.end) {
        v = probe_jfail(&j, "text after the value");
    }
    if (!v) {
        *why = j.why ? j.why : "not JSON";
    }
    return v;
}

const probe_json *probe_json_get(const probe_json *obj, const char *key)
{
    const probe_json *m;

    if (!obj || obj->type != PROBE_J_OBJECT) {
        return NULL;
    }
    for (m = obj->child; m; m = m->next) {
        if (m->key && !strcmp(m->key, key)) {
            return m;
        }
    }
    return NULL;
}

double probe_json_num(const probe_json *obj, const char *key, double dflt)
{
    const probe_json *m = probe_json_get(obj, key);

    return m && m->type == PROBE_J_NUMBER ? m->num : dflt;
}

const char *probe_json_str(const probe_json *obj, const char *key)
{
    const probe_json *m = probe_json_get(obj, key);

    return m && m->type == PROBE_J_STRING ? m->str : NULL;
}
