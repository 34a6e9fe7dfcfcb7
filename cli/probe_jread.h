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
 * probe_jread.h: reading JSON (the status page's ?json), bounded in depth
 * and size, into a tree in a pool.  Reading only: JSON is written through
 * pg_out's one escaper (pg_put_json).
 */

#ifndef PROBE_JREAD_H
#define PROBE_JREAD_H

#include <apr_pools.h>

typedef enum probe_jtype {
    PROBE_J_NULL = 0,
    PROBE_J_BOOL,
    PROBE_J_NUMBER,
    PROBE_J_STRING,
    PROBE_J_ARRAY,
    PROBE_J_OBJECT
} probe_jtype;

typedef struct probe_json probe_json;
struct probe_json {
    probe_jtype type;
    const char *key;            /* a member's name */
    const char *str;            /* STRING: decoded; \u0000-\u00ff as one byte,
                                 * as the status page writes raw bytes */
    apr_size_t len;
    double num;                 /* NUMBER, BOOL */
    probe_json *child;             /* ARRAY, OBJECT: first element */
    probe_json *next;
};

/* NULL with *why set when text is not one JSON value. */
probe_json *probe_json_parse(apr_pool_t *p, const char *text, apr_size_t len,
                             const char **why);

/* A member of an object, or NULL. */
const probe_json *probe_json_get(const probe_json *obj, const char *key);

/* A number with a fraction, as JSON and --timeout write it: 1 when all of
 * s is one (its value in *out), else 0. */
int probe_parse_number(const char *s, double *out);

/* The member's number, or dflt when it is missing or not a number. */
double probe_json_num(const probe_json *obj, const char *key, double dflt);

/* The member's string, or NULL. */
const char *probe_json_str(const probe_json *obj, const char *key);

#endif /* PROBE_JREAD_H */
