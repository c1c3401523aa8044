/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_sdp.c - libFuzzer target: the SDP helpers of src/sdp.c. The input is a
 * whole SDP body for sipdance_sdp_media_parse (what parses must format and
 * parse back to the same transport values) and, line by line, the values of
 * a=fingerprint, a=setup, a=tls-id, a=ice-* and a=candidate (round trips).
 */
#include <stdlib.h>
#include <string.h>

#include <sipdance/sdp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* need - abort (a finding) unless @cond holds */
static void need(int cond)
{
	if (!cond)
		abort();
}

/* one_value - every single-value parser on @v; parsed values must round-trip */
static void one_value(const char *v)
{
	struct sipdance_sdp_fingerprint fp, fp2;
	struct sipdance_sdp_candidate c, c2;
	enum sipdance_sdp_setup s, ans;
	const char *why = NULL;
	char buf[1024];
	size_t n;
	int client;

	if (sipdance_sdp_fingerprint_parse(&fp, v, &why) == 0) {
		n = sipdance_sdp_fingerprint_format(&fp, buf, sizeof(buf));
		need(n < sizeof(buf));
		need(sipdance_sdp_fingerprint_parse(&fp2, buf, &why) == 0);
		need(!strcmp(fp.hash, fp2.hash) && fp.len == fp2.len && !memcmp(fp.md, fp2.md, fp.len));
	} else {
		need(why && *why);
	}
	why = NULL;
	if (sipdance_sdp_setup_parse(v, &s, &why) == 0) {
		need(!strcmp(sipdance_sdp_setup_str(s), v));
		if (sipdance_sdp_setup_answer(s, &ans, &why) == 0)
			need(sipdance_sdp_dtls_client(ans, s, &client, &why) == 0);
	}
	sipdance_sdp_tls_id_check(v, &why);
	sipdance_sdp_ice_check(v, v, &why);
	why = NULL;
	if (sipdance_sdp_candidate_parse(&c, v, &why) == 0) {
		n = sipdance_sdp_candidate_format(&c, buf, sizeof(buf));
		need(n < sizeof(buf));
		need(sipdance_sdp_candidate_parse(&c2, buf, &why) == 0);
		need(!strcmp(c.foundation, c2.foundation) && c.component == c2.component &&
		     c.priority == c2.priority && !strcmp(c.addr, c2.addr) && c.port == c2.port &&
		     !strcmp(c.type, c2.type));
	}
}

/* LLVMFuzzerTestOneInput - the body, then each line's value after "a=name:" */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sipdance_sdp_media *m, *m2;
	const char *why = NULL;
	char *text, *line, *save = NULL, *out;
	size_t n;

	if (size > 16384 || !(text = malloc(size + 1)))
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	m = malloc(sizeof(*m));
	m2 = malloc(sizeof(*m2));
	if (m && m2 && sipdance_sdp_media_parse(m, text, &why) == 0) {
		n = sipdance_sdp_media_format(m, 1, NULL, 0);
		if ((out = malloc(n + 1))) {
			need(sipdance_sdp_media_format(m, 1, out, n + 1) == n && strlen(out) == n);
			why = NULL;
			need(sipdance_sdp_media_parse(m2, out, &why) == 0);
			need(m->port == m2->port && m->payload_type == m2->payload_type &&
			     m->rtcp_mux == m2->rtcp_mux && m->setup == m2->setup &&
			     m->nfp == m2->nfp && m->ncand == m2->ncand && !strcmp(m->addr, m2->addr) &&
			     !strcmp(m->tls_id, m2->tls_id) && !strcmp(m->mid, m2->mid));
			free(out);
		}
	} else if (m && m2) {
		need(why && *why);
	}
	free(m);
	free(m2);
	for (line = strtok_r(text, "\r\n", &save); line; line = strtok_r(NULL, "\r\n", &save)) {
		char *colon = strchr(line, ':');

		one_value(colon ? colon + 1 : line);
	}
	free(text);
	return 0;
}
