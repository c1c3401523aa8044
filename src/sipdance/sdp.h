/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * sipdance/sdp.h - the SDP lines that bind DTLS-SRTP media to signalling:
 * a=fingerprint (RFC 8122), a=setup (RFC 5763/8842), a=tls-id (RFC 8842),
 * a=ice-ufrag/ice-pwd/candidate (RFC 8839); a peer DTLS certificate against
 * the fingerprints; the audio section of an offer or answer, both ways.
 */
#ifndef SIPDANCE_SDP_H
#define SIPDANCE_SDP_H

#include <stdint.h>
#include <stddef.h>
#include <openssl/x509.h>
#include <sipdance/common.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SIPDANCE_SDP_MAX_FP 8          /* fingerprints kept per section */
#define SIPDANCE_SDP_MAX_CAND 16       /* candidates kept per section */
#define SIPDANCE_SDP_MAX_DIGEST 64     /* SHA-512 */

/* One a=fingerprint line, decoded. */
struct sipdance_sdp_fingerprint {
	char hash[32];                     /* lowercase hash-func token, "sha-256" */
	uint8_t md[SIPDANCE_SDP_MAX_DIGEST];
	size_t len;
};

enum sipdance_sdp_setup {
	SIPDANCE_SETUP_NONE,               /* no a=setup line */
	SIPDANCE_SETUP_ACTPASS,
	SIPDANCE_SETUP_ACTIVE,             /* DTLS client */
	SIPDANCE_SETUP_PASSIVE,            /* DTLS server */
	SIPDANCE_SETUP_HOLDCONN,
};

/* One a=candidate line (RFC 8839 §5.1), decoded; UDP only. */
struct sipdance_sdp_candidate {
	char foundation[33];
	unsigned component;                /* 1 RTP, 2 RTCP */
	uint32_t priority;
	char addr[46];                     /* IP literal */
	uint16_t port;
	char type[8];                      /* host, srflx, prflx, relay */
};

/* The media-transport part of one audio m= section (session-level values
 * apply where the section has none of its own). */
struct sipdance_sdp_media {
	char addr[46];                     /* c= address (IP literal) */
	uint16_t port;                     /* m= port; 0: rejected stream */
	char proto[32];                    /* "UDP/TLS/RTP/SAVPF" */
	int payload_type;                  /* PCMU (0) if the m= line lists it, else its first format */
	int rtcp_mux;
	char mid[33];                      /* a=mid (RFC 9143 identification-tag); "" when absent */
	int bundle;                        /* the session's a=group:BUNDLE names mid */
	enum sipdance_sdp_setup setup;
	char tls_id[256];                  /* "" when absent */
	char ice_ufrag[257], ice_pwd[257]; /* "" when absent */
	int ice_lite;
	struct sipdance_sdp_fingerprint fp[SIPDANCE_SDP_MAX_FP];
	size_t nfp;
	struct sipdance_sdp_candidate cand[SIPDANCE_SDP_MAX_CAND];
	size_t ncand;
};

/* Flags of sipdance_sdp_fingerprint_verify(). */
#define SIPDANCE_SDP_ALLOW_SHA1 1u

/**
 * Parse the value of a=fingerprint ("sha-256 AB:CD:..."; hex of either case).
 * Returns 0, EINVAL (syntax) or EMSGSIZE (more than 64 bytes), *why says why.
 */
SIPDANCE_API int sipdance_sdp_fingerprint_parse(struct sipdance_sdp_fingerprint *fp,
						const char *value, const char **why);

/** "sha-256 AB:CD:..." (uppercase hex) into buf; returns the length needed, snprintf-style. */
SIPDANCE_API size_t sipdance_sdp_fingerprint_format(const struct sipdance_sdp_fingerprint *fp,
						    char *buf, size_t size);

/**
 * Fingerprint of @cert's DER with hash-func @hash ("sha-256", "sha-384", ...:
 * any fixed-length digest OpenSSL offers under that name). EINVAL for an
 * unknown hash, an extendable-output one, md2 or md5.
 */
SIPDANCE_API int sipdance_sdp_fingerprint_create(struct sipdance_sdp_fingerprint *fp,
						 X509 *cert, const char *hash);

/**
 * Whether @cert (the peer's DTLS end-entity certificate) matches one of the
 * @n fingerprints: MATCH, NOMATCH (usable fingerprints, none equal) or
 * UNUSABLE (none with a usable hash: md2/md5, sha-1 without
 * SIPDANCE_SDP_ALLOW_SHA1, unknown, wrong length). Returns 0 or EINVAL/ENOMEM.
 */
SIPDANCE_API int sipdance_sdp_fingerprint_verify(X509 *cert,
						 const struct sipdance_sdp_fingerprint *fps,
						 size_t n, unsigned flags,
						 struct sipdance_verdict *v);

/** Parse an a=setup value; EINVAL for anything else. */
SIPDANCE_API int sipdance_sdp_setup_parse(const char *value, enum sipdance_sdp_setup *out,
					  const char **why);
/** The a=setup value ("actpass", ...); "" for NONE. */
SIPDANCE_API const char *sipdance_sdp_setup_str(enum sipdance_sdp_setup s);

/**
 * The answer's a=setup for an offer's (RFC 5763 §5, RFC 4145 §4.1: absent
 * means active): actpass -> active, active -> passive, passive -> active.
 * EINVAL for holdconn (no connection wanted).
 */
SIPDANCE_API int sipdance_sdp_setup_answer(enum sipdance_sdp_setup offer,
					   enum sipdance_sdp_setup *answer, const char **why);

/**
 * After offer/answer, whether this side is the DTLS client (1) or server (0),
 * from the local and remote a=setup. EINVAL with *why when the pair is not a
 * valid outcome (both active, both passive, an answer of actpass, holdconn).
 */
SIPDANCE_API int sipdance_sdp_dtls_client(enum sipdance_sdp_setup local,
					  enum sipdance_sdp_setup remote, int *client,
					  const char **why);

/** Check an a=tls-id value (RFC 8842: 20-255 of ALPHA DIGIT + / - _). */
SIPDANCE_API int sipdance_sdp_tls_id_check(const char *value, const char **why);
/** A fresh random tls-id (32 characters) into out[33]. 0 or EIO. */
SIPDANCE_API int sipdance_sdp_tls_id_generate(char out[33]);

/** Check ICE credentials (RFC 8839: ufrag 4-256, pwd 22-256 ice-chars). */
SIPDANCE_API int sipdance_sdp_ice_check(const char *ufrag, const char *pwd, const char **why);
/** Fresh random ICE credentials: ufrag of 8, pwd of 24 ice-chars. 0 or EIO. */
SIPDANCE_API int sipdance_sdp_ice_generate(char ufrag[9], char pwd[25]);

/**
 * Parse an a=candidate value. UDP candidates with an IP address only: TCP
 * ones and mDNS names are EPROTONOSUPPORT (legal, skipped by the SDP parser).
 */
SIPDANCE_API int sipdance_sdp_candidate_parse(struct sipdance_sdp_candidate *c,
					      const char *value, const char **why);
/** The a=candidate value; returns the length needed, snprintf-style. */
SIPDANCE_API size_t sipdance_sdp_candidate_format(const struct sipdance_sdp_candidate *c,
						  char *buf, size_t size);

/**
 * The first audio m= section of a whole SDP body, with session-level
 * c=, a=setup, a=fingerprint, a=ice-* and a=tls-id applied where the section
 * has none. Lines with an unknown or over-long value are errors, not skipped:
 * EINVAL/EMSGSIZE/EPROTONOSUPPORT with *why (the line's own reason).
 */
SIPDANCE_API int sipdance_sdp_media_parse(struct sipdance_sdp_media *m, const char *sdp,
					  const char **why);

/**
 * A whole SDP body (CRLF lines) offering or answering @m: PCMU on
 * m->payload_type, UDP/TLS/RTP/SAVPF, rtcp-mux, setup, tls-id, every
 * fingerprint, ICE credentials and candidates when set, a=mid when set (and
 * a=group:BUNDLE of it when m->bundle). @sess_id names the session in o=.
 * Returns the length needed, snprintf-style.
 */
SIPDANCE_API size_t sipdance_sdp_media_format(const struct sipdance_sdp_media *m,
					      unsigned long long sess_id, char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif
