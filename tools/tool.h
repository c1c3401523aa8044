/* SPDX-License-Identifier: BSD-2-Clause */
/* tool.h - shared by the `sipdance` subcommands. */
#ifndef SIPDANCE_TOOL_H
#define SIPDANCE_TOOL_H

#include <stdio.h>
#include <openssl/x509.h>

/* Exit codes of every subcommand. */
enum { EXIT_OK = 0, EXIT_NO = 1, EXIT_INPUT = 2 };

/* A command or sub-command: run() gets argv[0] = its full name ("sipdance tlsa create"). */
struct tool_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary; /* one line for the list of commands, or its usage text */
};

/* The full name of the command running, "sipdance" until one is chosen: every message starts with it. */
extern const char *tool_name;

/* Run the entry of @cmds named argv[1] (argv[0] is the parent's full name); help, a missing and an
 * unknown name handled with a message naming them. @help prints the parent's help (NULL: each entry's
 * summary, its usage text). */
int tool_dispatch(const struct tool_cmd *cmds, size_t n, int argc, char **argv,
		  void (*help)(FILE *f));

/* Print "<tool_name>: message" and then @usage to stderr; returns EXIT_INPUT. */
int tool_usage(const char *usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

int cmd_tlsa(int argc, char **argv);
int cmd_passport(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_user_name(int argc, char **argv);
int cmd_user_tlsa(int argc, char **argv);
int cmd_user_digest(int argc, char **argv);
int cmd_chain(int argc, char **argv);

/* Print "<tool_name>: message" to stderr; returns EXIT_INPUT. */
int tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Read every certificate of a PEM file, in order; NULL with a message on error. */
STACK_OF(X509) *tool_read_chain(const char *path);

/* Parse a non-negative integer argument no larger than @max; -1 if invalid. */
long tool_number(const char *s, long max);

#endif
