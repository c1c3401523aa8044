/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * anchor.c - the trust anchor: DS/DNSKEY lines read through getdns' zone-file
 * reader, held both as getdns wants them (the resolver) and decoded for the
 * validator (chains); refcounted, reloaded in place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <getdns/getdns.h>
#include <getdns/getdns_extra.h>

#include <sipdance/anchor.h>
#include "chain_int.h"
#include "internal.h"

/* sd_getdns_anchors - DS or DNSKEY records of a zone-file fragment */
int sd_getdns_anchors(const char *file, struct getdns_list **out, const char **why)
{
	getdns_list *list = NULL;
	getdns_dict *rr;
	uint32_t type;
	struct stat st;
	size_t n = 0;
	FILE *fp;
	int err = 0;

	if (!file || !*file || !out)
		return sd_fail(why, "no trust anchor file configured", EINVAL);
	if (!(fp = fopen(file, "r")))
		return sd_fail(why, errno == ENOENT ? "trust anchor file not found"
			    : "trust anchor file unreadable", EINVAL);
	/* getdns_fp2rr_list() never returns on a descriptor that fails to read */
	if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode))
		err = sd_fail(why, "trust anchor file is not a regular file", EINVAL);
	else if (getdns_fp2rr_list(fp, &list, NULL, 3600) != GETDNS_RETURN_GOOD)
		err = sd_fail(why, "trust anchor file is not in zone-file syntax", EINVAL);
	fclose(fp);
	if (!err && getdns_list_get_length(list, &n) != GETDNS_RETURN_GOOD)
		err = sd_fail(why, "trust anchor file is not in zone-file syntax", EINVAL);
	if (!err && n == 0)
		err = sd_fail(why, "trust anchor file holds no DS or DNSKEY record", EINVAL);
	for (size_t i = 0; !err && i < n; i++) {
		if (getdns_list_get_dict(list, i, &rr) != GETDNS_RETURN_GOOD ||
		    getdns_dict_get_int(rr, "type", &type) != GETDNS_RETURN_GOOD ||
		    (type != GETDNS_RRTYPE_DS && type != GETDNS_RRTYPE_DNSKEY))
			err = sd_fail(why, "trust anchor file holds a record that is not DS or DNSKEY",
				   EINVAL);
	}
	if (err) {
		getdns_list_destroy(list);
		return err;
	}
	*out = list;
	return 0;
}

/* set_free - one loaded set of records */
static void set_free(struct sd_anchor_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		free(set->rr[i].wire);
	getdns_list_destroy(set->list);
	free(set);
}

/* set_load - @file's records: the getdns list and each record decoded */
static int set_load(const char *file, struct sd_anchor_set **out, const char **why)
{
	struct sd_anchor_set *set;
	getdns_list *list = NULL;
	getdns_dict *d;
	size_t n = 0;
	int err;

	if ((err = sd_getdns_anchors(file, &list, why)))
		return err;
	getdns_list_get_length(list, &n);
	if (!(set = calloc(1, sizeof(*set) + n * sizeof(set->rr[0])))) {
		getdns_list_destroy(list);
		return sd_fail(why, "out of memory", ENOMEM);
	}
	set->list = list;
	for (; set->n < n; set->n++) {
		uint8_t *wire = NULL;
		size_t wlen = 0, at, k;
		struct sd_rr *rr;

		if (getdns_list_get_dict(list, set->n, &d) || getdns_rr_dict2wire(d, &wire, &wlen)) {
			err = sd_fail(why, "trust anchor record cannot be encoded", EINVAL);
			break;
		}
		if (sd_chain_split(wire, wlen, &rr, &k, &at, why) || k != 1) {
			free(wire);
			err = sd_fail(why, "trust anchor record is malformed", EINVAL);
			break;
		}
		set->rr[set->n].wire = wire;
		set->rr[set->n].rr = rr[0];
		free(rr);
		if (set->n && !sd_name_eq(set->rr[set->n].rr.owner, set->rr[0].rr.owner)) {
			set->n++;
			err = sd_fail(why, "trust anchor records of more than one zone", EINVAL);
			break;
		}
	}
	if (err) {
		set_free(set);
		return err;
	}
	*out = set;
	return 0;
}

/* sipdance_anchor_load - a new anchor from @file, one reference */
int sipdance_anchor_load(struct sipdance_anchor **out, const char *file, const char **why)
{
	struct sipdance_anchor *ta;
	int err;

	if (!out)
		return sd_fail(why, "no output", EINVAL);
	if (!(ta = calloc(1, sizeof(*ta))) || !(ta->file = strdup(file ? file : ""))) {
		free(ta);
		return sd_fail(why, "out of memory", ENOMEM);
	}
	ta->refs = 1;
	if ((err = set_load(file, &ta->set, why))) {
		sipdance_anchor_free(ta);
		return err;
	}
	*out = ta;
	return 0;
}

/* sipdance_anchor_ref - one more holder */
struct sipdance_anchor *sipdance_anchor_ref(struct sipdance_anchor *ta)
{
	if (ta)
		__atomic_add_fetch(&ta->refs, 1, __ATOMIC_RELAXED);
	return ta;
}

/* sipdance_anchor_free - one holder less */
void sipdance_anchor_free(struct sipdance_anchor *ta)
{
	if (!ta || __atomic_sub_fetch(&ta->refs, 1, __ATOMIC_ACQ_REL))
		return;
	set_free(ta->set);
	free(ta->file);
	free(ta);
}

/* sipdance_anchor_reload - the file again; the old records stay on failure */
int sipdance_anchor_reload(struct sipdance_anchor *ta, const char **why)
{
	struct sd_anchor_set *set;
	int err;

	if (!ta)
		return sd_fail(why, "no anchor", EINVAL);
	if ((err = set_load(ta->file, &set, why)))
		return err;
	set_free(ta->set);
	ta->set = set;
	ta->gen++;
	return 0;
}

/* sipdance_anchor_count - records in use */
size_t sipdance_anchor_count(const struct sipdance_anchor *ta)
{
	return ta ? ta->set->n : 0;
}

/* sd_anchor_take - the anchor a module holds: @ta shared (a reference), or
 * @file loaded for it alone; EINVAL with *why when neither or both are given */
int sd_anchor_take(struct sipdance_anchor **out, struct sipdance_anchor *ta, const char *file,
		   const char **why)
{
	if (ta && file)
		return sd_fail(why, "both a trust anchor object and a trust anchor file", EINVAL);
	if (ta) {
		*out = sipdance_anchor_ref(ta);
		return 0;
	}
	if (!file || !*file)
		return sd_fail(why, "no trust anchor file configured", EINVAL);
	return sipdance_anchor_load(out, file, why);
}

/* sd_anchor_list - the records as getdns takes them */
struct getdns_list *sd_anchor_list(const struct sipdance_anchor *ta)
{
	return ta->set->list;
}

/* sd_anchor_gen - changes with every reload */
unsigned sd_anchor_gen(const struct sipdance_anchor *ta)
{
	return ta->gen;
}
