// SPDX-License-Identifier: BSD-2-Clause
// phone.js - the sipdance web phone: JsSIP registers over a WebSocket edge (RFC 7118), calls and
// answers, and shows the call state and, from getStats(), the DTLS state, the remote certificate
// fingerprint Chromium verified (compared with the a=fingerprint that crossed the federation) and the
// bytes received. When DTLS fails the phone hangs up itself (JsSIP would keep the dialog up).
// The edge authenticates the phone with Digest (JsSIP answers its 401/407 challenges).
// Bundled for the browser by build.sh; page parameters: ?ws=URL&user=NAME&domain=DOMAIN&password=SECRET
// [&answer=auto] (a demo: the password is in the URL, and so in the browser's history).
import JsSIP from 'jssip';

const q = new URLSearchParams(location.search);
const $ = (id) => document.getElementById(id);
const phone = {
	events: [],        // [seconds since load, what] - the test driver reads these
	call: null,        // the JsSIP RTCSession
	pc: null,
	stats: {},         // the last getStats() summary
	sdpFingerprint: '',
};
window.phone = phone;
const t0 = performance.now();

// log - one event line, on the page and in phone.events
function log(what) {
	const t = ((performance.now() - t0) / 1000).toFixed(3);
	phone.events.push([Number(t), what]);
	const li = document.createElement('li');
	li.textContent = `${t} ${what}`;
	$('log').prepend(li);
}

// show - one field of the status table
function show(id, text, cls) {
	$(id).textContent = text;
	$(id).className = cls || '';
}

// sdpFingerprint - the a=fingerprint value of an SDP body ("" if none)
function sdpFingerprint(sdp) {
	const m = /^a=fingerprint:(\S+) (\S+)\r?$/m.exec(sdp || '');
	return m ? `${m[1]} ${m[2]}` : '';
}

// summarize - the parts of getStats() the page shows
async function summarize(pc) {
	const r = await pc.getStats();
	const s = { dtlsState: '', iceState: '', bytesReceived: 0, packetsReceived: 0, bytesSent: 0,
		srtpCipher: '', tlsVersion: '', dtlsRole: '', remoteFingerprint: '', pair: '' };
	const byId = new Map();
	r.forEach((v) => byId.set(v.id, v));
	r.forEach((v) => {
		// the transport in use (with BUNDLE and rtcp-mux there is one; skip any other)
		if (v.type === 'transport' && (!s.dtlsState || v.selectedCandidatePairId)) {
			s.dtlsState = v.dtlsState || '';
			s.iceState = v.iceState || '';
			s.srtpCipher = v.srtpCipher || '';
			s.tlsVersion = v.tlsVersion || '';
			s.dtlsRole = v.dtlsRole || '';
			const p = v.selectedCandidatePairId && byId.get(v.selectedCandidatePairId);
			if (p) {
				const l = byId.get(p.localCandidateId), m = byId.get(p.remoteCandidateId);
				if (l && m)
					s.pair = `${l.address}:${l.port} <-> ${m.address}:${m.port}`;
			}
		} else if (v.type === 'inbound-rtp' && v.kind === 'audio') {
			s.bytesReceived += v.bytesReceived || 0;
			s.packetsReceived += v.packetsReceived || 0;
		} else if (v.type === 'outbound-rtp' && v.kind === 'audio') {
			s.bytesSent += v.bytesSent || 0;
		}
	});
	// Chromium caches certificate stats from the first getStats() (before DTLS connected they lack
	// the peer's): the certificate the DTLS transport accepted is asked for directly instead
	if (phone.remoteCertFingerprint)
		s.remoteFingerprint = phone.remoteCertFingerprint;
	return s;
}

// peerCertificate - once DTLS is connected: sha-256 of the certificate the DTLS transport accepted
async function peerCertificate(t) {
	const certs = t.getRemoteCertificates ? t.getRemoteCertificates() : [];
	if (!certs.length)
		return;
	const d = new Uint8Array(await crypto.subtle.digest('SHA-256', certs[0]));
	phone.remoteCertFingerprint = 'sha-256 ' + Array.from(d, (b) => b.toString(16).padStart(2, '0').toUpperCase()).join(':');
	refresh();
}

// sameFingerprint - Chromium's certificate stats and the SDP spell the hash the same way, modulo case
function sameFingerprint(a, b) {
	return a !== '' && a.toLowerCase() === b.toLowerCase();
}

// refresh - poll the peer connection's stats into the page; hang up when DTLS failed
async function refresh() {
	const pc = phone.pc;
	if (!pc || pc.connectionState === 'closed')
		return; // keep the last numbers of a call that ended
	let s;
	try {
		s = await summarize(pc);
	} catch (e) {
		return;
	}
	phone.stats = s;
	show('dtls', s.dtlsState || '-', s.dtlsState === 'connected' ? 'good' : s.dtlsState === 'failed' ? 'bad' : '');
	show('cipher', s.srtpCipher ? `${s.srtpCipher}, DTLS ${s.tlsVersion === 'FEFC' ? '1.3' : s.tlsVersion === 'FEFD' ? '1.2' : s.tlsVersion} ${s.dtlsRole}` : '-');
	show('ice', s.iceState ? `${s.iceState} ${s.pair}` : '-');
	show('sdpfp', phone.sdpFingerprint || '-');
	if (s.remoteFingerprint)
		show('certfp', `${s.remoteFingerprint} (${sameFingerprint(s.remoteFingerprint, phone.sdpFingerprint) ? 'matches the SDP' : 'DIFFERS from the SDP'})`,
			sameFingerprint(s.remoteFingerprint, phone.sdpFingerprint) ? 'good' : 'bad');
	else
		show('certfp', 'not verified');
	show('bytes', `${s.bytesReceived} received (${s.packetsReceived} packets), ${s.bytesSent} sent`);
	if (s.dtlsState === 'failed' || phone.dtlsState === 'failed')
		mediaFailed(true);
	else if (pc.connectionState === 'failed')
		mediaFailed(false);
}

// mediaFailed - media cannot be (authenticated and) carried: say so and end the call (BYE with a Reason)
function mediaFailed(dtls) {
	const c = phone.call;
	if (!c || phone.mediaFailed)
		return;
	phone.mediaFailed = true;
	log(dtls ? 'DTLS failed: the peer certificate does not match the signalled fingerprint; hanging up'
		: 'media connection failed (ICE); hanging up');
	show('state', dtls ? 'DTLS failed, hung up' : 'media failed, hung up', 'bad');
	if (!c.isEnded())
		c.terminate({ status_code: 488, reason_phrase: dtls ? 'DTLS handshake failed' : 'Media connection failed' });
}

// watchPc - follow one peer connection; the remote audio plays in the <audio> element
function watchPc(pc) {
	if (phone.pc === pc)
		return;
	phone.pc = pc;
	pc.addEventListener('iceconnectionstatechange', () => log(`ice ${pc.iceConnectionState}`));
	// the DTLS transport's own state: 'failed' when the peer certificate does not match
	const watchDtls = () => {
		for (const t of new Set(pc.getSenders().map((x) => x.transport).filter(Boolean))) {
			if (t.sipdanceWatched)
				continue;
			t.sipdanceWatched = true;
			t.addEventListener('statechange', () => {
				log(`dtls ${t.state}`);
				phone.dtlsState = t.state;
				if (t.state === 'connected')
					peerCertificate(t);
				if (t.state === 'failed')
					mediaFailed(true);
			});
		}
	};
	pc.addEventListener('signalingstatechange', watchDtls);
	pc.addEventListener('connectionstatechange', () => {
		watchDtls();
		log(`pc ${pc.connectionState}`);
		refresh();
	});
	pc.addEventListener('track', (ev) => {
		$('remote').srcObject = ev.streams[0] || new MediaStream([ev.track]);
	});
}

// watchSession - one call, both directions
function watchSession(session, incoming) {
	phone.call = session;
	phone.mediaFailed = false;
	phone.dtlsState = '';
	phone.sdpFingerprint = '';
	phone.remoteCertFingerprint = '';
	if (session.connection)
		watchPc(session.connection);
	session.on('peerconnection', (e) => watchPc(e.peerconnection));
	session.on('sdp', (e) => {
		if (e.originator === 'remote')
			phone.sdpFingerprint = sdpFingerprint(e.sdp);
	});
	session.on('progress', () => { log('ringing'); show('state', incoming ? 'ringing (incoming)' : 'ringing'); });
	session.on('accepted', () => { log('accepted'); show('state', 'in call', 'good'); });
	session.on('confirmed', () => log('confirmed'));
	session.on('ended', (e) => { log(`ended by ${e.originator}: ${e.cause}`); show('state', `ended (${e.cause})`); ended(); });
	session.on('failed', (e) => {
		const r = e.message && e.message.status_code ? ` ${e.message.status_code} ${e.message.reason_phrase}` : '';
		const reason = e.message && e.message.getHeader ? e.message.getHeader('Reason') : '';
		log(`failed (${e.originator}): ${e.cause}${r}${reason ? ' Reason: ' + reason : ''}`);
		show('state', `failed: ${e.cause}${r}`, 'bad');
		ended();
	});
	$('hangup').disabled = false;
}

// ended - the call is over: one last stats refresh, buttons back
function ended() {
	refresh();
	$('hangup').disabled = true;
	$('answer').disabled = true;
	$('call').disabled = false;
}

const wsUrl = q.get('ws') || `ws://${location.hostname}:8080`;
const user = q.get('user') || 'alice';
const domain = q.get('domain') || 'c.example';
$('me').textContent = `sip:${user}@${domain} via ${wsUrl}`;
$('target').value = q.get('target') || '';
const media = { mediaConstraints: { audio: true, video: false }, pcConfig: { iceServers: [] } };

const ua = new JsSIP.UA({
	sockets: [new JsSIP.WebSocketInterface(wsUrl)],
	uri: `sip:${user}@${domain}`,
	password: q.get('password') || '',
	register: true,
	session_timers: false,
	user_agent: 'sipdance web phone (JsSIP)',
});
phone.ua = ua;
ua.on('connected', () => log('websocket connected'));
ua.on('disconnected', () => log('websocket disconnected'));
ua.on('registered', () => { log('registered'); show('reg', 'registered', 'good'); });
ua.on('registrationFailed', (e) => { log(`registration failed: ${e.cause}`); show('reg', `failed: ${e.cause}`, 'bad'); });
ua.on('newRTCSession', (e) => {
	if (e.originator !== 'remote')
		return;
	if (phone.call && !phone.call.isEnded()) {
		e.session.terminate({ status_code: 486 });
		return;
	}
	log(`incoming call from ${e.request.from.uri.toString()}`);
	watchSession(e.session, true);
	show('state', `ringing: ${e.request.from.uri.toString()}`);
	$('answer').disabled = false;
	if (q.get('answer') === 'auto')
		phone.answer();
});

// The buttons, and what the test driver calls.
phone.dial = (target) => {
	const t = target.includes('@') ? target : `${target}@${domain}`;
	log(`calling sip:${t}`);
	show('state', 'calling');
	$('call').disabled = true;
	watchSession(ua.call(`sip:${t}`, media), false);
};
phone.answer = () => {
	if (phone.call && !phone.call.isEstablished()) {
		log('answering');
		phone.call.answer(media);
		$('answer').disabled = true;
	}
};
phone.hangup = () => {
	if (phone.call && !phone.call.isEnded())
		phone.call.terminate();
};
$('call').onclick = () => phone.dial($('target').value);
$('answer').onclick = () => phone.answer();
$('hangup').onclick = () => phone.hangup();
setInterval(refresh, 500);
ua.start();
