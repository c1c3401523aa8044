/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sip-auth-test.c - the parts of sipdance-proxy's user authentication that
 * need no network: Digest computation against RFC 7616 §3.9.1 (MD5 and
 * SHA-256) and RFC 2069-form values computed by Python's hashlib; the users
 * file (each malformed line refused with its line number, never echoing a
 * credential); number entries and entitlement; the canonical address form
 * (percent-decoding, case). Prints "ok - ..." per check and "N passed, M failed".
 */
#include "../sip/auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct px_proxy { int unused; }; /* su_root magic type of the sip/ files */

static int passed, failed;

/* check - one result line */
static void check(int ok, const char *what)
{
	printf("%s - %s\n", ok ? "ok" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

/* digest_vectors - RFC 7616 §3.9.1 and RFC 2069-form values */
static void digest_vectors(void)
{
	static const struct {
		const char *alg, *ha1, *nonce, *nc, *cnonce, *qop, *method, *uri, *want, *what;
	} v[] = {
		{ "MD5", "3d78807defe7de2157e2b0b6573a855f", "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
		  "00000001", "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html",
		  "8ca523f5e9506fed4657c9700eebdbec", "RFC 7616 3.9.1 MD5 response" },
		{ "SHA-256", "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232",
		  "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
		  "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", "GET", "/dir/index.html",
		  "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1",
		  "RFC 7616 3.9.1 SHA-256 response" },
		{ "MD5", "c1315c20fa629201948ae020615aea75", "abc123", NULL, NULL, NULL, "REGISTER",
		  "sip:a.example", "54e7eef63c91283c598d8f15565a7309", "RFC 2069 form (no qop), MD5 (hashlib)" },
		{ "SHA-256", "2603cb3da10da0951f664a720417d0f0ef30d4948f684ba03af6f41eafcc06d3", "abc123", NULL,
		  NULL, NULL, "REGISTER", "sip:a.example",
		  "e80da7516a00c6a88683ecec424d391453c677ec1d795291de1d4cea9d720361",
		  "RFC 2069 form (no qop), SHA-256 (hashlib)" },
	};
	char out[PX_DIGEST_HEX];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(!px_digest_response(out, v[i].alg, v[i].ha1, v[i].nonce, v[i].nc, v[i].cnonce,
					  v[i].qop, v[i].method, v[i].uri) && !strcmp(out, v[i].want),
		      v[i].what);
	check(!px_digest_ha1(out, "MD5", "Mufasa", "http-auth@example.org", "Circle of Life") &&
	      !strcmp(out, "3d78807defe7de2157e2b0b6573a855f"), "RFC 7616 HA1, MD5");
	check(!px_digest_ha1(out, "SHA-256", "Mufasa", "http-auth@example.org", "Circle of Life") &&
	      !strcmp(out, "7987c64c30e25f1b74be53f966b49b90f2808aa92faf9a00262392d7b4794232"),
	      "RFC 7616 HA1, SHA-256");
	check(px_digest_response(out, "SHA-512-256", "00", "n", "00000001", "c", "auth", "GET", "/") != 0,
	      "an algorithm not offered (SHA-512-256) is refused");
	check(px_digest_response(out, "MD5", "00", "n", NULL, NULL, "auth", "GET", "/") != 0,
	      "qop=auth without nc and cnonce is refused");
}

/* load - write @text to a users file and load it: 0 or the error, why[] */
static int load(const char *text, struct px_users **u, char *why, size_t size)
{
	char path[] = "/tmp/sip-auth-test.XXXXXX";
	int fd = mkstemp(path), err;

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		return -1;
	close(fd);
	err = px_users_load(u, path, why, size);
	unlink(path);
	return err;
}

#define MD5A "c1315c20fa629201948ae020615aea75"
#define SHAA "2603cb3da10da0951f664a720417d0f0ef30d4948f684ba03af6f41eafcc06d3"

/* users_file - good files load, each bad line is refused with its number */
static void users_file(void)
{
	static const struct {
		const char *text, *why_re, *what;
	} bad[] = {
		{ "alice:a.example\n", ":1: want", "two fields" },
		{ "# c\n\nalice:a.example:" MD5A ":" SHAA ":1:x\n", ":3: want", "six fields" },
		{ "alice:a.example:" MD5A "0:\n", ":1: HA1", "MD5 HA1 of 33 digits" },
		{ "alice:a.example:" MD5A ":" SHAA "z\n", ":1: HA1", "SHA-256 HA1 of 65 digits" },
		{ "alice:a.example:zz15c20fa629201948ae020615aea75\n", ":1: HA1", "non-hex HA1" },
		{ "alice:a.example:" MD5A ":" SHAA ":12x\n", ":1: numbers", "a number with a letter" },
		{ "alice:a.example:" MD5A ":" SHAA ":1234567890123456\n", ":1: numbers", "a 16-digit number" },
		{ "alice:a.example:" MD5A ":" SHAA ":1,\n", ":1: numbers", "an empty number entry" },
		{ "alice:a.example:::\n", ":1: neither", "no HA1 and no numbers" },
		{ "al ice:a.example:" MD5A "\n", ":1: empty user", "white space in the user" },
		{ "alice@x:a.example:" MD5A "\n", ":1: empty user", "'@' in the user" },
		{ ":a.example:" MD5A "\n", ":1: empty user", "empty user" },
		{ "alice:a.example:" MD5A "\nAlice:a.example:" MD5A "\n", ":2: user Alice", "a name twice (case)" },
	};
	struct px_users *u = NULL;
	const struct px_user *x;
	char why[512], line[80];
	int err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = load(bad[i].text, &u, why, sizeof(why));
		snprintf(line, sizeof(line), "users file refused: %s", bad[i].what);
		check(err == EINVAL && !u && strstr(why, bad[i].why_re) && !strstr(why, MD5A) &&
		      !strstr(why, "c1315c20"), line);
		if (!(err == EINVAL && strstr(why, bad[i].why_re)))
			printf("#   got %d: %s\n", err, why);
		px_users_free(u);
		u = NULL;
	}
	err = load("# users\n  alice:a.example:" MD5A ":" SHAA ":+12025551000,1303555*\n"
		   "bob:a.example:" MD5A "\n"
		   "carol:a.example:" MD5A "::*\n"
		   "dave:a.example:::12025559999\r\n"
		   "alice:b.example::" SHAA "\n", &u, why, sizeof(why));
	check(!err && px_users_count(u) == 5, "a good file: five users (htdigest lines, CRLF, comments, "
	      "entries without HA1)");
	x = px_users_find(u, "alice", "a.example");
	check(x && px_users_ha1(x, "MD5") && !strcmp(px_users_ha1(x, "md5"), MD5A) &&
	      !strcmp(px_users_ha1(x, "SHA-256"), SHAA), "alice's HA1 per algorithm");
	check(!px_users_find(u, "Alice", "a.example"), "the Digest user name is exact (case)");
	check(x && px_users_find_aor(u, "alice@a.example") == x, "found by canonical address");
	x = px_users_find(u, "bob", "a.example");
	check(x && !px_users_ha1(x, "SHA-256"), "htdigest line: no SHA-256 HA1 (SHA-256 refused for bob)");
	x = px_users_find(u, "alice", "b.example");
	check(x && !px_users_ha1(x, "MD5"), "an empty MD5 field: MD5 refused for that user");
	x = px_users_find(u, "alice", "a.example");
	check(px_users_entitled(x, "12025551000", NULL) && px_users_entitled(x, "13035550001", NULL) &&
	      !px_users_entitled(x, "12025551001", NULL),
	      "alice's numbers: an exact one and a prefix");
	check(!px_users_entitled(x, "120255510", NULL), "a number is not a prefix of itself");
	x = px_users_find(u, "carol", "a.example");
	check(px_users_entitled(x, "12025550000", "1202555*, 1303*") && !px_users_entitled(x, "1404", "1202555*") &&
	      !px_users_entitled(x, "12025550000", NULL), "\"*\": the numbers of --stir-orig-range, no more");
	check(px_users_owner(u, "a.example", "12025559999", NULL) == px_users_find(u, "dave", "a.example") &&
	      !px_users_owner(u, "a.example", "12025559999", px_users_find(u, "dave", "a.example")) &&
	      !px_users_owner(u, "a.example", "19995550000", NULL),
	      "the owner of a number (\"*\" owns none explicitly)");
	px_users_free(u);
	err = load("", &u, why, sizeof(why));
	check(!err && px_users_count(u) == 0, "an empty file: no users");
	px_users_free(u);
	err = px_users_load(&u, "/nonexistent/users", why, sizeof(why));
	check(err == ENOENT && strstr(why, "/nonexistent/users"), "a missing file: ENOENT naming it");
}

/* canon - px_canon_aor over a parsed URI string */
static int canon(const char *uri, char *buf, size_t size)
{
	su_home_t home[1] = { SU_HOME_INIT(home) };
	url_t *u = url_make(home, uri);
	int err = u ? px_canon_aor(u, buf, size) : -1;

	su_home_deinit(home);
	return err;
}

/* canonical_forms - one form per address, whatever its spelling */
static void canonical_forms(void)
{
	static const struct {
		const char *uri, *want;
	} v[] = {
		{ "sip:alice@a.example", "alice@a.example" },
		{ "sip:ALICE@A.Example", "alice@a.example" },
		{ "sip:%61lice@a.example", "alice@a.example" },
		{ "sips:al%69ce@a.example:5061;transport=tls", "alice@a.example" },
		{ "sip:+1-202-555-1000@a.example;user=phone", "+1-202-555-1000@a.example" },
		{ "sip:a.example", NULL },
		{ "sip:al%00ice@a.example", NULL },
		{ "tel:+12025551000", NULL },
	};
	char buf[300], what[200];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int err = canon(v[i].uri, buf, sizeof(buf));

		snprintf(what, sizeof(what), "canonical address of %s: %s", v[i].uri,
			 v[i].want ? v[i].want : "none");
		check(v[i].want ? !err && !strcmp(buf, v[i].want) : err != 0, what);
	}
}

/* number_entries - the syntax of number entries */
static void number_entries(void)
{
	static const struct {
		const char *e;
		int ok;
	} v[] = {
		{ "12025551000", 1 }, { "+12025551000", 1 }, { "1202555*", 1 }, { "*", 1 }, { "+*", 0 },
		{ "", 0 }, { "12a", 0 }, { "**", 0 }, { "1*2", 0 }, { "123456789012345", 1 },
		{ "1234567890123456", 0 },
	};
	int ok = 1;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (px_number_entry(v[i].e, strlen(v[i].e)) != v[i].ok) {
			printf("#   entry \"%s\": want %d\n", v[i].e, v[i].ok);
			ok = 0;
		}
	check(ok, "number entries: digits (1-15), + and a trailing * only");
	check(px_number_match("+1202555*", 9, "12025551000") && !px_number_match("1202555", 7, "12025551000"),
	      "an entry matches its number exactly, or under its prefix");
}

/* main - every check; exit status 1 if any failed */
int main(void)
{
	px_log_init(SIPDANCE_LOG_ERR);
	digest_vectors();
	users_file();
	canonical_forms();
	number_entries();
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
