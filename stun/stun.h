/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * stun/stun.h - STUN (RFC 8489) codec for ICE checks and consent (one plain
 * struct that decode fills and encode reads, integrity and FINGERPRINT), and
 * the media endpoint built on it. Not installed: libsdmedia.la (stun/) is
 * linked by the example UA, the tests and the benchmark.
 */
#ifndef SIPDANCE_STUN_H
#define SIPDANCE_STUN_H

#include <stdint.h>
#include <stddef.h>
#include <sys/socket.h>
#include <openssl/x509.h>

#define SIPDANCE_STUN_HDR_LEN 20
#define SIPDANCE_STUN_COOKIE 0x2112A442u
#define SIPDANCE_STUN_FP_XOR 0x5354554eu
/* Largest message we build or accept: one UDP datagram under the IPv6 MTU. */
#define SIPDANCE_STUN_MAX_LEN 1280
#define SIPDANCE_STUN_MAX_UNKNOWN 8

enum sipdance_stun_method { SIPDANCE_STUN_BINDING = 0x001 };

enum sipdance_stun_class {
	SIPDANCE_STUN_REQUEST = 0,
	SIPDANCE_STUN_INDICATION = 1,
	SIPDANCE_STUN_SUCCESS = 2,
	SIPDANCE_STUN_ERROR = 3,
};

enum sipdance_stun_attr {
	SIPDANCE_STUN_USERNAME = 0x0006,
	SIPDANCE_STUN_MESSAGE_INTEGRITY = 0x0008,
	SIPDANCE_STUN_ERROR_CODE = 0x0009,
	SIPDANCE_STUN_UNKNOWN_ATTRIBUTES = 0x000A,
	SIPDANCE_STUN_REALM = 0x0014,
	SIPDANCE_STUN_NONCE = 0x0015,
	SIPDANCE_STUN_MESSAGE_INTEGRITY_SHA256 = 0x001C,
	SIPDANCE_STUN_XOR_MAPPED_ADDRESS = 0x0020,
	SIPDANCE_STUN_PRIORITY = 0x0024,
	SIPDANCE_STUN_USE_CANDIDATE = 0x0025,
	SIPDANCE_STUN_SOFTWARE = 0x8022,
	SIPDANCE_STUN_FINGERPRINT = 0x8028,
	SIPDANCE_STUN_ICE_CONTROLLED = 0x8029,
	SIPDANCE_STUN_ICE_CONTROLLING = 0x802A,
};

/* A byte string inside the decoded datagram (decode) or the caller's memory (encode). */
struct sipdance_stun_str {
	const uint8_t *p;
	size_t len; /* 0: absent */
};

/*
 * One STUN message, decoded data. Decode points the strings into the
 * datagram, so it must outlive the struct. Encode emits, in this order, the
 * attributes that are set: SOFTWARE, PRIORITY, ICE-CONTROLLED/CONTROLLING,
 * USE-CANDIDATE, USERNAME, REALM, NONCE, XOR-MAPPED-ADDRESS, ERROR-CODE,
 * UNKNOWN-ATTRIBUTES, then MESSAGE-INTEGRITY, MESSAGE-INTEGRITY-SHA256 and
 * FINGERPRINT as the encode arguments ask (RFC 5769's order).
 */
struct sipdance_stun_msg {
	uint16_t method;             /* 12 bits */
	enum sipdance_stun_class cls;
	uint8_t txid[12];
	struct sipdance_stun_str software, username, realm, nonce;
	int has_priority;
	uint32_t priority;
	int use_candidate;
	int has_controlling, has_controlled; /* at most one on encode */
	uint64_t tiebreaker;
	int has_xor_mapped;
	struct sockaddr_storage xor_mapped; /* AF_INET or AF_INET6 */
	int error_code;              /* 300-699; 0: absent */
	struct sipdance_stun_str error_reason;
	uint16_t unknown_attrs[SIPDANCE_STUN_MAX_UNKNOWN]; /* UNKNOWN-ATTRIBUTES content */
	size_t n_unknown_attrs;
	/* Decode only: where the datagram was and what it carried. */
	const uint8_t *raw;
	size_t raw_len;
	size_t mi_off, mi256_off;    /* offset of the attribute header; 0: absent */
	size_t mi256_len;            /* 16-32 */
	int has_fingerprint;         /* present and correct (decode rejects a wrong one) */
	uint16_t unknown_required[SIPDANCE_STUN_MAX_UNKNOWN]; /* comprehension-required types we do not know */
	size_t n_unknown_required;
};

/* How encode authenticates and ends a message (flags). */
enum {
	SIPDANCE_STUN_ADD_MI = 1,        /* MESSAGE-INTEGRITY (HMAC-SHA1) */
	SIPDANCE_STUN_ADD_MI256 = 2,     /* MESSAGE-INTEGRITY-SHA256 (32 bytes) */
	SIPDANCE_STUN_ADD_FINGERPRINT = 4,
};

/** Whether a datagram's first byte is STUN's (0-3, RFC 7983). */
int sipdance_stun_is_stun(const uint8_t *buf, size_t len);

/**
 * Decode one datagram. Returns 0, EBADMSG (malformed: truncated, bad length
 * or padding, attribute past end, wrong FINGERPRINT, attribute after
 * FINGERPRINT, wrong attribute size) or EMSGSIZE (longer than
 * SIPDANCE_STUN_MAX_LEN); *why (if non-NULL) then names the fault.
 * Integrity is not checked here: see sipdance_stun_check_integrity().
 */
int sipdance_stun_decode(struct sipdance_stun_msg *m, const uint8_t *buf, size_t len,
			 const char **why);

/**
 * Check every integrity attribute the message carries against @key (ICE:
 * the password; long-term: MD5(user:realm:pass)). Returns 0 when each
 * present one matches, EACCES when none is present or one does not match.
 */
int sipdance_stun_check_integrity(const struct sipdance_stun_msg *m, const uint8_t *key,
				  size_t keylen, const char **why);

/**
 * Encode @m into buf; @key and @flags add integrity and FINGERPRINT; @pad is
 * the padding byte (0; RFC 5769 used 0x20). Returns 0, EMSGSIZE (buf too
 * small) or EINVAL (field out of range); the length in *outlen.
 */
int sipdance_stun_encode(const struct sipdance_stun_msg *m, const uint8_t *key, size_t keylen,
			 unsigned flags, uint8_t pad, uint8_t *buf, size_t size, size_t *outlen);

/** Long-term credential key MD5(user ":" realm ":" pass) of already prepared strings. */
int sipdance_stun_longterm_key(const char *user, const char *realm, const char *pass,
			       uint8_t key[16]);

/** CRC-32 (ISO-HDLC, as zlib) of @len bytes. */
uint32_t sipdance_stun_crc32(const uint8_t *buf, size_t len);

/** A fresh random transaction id. 0 or EIO. */
int sipdance_stun_txid(uint8_t txid[12]);

/*
 * The media endpoint: one UDP socket carrying STUN, DTLS and SRTP (RFC 7983
 * demultiplexing); ICE (RFC 8445) on host candidates, both roles, with
 * consent freshness (RFC 7675); DTLS-SRTP (RFC 5763/5764) whose peer
 * certificate must match the SDP fingerprints; SRTP through libsrtp2.
 * Without ICE on the peer's side, media goes to the SDP connection address.
 */
struct sipdance_stun_ep;
struct sipdance_sdp_media;
struct sipdance_verdict;

enum sipdance_stun_ep_state {
	SIPDANCE_EP_NEW,        /* not started */
	SIPDANCE_EP_CHECKING,   /* ICE connectivity checks */
	SIPDANCE_EP_DTLS,       /* path chosen, DTLS handshake */
	SIPDANCE_EP_SECURE,     /* SRTP keys in place: media flows */
	SIPDANCE_EP_FAILED,     /* see sipdance_stun_ep_why() */
};

struct sipdance_stun_ep_cfg {
	const char *addr;             /* local IP literal to bind */
	uint16_t port;                /* 0: any */
	X509 *cert;                   /* with key; both NULL: a fresh self-signed P-256 pair */
	EVP_PKEY *key;
	unsigned fp_flags;            /* SIPDANCE_SDP_ALLOW_SHA1 */
	unsigned consent_interval_ms; /* 0: 5000 (RFC 7675 §5.1) */
	unsigned consent_timeout_ms;  /* 0: 30000 */
	unsigned ice_timeout_ms;      /* 0: 10000 */
	unsigned dtls_timeout_ms;     /* 0: 10000, from the choice of the path */
	int ice_lite;                 /* answer a full-ICE offer as an ICE-lite agent (RFC 8445 §2.5):
	                               * a=ice-lite, controlled, no checks of our own; the peer's
	                               * nomination selects the pair and its checks keep consent */
	const char *srtp_profiles;    /* OpenSSL use_srtp list; NULL: every profile we key (AES-CM
	                               * 80/32, AEAD AES-128/256-GCM of RFC 7714), AES-CM-80 first */
	/* Each authenticated, decrypted RTP or RTCP packet. */
	void (*on_media)(void *arg, int rtcp, const uint8_t *pkt, size_t len);
	void *arg;
};

struct sipdance_stun_ep_stats {
	unsigned long rtp_tx, rtp_rx, rtcp_tx, rtcp_rx;
	unsigned long auth_fail, replay, dropped; /* rejected by SRTP; from an unchecked address or unknown */
	unsigned long stun_rx, stun_bad;
	int ice;                      /* ICE in use */
	int ice_lite;                 /* we are the ICE-lite side */
	int controlling;
	int dtls_client;
	char srtp_profile[40];
};

/** Bind a socket and make the certificate, ICE credentials and tls-id. */
int sipdance_stun_ep_alloc(struct sipdance_stun_ep **out, const struct sipdance_stun_ep_cfg *cfg);
/** Close and free; NULL accepted. */
void sipdance_stun_ep_free(struct sipdance_stun_ep *ep);

/**
 * Our SDP values: for an offer (@remote_offer NULL) setup actpass and ICE;
 * for an answer, setup per RFC 5763, ICE only if the offer had it (ICE-lite
 * with cfg.ice_lite, unless the offer is lite too), and the offer's a=mid and
 * BUNDLE group echoed (one audio m-line).
 */
int sipdance_stun_ep_describe(struct sipdance_stun_ep *ep,
			      const struct sipdance_sdp_media *remote_offer,
			      struct sipdance_sdp_media *local);

/**
 * Start with both descriptions: roles from a=setup, ICE when both sides
 * carry credentials (the offerer controls), else straight to the remote
 * connection address. EINVAL with *why on an impossible combination.
 */
int sipdance_stun_ep_start(struct sipdance_stun_ep *ep, const struct sipdance_sdp_media *local,
			   const struct sipdance_sdp_media *remote, int offerer, const char **why);

/** Wait up to @timeout_ms for packets, handle them and the timers. 0, or an errno on failure. */
int sipdance_stun_ep_poll(struct sipdance_stun_ep *ep, int timeout_ms);

/**
 * Protect and send one RTP (or RTCP, @rtcp set) packet. EAGAIN before
 * SECURE, ETIMEDOUT once consent expired, EMSGSIZE, EIO.
 */
int sipdance_stun_ep_send(struct sipdance_stun_ep *ep, int rtcp, const uint8_t *pkt, size_t len);

enum sipdance_stun_ep_state sipdance_stun_ep_state(const struct sipdance_stun_ep *ep);
/** Why the endpoint failed, "" otherwise. */
const char *sipdance_stun_ep_why(const struct sipdance_stun_ep *ep);
/** The fingerprint verdict on the peer's DTLS certificate (result MATCH only once checked). */
const struct sipdance_verdict *sipdance_stun_ep_verdict(const struct sipdance_stun_ep *ep);
void sipdance_stun_ep_stats(const struct sipdance_stun_ep *ep, struct sipdance_stun_ep_stats *st);
/** The socket, for an outside event loop. */
int sipdance_stun_ep_fd(const struct sipdance_stun_ep *ep);
/** The local port. */
uint16_t sipdance_stun_ep_port(const struct sipdance_stun_ep *ep);

#endif
