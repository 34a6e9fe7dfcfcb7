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
 * proxyguard: the command-line side of mod_proxyguard, for what the module
 * cannot see.
 *
 *   proxyguard probe [options] [URL...]   is this server an open proxy?
 *   proxyguard scan [options] FILE...     proxy abuse in existing logs
 *   proxyguard help [SUBCOMMAND]
 *   proxyguard --version
 *
 * main only dispatches (cli.h).
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct cli_subcommand {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} cli_subcommand;

static const cli_subcommand cli_subcommands[] = {
    { "probe", probe_main, "prove whether a server is an open proxy" },
    { "scan", scan_main, "find proxy abuse in existing access logs" },
    { NULL, NULL, NULL }
};

void cli_error(const char *subcommand, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "proxyguard: %s%s", subcommand ? subcommand : "",
            subcommand ? ": " : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_report_title(const pg_out *out, const char *subcommand,
                      const char *sep)
{
    pg_puts(out, "proxyguard ");
    pg_puts(out, subcommand);
    pg_puts(out, sep);
}

static void cli_usage(FILE *to)
{
    const cli_subcommand *c;

    fputs("usage: proxyguard SUBCOMMAND [options] [arguments]\n\n", to);
    for (c = cli_subcommands; c->name; c++) {
        fprintf(to, "  %-8s %s\n", c->name, c->summary);
    }
    fputs("\n'proxyguard help SUBCOMMAND' or 'proxyguard SUBCOMMAND --help' "
          "for its options;\n'proxyguard --version' for the version.\n", to);
}

static const cli_subcommand *cli_find(const char *name)
{
    const cli_subcommand *c;

    for (c = cli_subcommands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const cli_subcommand *c;

    if (argc < 2) {
        cli_usage(stderr);
        return PROXYGUARD_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
        printf("proxyguard %s\n", PG_VERSION);
        return PROXYGUARD_EXIT_DONE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        cli_usage(stdout);
        return PROXYGUARD_EXIT_DONE;
    }
    if (!strcmp(argv[1], "help")) {
        if (argc < 3) {
            cli_usage(stdout);
            return PROXYGUARD_EXIT_DONE;
        }
        if ((c = cli_find(argv[2])) == NULL) {
            cli_error(NULL, "no subcommand '%s' (try 'proxyguard help')",
                      argv[2]);
            return PROXYGUARD_EXIT_USAGE;
        }
        {
            char *help_argv[] = { argv[2], "--help", NULL };

            return c->run(2, help_argv);
        }
    }
    if ((c = cli_find(argv[1])) == NULL) {
        cli_error(NULL, "no subcommand '%s' (try 'proxyguard help')", argv[1]);
        return PROXYGUARD_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
