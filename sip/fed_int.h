/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fed_int.h - what the three files of the federation layer share: fed.c (the
 * object, the location step, the RFC 9102 chains we serve), fed_out.c
 * (requests to other domains over DANE-authenticated connections) and
 * fed_in.c (requests claiming to come from other domains).
 */
#ifndef SIPDANCE_PROXY_FED_INT_H
#define SIPDANCE_PROXY_FED_INT_H

#include "proxy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <sipdance/chain.h>
#include <sipdance/clientid.h>
#include <sipdance/dns.h>
#include <sipdance/locate.h>
#include <sipdance/store.h>
#include <sofia-sip/sip.h>
#include <sofia-sip/sip_protos.h>
#include <sofia-sip/sip_tag.h>
#include <sofia-sip/nta_tport.h>
#include <sofia-sip/tport.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/url.h>
#include "fed.h"
#include "dance.h"
#include "stamp.h"

#define MAX_CLIENT_DOMAINS 32
/* An authenticated connection is reused without a new location for this
 * long; after that each request locates again (answers come from the DNS
 * cache until their TTL runs out) and the connection's peer chain must still
 * authenticate under the fresh TLSA records, or the connection is dropped. */
#define REUSE_WITHOUT_LOCATE_S 30

enum conn_state { HANDSHAKING, AUTHENTICATED, FAILED };

struct fconn {
	struct fconn *next;
	struct px_fed *fed;
	char uri[300];               /* what was located to open it */
	char domain[256];
	struct sockaddr_storage addr;
	enum conn_state state;
	struct sipdance_verdict verdict;
	int via_chain;               /* decided by the peer's RFC 9102 chain (or its absence
					under --chain required), not by DNS */
	STACK_OF(X509) *chain;       /* the peer's chain, re-verified against fresh DNS */
	time_t authenticated;        /* monotonic seconds, when the handshake authenticated it */
	struct sipdance_locate *loc;  /* of the request that opened it: owns target */
	const struct sipdance_target *target;
	struct px_expect *expect;
	tport_t *tp;                 /* referenced once known */
	su_timer_t *timer;           /* handshake limit, then deferred completion */
	struct px_fedreq *first;     /* the request that opened it */
	struct px_fedreq *waiting;   /* same domain, sent once authenticated */
	struct px_fedreq *blocked;   /* other domains at this address, retried after */
};

struct px_fedreq {
	struct px_fedreq *next;      /* in a connection's waiting or blocked list */
	struct px_fed *fed;
	struct sipdance_locate *loc;
	msg_t *msg;                  /* the request to send, owned until sent */
	msg_t *spare;                /* a copy, for the next candidate if the connection fails */
	size_t cand;                 /* candidate (target, address) number, see pick() */
	nta_response_f *response;
	void *magic;
	px_fed_event_fn *event;
	void *arg;
	const struct sipdance_target *target;
	struct sockaddr_storage addr;
	struct sockaddr_storage only; /* a node of our own domain: its one address, else family 0 */
	char uri[300];
	char loop[PX_LOOP_HEX + 1];  /* for our Via's branch */
	struct fconn *conn;
	int inbound;                 /* an authorization, not a send */
	SSL *ssl;                    /* inbound: the client's connection, a reference */
	STACK_OF(X509) *chain;       /* inbound: its client chain, refs held */
	struct sockaddr_storage peer;
	px_fed_auth_fn *auth;
	struct sipdance_store_op *pinop; /* --state: the shared pin of its target being read */
	const struct sipdance_target *pin_read; /* the target whose shared pin was read */
};

struct px_fed {
	su_root_t *root;
	nta_agent_t *agent;
	struct px_hook *hook;
	struct px_stamp *stamp;
	const struct px_self *me;
	const struct px_conf *conf;
	struct sipdance_anchor *anchor; /* --trust-anchor, loaded once for every module */
	struct sipdance_dns *dns;
	struct sipdance_policy *policy;
	struct sipdance_dane *dane;
	struct sipdance_loop *loop;  /* libsipdance's loop contract on root */
	struct fconn *conns;
	unsigned handshakes; /* outbound handshakes started (tests read the log line) */
	struct px_dance *dance;      /* dane_clientid names without a chain: looked up after */
	char *cid_domains[MAX_CLIENT_DOMAINS];
	size_t ncid_domains;
	enum sipdance_chain_policy chain_policy;
	struct sipdance_chain_client *chain_client; /* asks peers for their chain */
	struct sipdance_chain_source *chain_src[PX_MAX_LISTEN]; /* ours, per TLS listener */
	size_t nchain_src;
	struct sipdance_chain_source *client_src; /* ours as a DANCE client, shipped */
	su_timer_t *chain_timer;     /* the next refresh of our chains */
	unsigned chain_hup;          /* bit i: source i's refresh under way is a SIGHUP's */
	void (*reloaded)(void *arg); /* SIGHUP: told once its refreshes have ended */
	void *reloaded_arg;
	struct sipdance_store *store; /* --state: RFC 9102 pins shared there, or NULL */
};

/* fed.c: helpers of all three */
time_t fed_mono_s(void);
/* release a request's resources */
void fed_req_free(struct px_fedreq *r);
/* take @r off whatever connection list holds it */
void fed_unlink_req(struct px_fedreq *r);
/* double quotes, backslashes and line ends of @s turned into single quotes */
void fed_quote(char *s);
/* end @r with @status and a Reason text "cause: detail" */
void fed_fail(struct px_fedreq *r, int status, const char *cause, const char *detail);
/* locate @uri for @r; its outcome arrives in fed_out_located or fed_in_authorize */
int fed_start(struct px_fed *f, struct px_fedreq *r, const char *uri);
/* arm the timer for the earliest refresh any of our chains needs */
void fed_chain_schedule(struct px_fed *f);

/* fed_out.c */
void fed_out_located(struct px_fedreq *r, struct sipdance_locate *loc);
void fed_out_free(struct px_fed *f);

/* fed_in.c */
int fed_in_setup(struct px_fed *f, char *why, size_t whysize);
void fed_in_authorize(struct px_fedreq *r);
void fed_in_free(struct px_fed *f);
void fed_in_flush(struct px_fed *f);

#endif
