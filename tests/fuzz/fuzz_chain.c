/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_chain.c - libFuzzer target: the RFC 9102 chain parser and validator,
 * on bare chains and on extension_data, against a fixed root DNSKEY anchor.
 * The signed-* seeds are chains under that root key (. -> example. ->
 * a.example.: TLSA, CNAME, NXDOMAIN and NODATA proofs) with RRSIGs valid at
 * the fixed validation time, so mutations reach every validation step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sipdance/chain.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Inside the seeds' RRSIG windows. */
#define AT 1700000000

static struct sipdance_anchor *ta;

/* LLVMFuzzerInitialize - the root DNSKEY anchor of the signed seeds */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[] = "/tmp/fuzz-chain-anchor-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;

	if (!f)
		abort();
	fputs(". 3600 IN DNSKEY 257 3 13 S5CKSS8SpIRJzJ1rauKz/6LovDqMOzWZxD8ry4Idex1UBm1RzXx+"
	      "iL+1rB6L0QsI3nu+QXEPlgs/c04+rZOqog==\n", f);
	fclose(f);
	if (sipdance_anchor_load(&ta, path, NULL))
		abort();
	unlink(path);
	return 0;
}

/* LLVMFuzzerTestOneInput - parse and validate as bare chain and as extension_data */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sipdance_chain_result r;
	const uint8_t *chain;
	size_t n, len;
	uint16_t life;

	static const char *const owners[] = { "_5061._tcp.sip.a.example", "_5061._tcp.alias.a.example" };

	sipdance_chain_parse(data, size, &n, NULL);
	for (size_t i = 0; i < 2; i++) {
		if (sipdance_chain_validate(ta, data, size, owners[i], AT, &r) == 0) {
			if (r.secure && r.denial == !!r.tlsa)
				abort();
			sipdance_chain_result_clear(&r);
		}
	}
	if (sipdance_chain_ext_decode(data, size, &life, &chain, &len, NULL) == 0 &&
	    sipdance_chain_validate(ta, chain, len, owners[0], AT, &r) == 0)
		sipdance_chain_result_clear(&r);
	return 0;
}
