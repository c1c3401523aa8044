/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/common.h - what every libsipdance module shares: the export macro,
 * the verification outcome that keeps every state apart, and the log hook.
 *
 * Conventions: plumbing returns 0 or an errno value; a verification outcome
 * is reported separately in a struct sipdance_verdict, whose reason is the
 * text a log line, a SIP Reason header and the CLI all print.
 */
#ifndef SIPDANCE_COMMON_H
#define SIPDANCE_COMMON_H

#include <stddef.h>
#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIPDANCE_API __attribute__((visibility("default")))

/*
 * X-macro: result, printable name. The first, 0, is INDETERMINATE, so that
 * a zeroed verdict never reads as MATCH.
 */
#define SIPDANCE_RESULT_MAP(XX)                                               \
	XX(INDETERMINATE, "INDETERMINATE") /* no answer: timeout, SERVFAIL */  \
	XX(MATCH, "MATCH")                 /* authenticated */                 \
	XX(NOMATCH, "NOMATCH")             /* usable records, none matched */  \
	XX(UNUSABLE, "UNUSABLE")           /* records present, none usable */  \
	XX(INSECURE, "INSECURE")           /* answer not DNSSEC-signed */      \
	XX(BOGUS, "BOGUS")                 /* DNSSEC validation failed */      \
	XX(NODATA, "NODATA")               /* validated denial of existence */

enum sipdance_result {
#define SD_XX(r, s) SIPDANCE_##r,
	SIPDANCE_RESULT_MAP(SD_XX)
#undef SD_XX
};

/* Outcome of one verification; only MATCH authenticates. */
struct sipdance_verdict {
	enum sipdance_result result;
	int usage;       /* of the matched TLSA record, -1 if none */
	int selector;    /* likewise */
	int mtype;       /* likewise */
	int depth;       /* chain depth of the matched certificate, -1 if none */
	char reason[256];/* human-readable cause, never empty once set */
};

/** Version of the library loaded at run time, "MAJOR.MINOR.PATCH"; compare with
 *  SIPDANCE_VERSION_STRING (sipdance/version.h) to detect a mismatch with the headers. */
SIPDANCE_API const char *sipdance_version(void);

/** Printable name of a result ("MATCH", "BOGUS", ...). */
SIPDANCE_API const char *sipdance_result_str(enum sipdance_result r);

enum sipdance_log_level {
	SIPDANCE_LOG_ERR,
	SIPDANCE_LOG_WARN,
	SIPDANCE_LOG_INFO,
	SIPDANCE_LOG_DEBUG,
};

typedef void (sipdance_log_fn)(enum sipdance_log_level level,
			       const char *module, const char *msg, void *arg);

/**
 * Install the log sink for the whole library (NULL: log nothing, the default)
 * and the most verbose level passed to it.
 */
SIPDANCE_API void sipdance_log_set(sipdance_log_fn *fn, void *arg,
				   enum sipdance_log_level max);

#ifdef __cplusplus
}
#endif
#endif
