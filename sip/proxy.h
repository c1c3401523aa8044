/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * proxy.h - the parts of sipdance-proxy shared between its files: the
 * configuration, the log, the OpenSSL hook on sofia-sip's TLS connections,
 * the registrar, the federation layer (location, policy, authenticated
 * connections) and the proxy core. Helpers shared here use the px_ prefix.
 */
#ifndef SIPDANCE_PROXY_H
#define SIPDANCE_PROXY_H

#include <stdarg.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <sipdance/common.h>
#include <sipdance/dns.h>
#include <sipdance/policy.h>
#include <sipdance/store.h>

#ifndef SU_ROOT_MAGIC_T
#define SU_ROOT_MAGIC_T struct px_proxy
#endif
#ifndef SU_WAKEUP_ARG_T
#define SU_WAKEUP_ARG_T void
#endif
#ifndef SU_TIMER_ARG_T
#define SU_TIMER_ARG_T void
#endif
#ifndef NTA_AGENT_MAGIC_T
#define NTA_AGENT_MAGIC_T struct px_proxy
#endif
#ifndef NTA_LEG_MAGIC_T
#define NTA_LEG_MAGIC_T struct px_proxy
#endif
#ifndef NTA_INCOMING_MAGIC_T
#define NTA_INCOMING_MAGIC_T void
#endif
#ifndef NTA_OUTGOING_MAGIC_T
#define NTA_OUTGOING_MAGIC_T void
#endif

#include <sofia-sip/su.h>
#include <sofia-sip/su_alloc.h>
#include <sofia-sip/su_wait.h>
#include <sofia-sip/nta.h>
#include <sofia-sip/tport.h>

#define PX_MAX_LISTEN 16
#define PX_MAX_LOCATION 256

/* The configuration: file keys and long options share these names. */
struct px_conf {
	const char *domain;
	const char *listen[PX_MAX_LISTEN];
	size_t nlisten;
	const char *cert, *key;
	const char *trust_anchor;
	const char *resolver;
	enum sipdance_policy_mode dane_mode;
	const char *ca_file;
	struct { const char *aor, *contact; } location[PX_MAX_LOCATION];
	size_t nlocation;
	const char *e164_route;
	enum sipdance_log_level log_level;
	const char *trace;             /* on: sofia-sip logs every message (TPTAG_LOG) */
	unsigned handshake_timeout_ms; /* an outbound TLS handshake must end by then */
	unsigned max_expires;          /* registrar cap, seconds */
	unsigned max_pending;          /* past this many requests in progress, new ones get 503 */
	unsigned idle_timeout;         /* s: a connection without bindings or transactions, unused */
	unsigned accept_timeout_ms;    /* an inbound TLS handshake (TCP: data) must come by then */
	unsigned max_connections;      /* inbound connections at once */
	unsigned max_source_connections; /* inbound connections from one address */
	unsigned max_source_handshakes;  /* new TLS connections from one address per 10 s */
	unsigned max_contacts;         /* registrar: bindings per AOR */
	unsigned max_source_bindings;  /* registrar: bindings registered from one source address */
	const char *client_auth;       /* dane_clientid on TLS listeners: off | optional | required */
	const char *client_domains;    /* comma-separated allowlist of client domains looked up */
	const char *client_name;       /* our ClientName on outbound connections (e.g. sip.a.example) */
	const char *client_chain;      /* DANCE clients' own DNSSEC chains: required | prefer | off */
	const char *client_chain_file; /* our chain for client_name, made by `sipdance chain build --name` */
	const char *chain;             /* RFC 9102: required | prefer | off */
	unsigned chain_lifetime;       /* ExtSupportLifetime we serve, hours (0: clients do not pin) */
	unsigned chain_refresh;        /* refresh our chains at least every N s (0: as the TTLs say) */
	unsigned dns_failure_ttl;      /* seconds a failed lookup is cached (0: the library's 30) */
	unsigned dns_timeout_ms;       /* a lookup with no answer fails after this (0: the library's 3000) */
	const char *chain_pins;        /* pin store file of the client side */
	const char *config_file;
	/* STIR/SHAKEN (sip/stir.c): --stir off | verify | sign | verify,sign */
	const char *stir, *stir_fail, *stir_ca_file, *stir_x5u_allow, *stir_x5u_tls_ca;
	unsigned stir_x5u_timeout_ms, stir_max_age;
	const char *stir_key, *stir_x5u, *stir_attest, *stir_orig_range;
	/* state shared by several nodes of the domain (sip/state.c) */
	const char *state, *state_password_file, *state_fail, *node_id;
	const char *node_address;      /* IP:PORT the other nodes reach our flows at (default: our first TLS listener) */
	unsigned state_timeout_ms;     /* a Redis reply later than this drops the connection (0: 1000) */
	/* who the proxy vouches for (sip/auth.c) */
	const char *users;             /* Digest users file */
	const char *trusted;           /* CIDR[,CIDR...] of PBXs and gateways of ours */
	const char *local_auth;        /* required (default) | off */
	const char *auth_secret;       /* key of nonces and dialog tokens (default: random per start) */
	const char *digest_algorithms; /* challenge order and what is accepted: SHA-256,MD5 (default) */
	const char *metrics;           /* [ADDR:]PORT of the Prometheus endpoint, or NULL */
};

/* px_conf_parse - defaults, then the config file (--config), then the command
 * line; 0 or an errno value with a message in why[]. *help set for --help. */
int px_conf_parse(struct px_conf *c, su_home_t *home, int argc, char **argv,
		  char *why, size_t whysize, int *help);
/* px_conf_usage - the --help text */
void px_conf_usage(FILE *fp);

/* px_log - one log line on stderr, if @level is enabled */
void px_log(enum sipdance_log_level level, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* px_log_init - set the level; route libsipdance's log here too */
void px_log_init(enum sipdance_log_level level);
/* px_addr_str - "ip:port" of a socket address, into buf */
const char *px_addr_str(const struct sockaddr *sa, char *buf, size_t size);

/*
 * The OpenSSL hook: every SSL_CTX that sofia-sip creates while the hook is
 * armed gets a certificate verification callback and a per-connection info
 * callback. Outbound connections are matched to an expectation (peer
 * address -> domain, verification function); inbound client chains are kept
 * per connection for the SIP layer.
 */
struct px_hook;
struct px_expect;

/* The verification of one outbound peer chain: 0 with *v filled, or an errno. */
typedef int (px_verify_fn)(void *arg, STACK_OF(X509) *chain, struct sipdance_verdict *v);
/* The handshake of an expectation ended: @ok 1 authenticated, 0 refused; @tls the
 * negotiated protocol ("TLSv1.3"), NULL when the connection closed before one was. */
typedef void (px_done_fn)(void *arg, int ok, const struct sipdance_verdict *v, const char *tls);

/* Counters the self-test reads. */
struct px_hook_stats {
	unsigned ctx_hooked;     /* SSL_CTXs of sofia-sip that got the callbacks */
	unsigned handshakes_out; /* outbound handshakes started */
	unsigned handshakes_in;  /* inbound handshakes started */
	unsigned verified_out;   /* outbound chains authenticated */
	unsigned refused_out;    /* outbound chains refused */
	unsigned chains_in;      /* inbound client chains kept */
	char last_sni_in[256];   /* SNI of the last inbound handshake completed */
};

int px_hook_alloc(struct px_hook **out);
void px_hook_free(struct px_hook *h);
/* px_hook_arm - catch SSL_CTXs created from now on (0 disarms) */
void px_hook_arm(struct px_hook *h, int on);
/* px_hook_load_cert - the certificate chain and key into each caught SSL_CTX
 * (sofia-sip loads no chain) */
int px_hook_load_cert(struct px_hook *h, const char *cert, const char *key,
		      char *why, size_t whysize);
/* px_hook_read_cert - chain (end entity first) and key of PEM files, the key
 * checked against the end entity: 0 or EINVAL with @why */
int px_hook_read_cert(const char *cert, const char *key, STACK_OF(X509) **chain, EVP_PKEY **pkey,
		      char *why, size_t whysize);
/* px_hook_use_cert - what px_hook_read_cert read, into each caught SSL_CTX (SIGHUP) */
int px_hook_use_cert(struct px_hook *h, STACK_OF(X509) *chain, EVP_PKEY *pkey,
		     char *why, size_t whysize);
const struct px_hook_stats *px_hook_stats(const struct px_hook *h);
struct sipdance_clientid_conf;
/* px_hook_clientid - dane_clientid (sipdance_clientid_attach) on every caught
 * SSL_CTX: inbound clients authenticated by their client TLSA, our own name
 * presented outbound; 0 or an errno with why[] */
int px_hook_clientid(struct px_hook *h, const struct sipdance_clientid_conf *conf,
		     char *why, size_t whysize);
/* px_hook_inbound - the inbound TLS connection that delivered a message from
 * @peer over transport @tp: its SSL with a reference (SSL_free it), or NULL
 * if none completed its handshake there (or that cannot be told apart). The
 * px_hook_client_* functions read that connection's identity. */
SSL *px_hook_inbound(struct px_hook *h, tport_t *tp, const struct sockaddr *peer);
/* px_hook_established_fd - whether the inbound TLS connection on descriptor
 * @fd has completed its handshake: 1 or 0 */
int px_hook_established_fd(struct px_hook *h, int fd);
/* px_hook_client_name - the DANE-authenticated ClientName of connection @ssl
 * (px_hook_inbound) into @buf; 1, or 0 if none. With @verdict, the outcome of
 * a ClientName that was presented (0 if none was) */
int px_hook_client_name(SSL *ssl, char *buf, size_t size, struct sipdance_verdict *verdict,
			int *presented);
/* A ClientName that came without its DNSSEC chain, looked up after the
 * handshake: start looking @name up for connection @ssl (its client proved
 * the certificates @chain); the verdict goes to px_hook_client_settle(),
 * possibly before this returns. 0 or an errno value. */
typedef int (px_pending_fn)(void *arg, SSL *ssl, const char *name, STACK_OF(X509) *chain);
/* px_hook_on_pending - @fn looks up the ClientNames of inbound connections
 * that came without a chain; none: they stay unauthenticated */
void px_hook_on_pending(struct px_hook *h, px_pending_fn *fn, void *arg);
/* px_hook_client_settle - the verdict of @ssl's pending ClientName: bound to
 * that connection, and the requests held for it resume in order */
void px_hook_client_settle(SSL *ssl, const struct sipdance_verdict *v);
/* px_hook_client_pending - 1 while @ssl's ClientName waits for its verdict; an
 * authenticated one older than 30 s or the last SIGHUP is judged again first
 * (looked up again, or lapsed under --client-chain required) */
int px_hook_client_pending(SSL *ssl);
/* px_hook_client_via - how @ssl's ClientName was judged: "client-chain" (its
 * own DNSSEC chain, no DNS query), "dns", or "" */
const char *px_hook_client_via(SSL *ssl);
struct px_wait;
typedef void (px_wake_fn)(void *arg);
/* At most this many requests of one connection wait for its ClientName's verdict. */
#define PX_MAX_HELD 16
/* px_hook_client_wait - @fn(@arg) once @ssl's pending ClientName is judged (the
 * wait is over, and freed, when it runs): 0 with *@out; ENOENT if nothing is
 * pending, EBUSY if PX_MAX_HELD requests already wait, ENOMEM */
int px_hook_client_wait(SSL *ssl, px_wake_fn *fn, void *arg, struct px_wait **out);
/* px_hook_client_unwait - @w no longer waits (NULL ok) */
void px_hook_client_unwait(struct px_wait *w);
struct sipdance_chain_source;
struct sipdance_chain_client;
/* px_hook_chain_serve - serve @src (RFC 9102) on the @i-th caught SSL_CTX
 * (one per TLS listener, in --listen order) */
int px_hook_chain_serve(struct px_hook *h, size_t i, struct sipdance_chain_source *src);
/* px_hook_chain_client - ask peers for their chain on every caught SSL_CTX */
int px_hook_chain_client(struct px_hook *h, struct sipdance_chain_client *c);
/* px_hook_expect_chain - @e's handshake asks for the peer's chain for TLSA
 * port @port; a valid one authenticates; *via is set to 1 whenever the chain
 * (or its absence, with @chain_only: nothing else can authenticate) decided */
void px_hook_expect_chain(struct px_expect *e, uint16_t port, int chain_only, int *via);
/* px_hook_expect - the next outbound TLS handshake to @addr must pass @verify */
int px_hook_expect(struct px_hook *h, struct px_expect **out, const struct sockaddr *addr,
		   const char *domain, const char *sni, px_verify_fn *verify,
		   px_done_fn *done, void *arg);
/* px_hook_unexpect - drop an expectation; its done callback no longer runs */
void px_hook_unexpect(struct px_expect *e);
/* px_hook_expecting - whether a handshake is expected towards @addr */
int px_hook_expecting(const struct px_hook *h, const struct sockaddr *addr);
/* px_hook_client_chain - the client chain of connection @ssl (borrowed; NULL
 * if none was presented) */
STACK_OF(X509) *px_hook_client_chain(SSL *ssl);
/* px_hook_client_cached - 1/0 if @domain was judged on connection @ssl in the
 * last 30 s and since the last SIGHUP, else -1 */
int px_hook_client_cached(SSL *ssl, const char *domain);
/* px_hook_client_remember - cache a judgement for @domain on connection @ssl */
void px_hook_client_remember(SSL *ssl, const char *domain, int ok);
/* px_hook_client_forget - SIGHUP: the judgements of every connection expire,
 * domains and ClientNames (they also do 30 s after they were made) */
void px_hook_client_forget(struct px_hook *h);

/* Registrar: the in-memory location service plus static entries. */
struct px_registrar;

struct px_self;

/* px_registrar_alloc - the location service of @conf's domain, within its
 * limits; @me tells contacts that are this proxy */
int px_registrar_alloc(struct px_registrar **out, su_home_t *home, const struct px_self *me,
		       const struct px_conf *conf);
void px_registrar_free(struct px_registrar *r);
/* px_registrar_add_static - an entry that never expires: 0, EINVAL, or ELOOP
 * if the contact is this proxy */
int px_registrar_add_static(struct px_registrar *r, const char *aor, const char *contact);
/* One REGISTER as it arrived. */
struct px_regreq {
	const sip_t *sip;
	tport_t *flow;                         /* its TLS connection (kept by the bindings), or NULL */
	SSL *identity;                         /* that connection, if its DANCE identity authenticated it */
	const struct sockaddr_storage *source; /* who sent it */
	int udp;                               /* it came over UDP: the reply must stay small */
	size_t req_len;                        /* its size in bytes */
};
/* A REGISTER answered: its final status. */
typedef void (px_reg_fn)(void *arg, int status);
struct px_regw;
/* px_registrar_handle - answer a REGISTER for our domain: its status, or
 * with --state 0 and later @done, once the shared state has its bindings
 * (*@w cancels it; @q's pointers must live until then) */
int px_registrar_handle(struct px_registrar *r, nta_incoming_t *irq, const struct px_regreq *q,
			px_reg_fn *done, void *arg, struct px_regw **w);
/* px_registrar_handle_cancel - @done will not run; NULL ok */
void px_registrar_handle_cancel(struct px_regw *w);
/* px_registrar_lookup - up to @max live contacts of @aor ("user@domain"), each
 * with its flow (NULL: not registered over TLS) and the connection whose DANCE
 * identity authenticated it (NULL: Digest, static); *closed counts the
 * bindings of @aor just removed because their TLS connection had closed */
size_t px_registrar_lookup(struct px_registrar *r, const char *aor, const url_t **out,
			   tport_t **flows, SSL **ids, size_t max, size_t *closed);
/* px_registrar_lapse - the DANCE identity of connection @identity is no
 * longer valid (@why): every binding it authenticated is removed, logged */
void px_registrar_lapse(struct px_registrar *r, SSL *identity, const char *why);
/* px_registrar_flow_identity - the connection whose DANCE identity
 * authenticated the bindings over flow @tp, or NULL (none, or Digest's) */
SSL *px_registrar_flow_identity(struct px_registrar *r, tport_t *tp);
/* The random token of a flow (a TLS connection bindings were registered
 * over) as it appears in our Record-Route: 32 hex digits. */
#define PX_FLOW_TOKEN 33
/* px_registrar_flow_token - @tp's token into buf if bindings were registered over it: 1, else 0 */
int px_registrar_flow_token(struct px_registrar *r, tport_t *tp, char *buf);
/* px_registrar_flow_find - the open connection of flow @token, or NULL */
tport_t *px_registrar_flow_find(struct px_registrar *r, const char *token);
struct sipdance_store;
/* px_registrar_set_store - share bindings through @store as @node (--state);
 * our flows are reached through @addr ("IP:PORT" of our TLS listener; NULL:
 * not shared, reached through this node only) */
void px_registrar_set_store(struct px_registrar *r, struct sipdance_store *store, const char *node,
			    const char *addr);
/* px_node_parse - a node's "IP:PORT" or "[IP6]:PORT" into @ss: 0 or EINVAL */
int px_node_parse(const char *s, struct sockaddr_storage *ss);
/* Most contacts taken from the other nodes for one lookup. */
#define PX_MAX_SHARED 16
/* A contact another node shared. */
struct px_contact {
	const url_t *url;
	char flow[PX_FLOW_TOKEN];     /* over a flow: its token at that node, else "" */
	struct sockaddr_storage node; /* over a flow: that node's TLS listener */
};
/* The other nodes' contacts of an AOR (valid during the call): @err 0, or -1
 * with @why when the shared state cannot be read. */
typedef void (px_shared_fn)(void *arg, int err, const struct px_contact *c, size_t n, const char *why);
/* The node holding a flow: @err 0 with @node (NULL: none), or -1 with @why. */
typedef void (px_owner_fn)(void *arg, int err, const struct sockaddr_storage *node, const char *why);
struct px_regq;
/* px_registrar_flow_owner - read which node holds flow @token (--state): 0
 * (*@q cancels it), ENOTSUP without --state, ENOMEM */
int px_registrar_flow_owner(struct px_registrar *r, const char *token, px_owner_fn *fn, void *arg,
			    struct px_regq **q);
/* px_registrar_shared - read the bindings of @aor the other nodes shared: 0
 * (*@q cancels it), ENOTSUP without --state, ENOMEM */
int px_registrar_shared(struct px_registrar *r, const char *aor, px_shared_fn *fn, void *arg,
			struct px_regq **q);
/* px_registrar_shared_cancel - @fn will not run; NULL ok */
void px_registrar_shared_cancel(struct px_regq *q);

/* Connection limits (limits.c): accept() guarded while the proxy runs. */
struct px_limits;

/* px_limits_alloc - limits of @c on every inbound connection from now on;
 * @hook tells the TLS handshakes that completed; errors into why[] */
int px_limits_alloc(struct px_limits **out, su_root_t *root, const struct px_conf *c,
		    struct px_hook *hook, char *why, size_t whysize);
void px_limits_free(struct px_limits *l);

/* Our listeners as addresses (self.c): numeric "is this us?". */
struct px_self;

/* px_self_alloc - the IP-literal and wildcard listeners of @c, and this host's addresses */
int px_self_alloc(struct px_self **out, const struct px_conf *c, su_home_t *home);
void px_self_free(struct px_self *s);
/* px_addr_same - the same IP address, ports aside; with @net an IPv6 address
 * counts by its /64 (one source host) */
int px_addr_same(const struct sockaddr *a, const struct sockaddr *b, int net);
/* px_self_addr - whether socket address @sa is one of our listeners */
int px_self_addr(const struct px_self *s, const struct sockaddr *sa);
/* px_self_url - whether @u, with an IP literal host, is one of our listeners:
 * 1, 0, or -1 if its port is not a port number */
int px_self_url(const struct px_self *s, const url_t *u);
/* px_self_other - the option (--state, --metrics) of a socket of ours that is
 * not SIP and that @u names, or NULL: never a destination */
const char *px_self_other(const struct px_self *s, const url_t *u);

/* Metrics (metrics.c): counters the proxy's parts bump, served as Prometheus text. */
struct px_metrics;
/* What is read at each scrape rather than counted. */
struct px_metrics_gauges {
	unsigned inbound;           /* inbound connections open (TCP and TLS) */
	unsigned pending;           /* requests waiting for their final response */
	unsigned long nta_server, nta_client; /* transactions nta holds, lingering ones included */
};
typedef void (px_metrics_gauges_fn)(void *arg, struct px_metrics_gauges *g);
/* px_metrics_alloc - serve GET /metrics on @spec ([ADDR:]PORT, 127.0.0.1 by
 * default) from @root: 0 or an errno value with why[] */
int px_metrics_alloc(struct px_metrics **out, su_root_t *root, const char *spec,
		     px_metrics_gauges_fn *gauges, void *arg, char *why, size_t whysize);
void px_metrics_free(struct px_metrics *x);
void px_metrics_request(void);
void px_metrics_response(int status);
/* px_metrics_decision - @rule and @verdict: strings that live as long as the process */
void px_metrics_decision(const char *rule, const char *verdict);
void px_metrics_handshake(int inbound, int ok);
void px_metrics_tls_open(int inbound);
void px_metrics_tls_closed(int inbound, int done);
/* px_metrics_dns - the resolver's observer (sipdance_dns_conf.observe) */
void px_metrics_dns(void *arg, uint16_t type, enum sipdance_dns_status status, int cached,
		    uint64_t elapsed_us);
/* px_metrics_store - the shared state's observer (sipdance_store_redis_conf.observe) */
void px_metrics_store(void *arg, const char *op, enum sipdance_store_status st, uint64_t elapsed_us);
/* px_limits_open - inbound connections open now */
unsigned px_limits_open(struct px_limits *l);

struct px_proxy;

/* px_proxy_alloc - listeners, registrar, federation; errors into why[] */
int px_proxy_alloc(struct px_proxy **out, su_root_t *root, const struct px_conf *conf,
		   char *why, size_t whysize);
void px_proxy_free(struct px_proxy *px);
/* px_proxy_reload - SIGHUP: certificates and users again, DNS/TLSA cache flushed */
void px_proxy_reload(struct px_proxy *px);
/* px_proxy_drain - SIGTERM: refuse new requests; 1 once nothing is pending */
int px_proxy_drain(struct px_proxy *px);

#endif
