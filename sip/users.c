/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * users.c - the --users file: one user per line, "user:realm:HA1-MD5:
 * HA1-SHA-256[:NUMBERS]" (either HA1 may be empty; NUMBERS the telephone
 * numbers the user may call from, for STIR attestation A), or htdigest's
 * own "user:realm:HA1-MD5". HA1 values are password equivalents for their
 * realm: they are kept in memory, compared, and never printed.
 */
#include "auth.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <openssl/crypto.h>
#include <sipdance/clientid.h>

#define MAX_LINE 4096

struct px_user {
	char *name, *realm;
	char md5[PX_DIGEST_HEX], sha256[PX_DIGEST_HEX]; /* "" when the line has none */
	char *numbers;                                   /* comma-separated entries, or NULL */
};

struct px_users {
	su_home_t home[1];
	struct px_user *u;
	size_t n, cap;
};

/* px_users_free - forget every credential */
void px_users_free(struct px_users *us)
{
	if (!us)
		return;
	for (size_t i = 0; i < us->n; i++) {
		OPENSSL_cleanse(us->u[i].md5, sizeof(us->u[i].md5));
		OPENSSL_cleanse(us->u[i].sha256, sizeof(us->u[i].sha256));
	}
	su_home_unref(us->home);
}

/* hex_field - a HA1 field of @len hex digits (or empty) into @out, lowercase; 0 or -1 */
static int hex_field(const char *f, size_t len, char out[PX_DIGEST_HEX])
{
	size_t n = strlen(f);

	out[0] = '\0';
	if (n == 0)
		return 0;
	if (n != len || strspn(f, "0123456789abcdefABCDEF") != n)
		return -1;
	for (size_t i = 0; i <= n; i++)
		out[i] = (char)(f[i] >= 'A' && f[i] <= 'F' ? f[i] + 32 : f[i]);
	return 0;
}

/* same_user - whether two names of one realm would be the same address */
static int same_user(const struct px_user *a, const char *name, const char *realm)
{
	return !strcasecmp(a->name, name) && !strcasecmp(a->realm, realm);
}

/* parse_line - one line into a new user; 0, or EINVAL/ENOMEM with why[] */
static int parse_line(struct px_users *us, char *line, char *why, size_t whysize)
{
	char *f[6], *save = line;
	size_t nf = 0;
	struct px_user *u;
	const char *nwhy = "";

	while (nf < 6 && (f[nf] = strsep(&save, ":")))
		nf++;
	if (nf < 3 || nf > 5) {
		snprintf(why, whysize, "want user:realm:HA1-MD5:HA1-SHA-256[:NUMBERS] or htdigest's "
			 "user:realm:HA1-MD5");
		return EINVAL;
	}
	if (!*f[0] || strpbrk(f[0], "@ \t") || !*f[1] || strpbrk(f[1], " \t")) {
		snprintf(why, whysize, "empty user or realm, or white space or '@' in them");
		return EINVAL;
	}
	for (size_t i = 0; i < us->n; i++)
		if (same_user(&us->u[i], f[0], f[1])) {
			snprintf(why, whysize, "user %s of realm %s again (names differing only in case "
				 "are one address)", f[0], f[1]);
			return EINVAL;
		}
	if (us->n == us->cap) {
		size_t cap = us->cap ? 2 * us->cap : 16;
		struct px_user *p = su_realloc(us->home, us->u, cap * sizeof(*p));

		if (!p)
			return ENOMEM;
		us->u = p;
		us->cap = cap;
	}
	u = &us->u[us->n];
	memset(u, 0, sizeof(*u));
	if (hex_field(f[2], 32, u->md5) || (nf > 3 && hex_field(f[3], 64, u->sha256))) {
		snprintf(why, whysize, "HA1-MD5 is 32 hex digits, HA1-SHA-256 64 (or empty)");
		return EINVAL;
	}
	if (nf == 5 && *f[4] && px_numbers_check(f[4], &nwhy)) {
		snprintf(why, whysize, "numbers: %s", nwhy);
		return EINVAL;
	}
	if (!u->md5[0] && !u->sha256[0] && (nf < 5 || !*f[4])) {
		snprintf(why, whysize, "neither an HA1 nor numbers: the line says nothing");
		return EINVAL;
	}
	u->name = su_strdup(us->home, f[0]);
	u->realm = su_strdup(us->home, f[1]);
	u->numbers = nf == 5 && *f[4] ? su_strdup(us->home, f[4]) : NULL;
	if (!u->name || !u->realm || (nf == 5 && *f[4] && !u->numbers))
		return ENOMEM;
	us->n++;
	return 0;
}

/* px_users_load - the whole file, or nothing */
int px_users_load(struct px_users **out, const char *file, char *why, size_t whysize)
{
	char line[MAX_LINE + 2], *s, *e;
	struct px_users *us;
	struct stat st;
	unsigned lineno = 0;
	FILE *fp;
	int err = 0;

	*out = NULL;
	if (!(fp = fopen(file, "r"))) {
		err = errno;
		snprintf(why, whysize, "--users %s: %s", file, strerror(err));
		return err;
	}
	if (!(us = su_home_new(sizeof(*us)))) {
		fclose(fp);
		return ENOMEM;
	}
	while (!err && fgets(line, sizeof(line), fp)) {
		lineno++;
		if (strlen(line) > MAX_LINE) {
			snprintf(why, whysize, "--users %s:%u: line longer than %d bytes", file, lineno,
				 MAX_LINE);
			err = EINVAL;
			break;
		}
		for (s = line; *s == ' ' || *s == '\t'; s++)
			;
		e = s + strlen(s);
		while (e > s && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			*--e = '\0';
		if (!*s || *s == '#')
			continue;
		if ((err = parse_line(us, s, why, whysize)) == EINVAL) {
			char msg[300];

			snprintf(msg, sizeof(msg), "%s", why);
			snprintf(why, whysize, "--users %s:%u: %s", file, lineno, msg);
		}
	}
	OPENSSL_cleanse(line, sizeof(line));
	if (!err && ferror(fp)) {
		err = EIO;
		snprintf(why, whysize, "--users %s: read error", file);
	}
	if (!err && fstat(fileno(fp), &st) == 0 && (st.st_mode & S_IROTH))
		px_log(SIPDANCE_LOG_WARN, "auth", "--users %s is readable by every local user: its HA1 "
		       "values are password equivalents (chmod o-r)", file);
	fclose(fp);
	if (err) {
		px_users_free(us);
		return err;
	}
	*out = us;
	return 0;
}

/* px_users_count - number of users */
size_t px_users_count(const struct px_users *us)
{
	return us ? us->n : 0;
}

/* px_users_find - exact name and realm */
const struct px_user *px_users_find(const struct px_users *us, const char *name, const char *realm)
{
	for (size_t i = 0; us && name && i < us->n; i++)
		if (!strcmp(us->u[i].name, name) && !strcasecmp(us->u[i].realm, realm))
			return &us->u[i];
	return NULL;
}

/* px_users_aor - name@realm, lowercase */
void px_users_aor(const struct px_user *u, char *buf, size_t size)
{
	snprintf(buf, size, "%s@%s", u->name, u->realm);
	for (char *p = buf; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
}

/* px_users_find_aor - by canonical address */
const struct px_user *px_users_find_aor(const struct px_users *us, const char *aor)
{
	char mine[600];

	for (size_t i = 0; us && i < us->n; i++) {
		px_users_aor(&us->u[i], mine, sizeof(mine));
		if (!strcmp(mine, aor))
			return &us->u[i];
	}
	return NULL;
}

/* px_users_find_clientid - by the DANCE owner name of the address */
const struct px_user *px_users_find_clientid(const struct px_users *us, const char *realm,
					     const char *name)
{
	char aor[600], owner[SIPDANCE_CLIENTID_MAX + 1];

	for (size_t i = 0; us && i < us->n; i++) {
		if (strcasecmp(us->u[i].realm, realm))
			continue;
		px_users_aor(&us->u[i], aor, sizeof(aor));
		if (!sipdance_clientid_user_name(aor, owner, sizeof(owner), NULL) &&
		    !strcasecmp(owner, name))
			return &us->u[i];
	}
	return NULL;
}

/* px_users_name - the file's spelling */
const char *px_users_name(const struct px_user *u)
{
	return u->name;
}

/* px_users_ha1 - HA1 for an algorithm, or NULL */
const char *px_users_ha1(const struct px_user *u, const char *algorithm)
{
	const char *h = !strcasecmp(algorithm, "MD5") ? u->md5 : !strcasecmp(algorithm, "SHA-256") ?
		u->sha256 : "";

	return h[0] ? h : NULL;
}

/* in_list - whether @tn matches an entry of @list (entries separated by commas
 * and spaces); *starred set when "*" is one of them */
static int in_list(const char *list, const char *tn, int *starred)
{
	for (const char *p = list; p && *p;) {
		size_t n;

		p += strspn(p, ", ");
		n = strcspn(p, ", ");
		if (n == 1 && *p == '*')
			*starred = 1;
		else if (n && px_number_match(p, n, tn))
			return 1;
		p += n;
	}
	return 0;
}

/* px_users_entitled - a number of @u's, or "*" and inside --stir-orig-range */
int px_users_entitled(const struct px_user *u, const char *tn, const char *orig_range)
{
	int starred = 0, ignored = 0;

	if (!u || !u->numbers || !tn || !*tn)
		return 0;
	if (in_list(u->numbers, tn, &starred))
		return 1;
	return starred && orig_range && in_list(orig_range, tn, &ignored);
}

/* px_users_owner - another user holding @tn explicitly */
const struct px_user *px_users_owner(const struct px_users *us, const char *realm, const char *tn,
				     const struct px_user *not)
{
	int starred;

	for (size_t i = 0; us && i < us->n; i++)
		if (&us->u[i] != not && !strcasecmp(us->u[i].realm, realm) &&
		    in_list(us->u[i].numbers, tn, &starred))
			return &us->u[i];
	return NULL;
}
