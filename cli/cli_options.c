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
 * cli_options.c: a subcommand's option table, written once, yields
 * getopt_long's optstring and long options and the usage text (cli.h).
 */

#include <string.h>

#include "cli.h"

static int cli_option_id(const cli_option *o)
{
    return o->id ? o->id : o->letter;
}

void cli_options_getopt(const cli_option *table, cli_getopt *g)
{
    const cli_option *o;
    size_t n = 0, s = 0;

    g->optstring[s++] = ':';        /* a missing argument returns ':' */
    for (o = table; o->name || o->help; o++) {
        if (!o->name || n == CLI_OPTIONS_MAX) {
            continue;
        }
        g->longopts[n].name = o->name;
        g->longopts[n].has_arg = o->has_arg;
        g->longopts[n].flag = NULL;
        g->longopts[n].val = cli_option_id(o);
        n++;
        if (o->letter) {
            g->optstring[s++] = (char)o->letter;
            if (o->has_arg == required_argument) {
                g->optstring[s++] = ':';
            }
        }
    }
    memset(&g->longopts[n], 0, sizeof(g->longopts[n]));
    g->optstring[s] = '\0';
}

static size_t cli_fprintf_width(int n)
{
    return n > 0 ? (size_t)n : 0;
}

/* "  -f, --format FMT" or "      --port N", then the options shown on its
 * line (help NULL) as ", --no-progress"; returns the row after them. */
static const cli_option *cli_option_left(FILE *to, const cli_option *o,
                                         size_t *width)
{
    *width = cli_fprintf_width(o->letter ? fprintf(to, "  -%c, ", o->letter)
                                         : fprintf(to, "      "));
    for (;;) {
        *width += cli_fprintf_width(fprintf(to, "--%s%s%s", o->name,
                                            o->arg ? " " : "",
                                            o->arg ? o->arg : ""));
        o++;
        if (!o->name || o->help) {
            return o;
        }
        *width += cli_fprintf_width(fprintf(to, ", "));
    }
}

void cli_options_usage(FILE *to, const cli_option *table, size_t column)
{
    const cli_option *o = table;

    while (o->name || o->help) {
        const cli_option *row = o;
        const char *line, *nl;
        size_t width;

        if (!o->name) {
            fputs(o->help, to);
            o++;
            continue;
        }
        o = cli_option_left(to, row, &width);
        fprintf(to, "%*s", width < column ? (int)(column - width) : 2, "");
        for (line = row->help; (nl = strchr(line, '\n')) != NULL;
             line = nl + 1) {
            fprintf(to, "%.*s\n%*s", (int)(nl - line), line, (int)column, "");
        }
        fputs(line, to);
        if (row->more) {
            fprintf(to, "\n%*s", (int)column, "");
            row->more(to);
        }
        fputc('\n', to);
    }
}
