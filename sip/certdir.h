/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * certdir.h - the certificate directory sofia-sip's TLS reads its identity
 * from (TPTAG_CERTIFICATE, NUTAG_CERTIFICATE_DIR), for sipdance-proxy and the
 * example UA: written to a private temporary directory, removed as soon as
 * sofia-sip has read it, so the copy of the private key lives for a moment.
 */
#ifndef SIPDANCE_SIP_CERTDIR_H
#define SIPDANCE_SIP_CERTDIR_H

#include <stddef.h>

/* write agent.pem (@cert, then @key) and cafile.pem (@cert: sofia-sip wants
 * one; verification is ours) into a new directory, its path in @dir; 0 or an
 * errno value with the reason in @why, naming the file by its option (@opt
 * "--" or "--tls-", then "cert" or "key"); nothing is left behind then */
int px_certdir_write(char *dir, size_t size, const char *opt, const char *cert, const char *key,
		     char *why, size_t whysize);
/* remove the directory and the files px_certdir_write put in it */
void px_certdir_remove(const char *dir);

#endif
