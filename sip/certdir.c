/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * certdir.c - sofia-sip's certificate directory (certdir.h): agent.pem holds
 * the certificate then the key, cafile.pem the certificate.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "certdir.h"

/* append - copy file @in to the end of @out; 0 or errno */
static int append(FILE *out, const char *in)
{
	char buf[4096];
	FILE *fp;
	size_t n;
	int err = 0;

	if (!(fp = fopen(in, "r")))
		return errno;
	while ((n = fread(buf, 1, sizeof(buf), fp)) > 0)
		if (fwrite(buf, 1, n, out) != n)
			err = EIO;
	if (ferror(fp))
		err = EIO;
	fclose(fp);
	return err;
}

/* px_certdir_write - the directory, agent.pem and cafile.pem */
int px_certdir_write(char *dir, size_t size, const char *opt, const char *cert, const char *key,
		     char *why, size_t whysize)
{
	const char *in[2] = { cert, key };
	char path[600];
	FILE *out;
	int err = 0;

	snprintf(dir, size, "%s/sipdance.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		err = errno;
		snprintf(why, whysize, "cannot create a temporary directory: %s", strerror(err));
		dir[0] = '\0';
		return err;
	}
	for (int f = 0; !err && f < 2; f++) {
		snprintf(path, sizeof(path), "%s/%s", dir, f ? "cafile.pem" : "agent.pem");
		if (!(out = fopen(path, "w"))) {
			err = errno;
			snprintf(why, whysize, "%s: %s", path, strerror(err));
			break;
		}
		for (int i = 0; !err && i < (f ? 1 : 2); i++)
			if ((err = append(out, in[i])))
				snprintf(why, whysize, "%s%s %s: %s", opt, i ? "key" : "cert", in[i],
					 strerror(err));
		if (fclose(out) != 0 && !err) {
			err = EIO;
			snprintf(why, whysize, "%s: %s", path, strerror(err));
		}
	}
	if (err) {
		px_certdir_remove(dir);
		dir[0] = '\0';
	}
	return err;
}

/* px_certdir_remove - the files, then the directory */
void px_certdir_remove(const char *dir)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/agent.pem", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/cafile.pem", dir);
	unlink(path);
	rmdir(dir);
}
