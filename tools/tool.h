/* SPDX-License-Identifier: BSD-2-Clause */
/* tool.h - shared by the `sipdance` subcommands. */
#ifndef SIPDANCE_TOOL_H
#define SIPDANCE_TOOL_H

#include <openssl/x509.h>

/* Exit codes of every subcommand. */
enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_INPUT = 2 };

/* A subcommand: argv[0] is its name. */
struct tool_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

int cmd_tlsa(int argc, char **argv);
int cmd_passport(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_user_name(int argc, char **argv);
int cmd_user_tlsa(int argc, char **argv);
int cmd_chain(int argc, char **argv);

/* Print "sipdance: " + message to stderr; returns EXIT_INPUT. */
int tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read every certificate of a PEM file, in order; NULL with a message on error. */
STACK_OF(X509) *tool_read_chain(const char *path);

/* Parse a non-negative integer argument no larger than @max; -1 if invalid. */
long tool_number(const char *s, long max);

#endif
