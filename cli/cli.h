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

#include "pg_version.h"

/* Exit codes, as the monitoring plugins define them; commands that are not
 * checks use 0 and 3 (or 2 for a usage error, as getopt programs do). */
#define PROXYGUARD_EXIT_OK       0
#define PROXYGUARD_EXIT_WARNING  1
#define PROXYGUARD_EXIT_CRITICAL 2
#define PROXYGUARD_EXIT_UNKNOWN  3

int probe_main(int argc, char **argv);
int scan_main(int argc, char **argv);

/* "proxyguard: SUBCOMMAND: " + the formatted message + newline, on stderr. */
void cli_error(const char *subcommand, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif /* PROXYGUARD_CLI_H */
