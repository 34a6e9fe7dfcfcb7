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
 * cli.h: the proxyguard program.  main (proxyguard.c) only dispatches;
 * each subcommand lives in files of its own and is entered through one
 * function with main's signature, argv[0] being the subcommand's name.
 * Errors go to stderr as "proxyguard: SUBCOMMAND: what: why", results to
 * stdout.  No httpd headers here: the program links the module's pure code
 * (pg_decide.c, pg_out.c) and APR.
 */

#ifndef PROXYGUARD_CLI_H
#define PROXYGUARD_CLI_H

#include <getopt.h>
#include <stdio.h>

#include "pg_out.h"
#include "pg_version.h"

/* probe's verdicts: the monitoring plugins' statuses (a usage error is
 * UNKNOWN there, as the plugins' guidelines say). */
#define PROXYGUARD_EXIT_OK       0
#define PROXYGUARD_EXIT_WARNING  1
#define PROXYGUARD_EXIT_CRITICAL 2
#define PROXYGUARD_EXIT_UNKNOWN  3

/* The commands that are not checks (scan, the dispatcher). */
#define PROXYGUARD_EXIT_DONE     0  /* done, --help, --version */
#define PROXYGUARD_EXIT_USAGE    2  /* a usage error, as getopt programs */
#define PROXYGUARD_EXIT_FAILED   3  /* could not do it all (a file could not
                                     * be read, out of memory) */

/* One row of a subcommand's option table, the one place its options are
 * written: getopt_long's optstring and long options and the usage text
 * all come from it (cli_options.c).  A row with no name is text for the
 * usage alone (a heading, a note); the table ends with a row of zeros. */
typedef struct cli_option {
    const char *name;           /* --name */
    int letter;                 /* -l, or 0 for none */
    int id;                     /* what getopt_long returns: 0 for the
                                 * letter, else a number from 256 on */
    int has_arg;                /* no_argument or required_argument */
    const char *arg;            /* the argument's name in the usage */
    const char *help;           /* '\n' starts a line under the first;
                                 * NULL: shown on the line of the option
                                 * before it */
    void (*more)(FILE *to);     /* writes one more line of help (or NULL) */
} cli_option;

#define CLI_OPTIONS_MAX 48

typedef struct cli_getopt {
    char optstring[2 * CLI_OPTIONS_MAX + 2];
    struct option longopts[CLI_OPTIONS_MAX + 1];
} cli_getopt;

/* getopt_long's optstring (starting with ':', so that a missing argument
 * is reported as ':') and long options, from the table. */
void cli_options_getopt(const cli_option *table, cli_getopt *g);

/* The table as usage text: "  -f, --format FMT" padded to column (or two
 * spaces past it), then the help; its other lines indented to column. */
void cli_options_usage(FILE *to, const cli_option *table, size_t column);

int probe_main(int argc, char **argv);
int scan_main(int argc, char **argv);

/* "proxyguard: SUBCOMMAND: " + the formatted message + newline, on stderr. */
void cli_error(const char *subcommand, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first line of a subcommand's text report, the one header rule of
 * both: "proxyguard SUBCOMMAND", sep, then what the report is about
 * (written by the caller).  probe's sep is " " (the URL follows), scan's
 * ": " (its counts follow), as the reports have always read. */
void cli_report_title(const pg_out *out, const char *subcommand,
                      const char *sep);

#endif /* PROXYGUARD_CLI_H */
