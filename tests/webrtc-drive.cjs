// SPDX-License-Identifier: BSD-2-Clause
// webrtc-drive.cjs - drives the web phone (examples/webrtc) in headless Chromium through playwright-core
// for tests/webrtc-*.sh, and prints one `ok - ` / `FAIL - ` line per check.
//
//   node webrtc-drive.cjs SCENARIO     with NODE_PATH pointing at the built node_modules
//
// Scenarios: call (alice calls bob across the federation, media both ways, SDP byte-identical,
// fingerprints verified), tamper (a hop rewrote a=fingerprint: DTLS refused, the page hangs up),
// refused (the federation hop is not DANE-authenticated: the call fails, bob never rings), ua (alice
// calls sipdance-ua, whose log is WR_UA_LOG: ICE-lite, DTLS-SRTP, SRTP against Chromium), uacall (sipdance-ua, started with
// WR_UA_CMD once alice registered, output in WR_UA_LOG, calls alice: the UA controls ICE, is DTLS server).
// Environment: WR_CHROMIUM (binary), WR_HTTP (base URL of the page), WR_WS_C / WR_WS_B (the edges'
// WebSocket URLs), WR_PW_ALICE / WR_PW_BOB (the phones' Digest passwords), WR_TARGET (whom alice calls), WR_SCREENSHOT (PNG path, call scenario), WR_TIMEOUT_MS.
'use strict';
const crypto = require('crypto');
const { chromium } = require('playwright-core');

const env = process.env;
const scenario = process.argv[2];
const timeout = Number(env.WR_TIMEOUT_MS || 12000);
let failures = 0;

// ok / bad - one result line
function ok(what) { console.log(`ok - ${what}`); }
function bad(what, detail) {
	failures++;
	console.log(`FAIL - ${what}`);
	if (detail)
		console.log(String(detail).split('\n').map((l) => `    ${l}`).join('\n'));
}
function check(cond, what, detail) { if (cond) ok(what); else bad(what, detail); return cond; }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dtlsVersion = (v) => ({ FEFC: 'DTLS 1.3', FEFD: 'DTLS 1.2' }[v] || `DTLS ${v}`);
const sha = (s) => crypto.createHash('sha256').update(s).digest('hex').slice(0, 16);

// The SIP text of every WebSocket frame a page sent or received.
function recordFrames(page) {
	const frames = [];
	page.on('websocket', (ws) => {
		ws.on('framesent', (f) => frames.push({ dir: 'sent', text: String(f.payload) }));
		ws.on('framereceived', (f) => frames.push({ dir: 'recv', text: String(f.payload) }));
	});
	return frames;
}

// sip - the first frame of @dir whose start line matches @re and whose CSeq names @method
function sip(frames, dir, re, method) {
	for (const f of frames) {
		if (f.dir !== dir || !re.test(f.text.split('\r\n', 1)[0]))
			continue;
		if (method && !new RegExp(`^CSeq: *\\d+ ${method}\\r?$`, 'mi').test(f.text))
			continue;
		const i = f.text.indexOf('\r\n\r\n');
		return { start: f.text.split('\r\n', 1)[0], text: f.text, body: i < 0 ? '' : f.text.slice(i + 4) };
	}
	return null;
}

function fingerprintOf(body) {
	const m = /^a=fingerprint:(\S+ \S+)\r?$/m.exec(body || '');
	return m ? m[1] : '';
}

// open - a fresh browser context with one registered phone
async function open(browser, user, domain, ws) {
	const ctx = await browser.newContext();
	const page = await ctx.newPage();
	const frames = recordFrames(page);
	const logs = [];
	page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
	page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
	const pw = encodeURIComponent(env[`WR_PW_${user.toUpperCase()}`] || '');
	const url = `${env.WR_HTTP}/index.html?ws=${encodeURIComponent(ws)}&user=${user}&domain=${domain}&password=${pw}`;
	await page.goto(url);
	const p = { ctx, page, frames, logs, user };
	try {
		await page.waitForFunction(() => window.phone && phone.events.some((e) => e[1] === 'registered'),
			null, { timeout });
		ok(`${user}@${domain} registered over ${ws}`);
	} catch (e) {
		bad(`${user}@${domain} did not register over ${ws}`, (await events(p)).join('\n') + '\n' + logs.join('\n'));
		throw e;
	}
	return p;
}

// events - the page's event log as lines
async function events(p) {
	return p.page.evaluate(() => phone.events.map((e) => `${e[0]} ${e[1]}`)).catch(() => []);
}

async function has(p, re) {
	return (await events(p)).some((l) => re.test(l));
}

// waitFor - poll @fn until it returns truthy or @ms elapse
async function waitFor(fn, ms) {
	const end = Date.now() + ms;
	for (;;) {
		const v = await fn();
		if (v || Date.now() > end)
			return v;
		await sleep(200);
	}
}

const stats = (p) => p.page.evaluate(() => phone.stats);
// rawCerts - the transport and certificate entries of getStats(), for failure details
const rawCerts = (p) => p.page.evaluate(async () => {
	const out = [];
	if (phone.pc)
		(await phone.pc.getStats()).forEach((v) => { if (v.type === 'transport' || v.type === 'certificate') out.push(v); });
	return JSON.stringify(out);
}).catch((e) => String(e));

// media - wait until DTLS is connected and audio flows both ways on every page given
async function media(pages) {
	return waitFor(async () => {
		for (const p of pages) {
			const s = await stats(p);
			if (s.dtlsState !== 'connected' || !(s.bytesReceived > 1000) || !(s.bytesSent > 1000))
				return false;
		}
		return true;
	}, timeout);
}

async function dump(p) {
	return `${p.user} events:\n${(await events(p)).join('\n')}\nstats: ${JSON.stringify(await stats(p))}\n${p.logs.slice(-15).join('\n')}`;
}

// ringAndAnswer - bob's phone rings for alice's call; bob answers
async function ringAndAnswer(alice, bob, target) {
	await alice.page.evaluate((t) => phone.dial(t), target);
	const rang = await waitFor(() => has(bob, /incoming call from sip:alice@c\.example/), timeout);
	if (!check(rang, `bob's phone rings for alice's call (INVITE across the TLS hop)`, await dump(alice) + '\n' + await dump(bob)))
		return false;
	await bob.page.evaluate(() => phone.answer());
	return true;
}

// sdpChecks - the offer and the answer arrive byte for byte as sent
function sdpChecks(alice, bob) {
	const sentInv = sip(alice.frames, 'sent', /^INVITE /), recvInv = sip(bob.frames, 'recv', /^INVITE /);
	const sent200 = sip(bob.frames, 'sent', /^SIP\/2\.0 200 /, 'INVITE');
	const recv200 = sip(alice.frames, 'recv', /^SIP\/2\.0 200 /, 'INVITE');
	if (!sentInv || !recvInv || !sent200 || !recv200) {
		bad('INVITE and 200 seen on both WebSockets', JSON.stringify({ sentInv, recvInv, sent200, recv200 }).slice(0, 2000));
		return null;
	}
	return { sentInv, recvInv, sent200, recv200 };
}

// scenario call: alice (c.example) calls bob (b.example) across the DANE-authenticated TLS hop
async function call(browser) {
	const alice = await open(browser, 'alice', 'c.example', env.WR_WS_C);
	const bob = await open(browser, 'bob', 'b.example', env.WR_WS_B);
	if (!await ringAndAnswer(alice, bob, 'bob@b.example'))
		return;
	const flowing = await media([alice, bob]);
	const a = await stats(alice), b = await stats(bob);
	check(flowing && a.dtlsState === 'connected' && b.dtlsState === 'connected',
		`DTLS connected in both browsers (${dtlsVersion(a.tlsVersion)}, ${a.srtpCipher})`,
		await dump(alice) + '\n' + await dump(bob));
	check(a.bytesReceived > 1000 && b.bytesReceived > 1000,
		`audio flows both ways: alice received ${a.bytesReceived} bytes, bob ${b.bytesReceived}`,
		JSON.stringify({ a, b }));
	const m = sdpChecks(alice, bob);
	if (m) {
		check(m.sentInv.body === m.recvInv.body && fingerprintOf(m.recvInv.body) !== '',
			`the offer arrives byte-identical (${m.sentInv.body.length} B, sha256 ${sha(m.sentInv.body)}, a=fingerprint ${fingerprintOf(m.recvInv.body).slice(0, 20)}...)`,
			`sent:\n${m.sentInv.body}\nreceived:\n${m.recvInv.body}`);
		check(m.sent200.body === m.recv200.body && fingerprintOf(m.recv200.body) !== '',
			`the answer arrives byte-identical (${m.sent200.body.length} B, sha256 ${sha(m.sent200.body)})`,
			`sent:\n${m.sent200.body}\nreceived:\n${m.recv200.body}`);
		const fa = fingerprintOf(m.recv200.body).toLowerCase(), fb = fingerprintOf(m.recvInv.body).toLowerCase();
		check(a.remoteFingerprint.toLowerCase() === fa && b.remoteFingerprint.toLowerCase() === fb,
			'each browser verified the peer certificate against the a=fingerprint that crossed both edges',
			JSON.stringify({ aliceCert: a.remoteFingerprint, aliceSdp: fa, bobCert: b.remoteFingerprint, bobSdp: fb }));
	}
	if (env.WR_SCREENSHOT) {
		await alice.page.setViewportSize({ width: 900, height: 640 });
		await sleep(600);
		await alice.page.screenshot({ path: env.WR_SCREENSHOT });
	}
	await alice.page.evaluate(() => phone.hangup());
	check(await waitFor(() => has(bob, /ended by remote/), timeout), 'alice hangs up: bob sees the BYE', await dump(bob));
}

// scenario tamper: a hop rewrote one digit of a=fingerprint in the offer
async function tamper(browser) {
	const alice = await open(browser, 'alice', 'c.example', env.WR_WS_C);
	const bob = await open(browser, 'bob', 'b.example', env.WR_WS_B);
	if (!await ringAndAnswer(alice, bob, 'bob@b.example'))
		return;
	const failed = await waitFor(async () => (await has(alice, /DTLS failed/)) || (await has(bob, /DTLS failed/)), timeout);
	await sleep(1000);
	const m = sdpChecks(alice, bob);
	if (m) {
		const s = fingerprintOf(m.sentInv.body), r = fingerprintOf(m.recvInv.body);
		const diff = [...s].filter((c, i) => c !== r[i]).length;
		check(s.length === r.length && diff === 1, `the hop rewrote one digit of the offer's a=fingerprint (${s.slice(8, 18)}... -> ${r.slice(8, 18)}...)`,
			`sent ${s}\nrecv ${r}`);
	}
	const a = await stats(alice), b = await stats(bob);
	const da = await alice.page.evaluate(() => phone.dtlsState), db = await bob.page.evaluate(() => phone.dtlsState);
	check(failed && (da === 'failed' || db === 'failed') && !(a.bytesReceived > 0) && !(b.bytesReceived > 0),
		`Chromium refuses DTLS (DTLS transport: alice ${da}, bob ${db}), the page reports it`,
		await dump(alice) + '\n' + await dump(bob));
	check(!(a.bytesReceived > 0) && !(b.bytesReceived > 0), 'no media was accepted', JSON.stringify({ a, b }));
	const hung = await waitFor(async () => (await has(alice, /ended by/)) && (await has(bob, /ended by/)), timeout);
	const bye = sip(bob.frames, 'sent', /^BYE /) || sip(alice.frames, 'sent', /^BYE /);
	check(hung && bye && /^Reason: SIP ?;cause=488/mi.test(bye.text),
		`the page hangs up itself: BYE with ${bye ? (/^Reason:.*$/mi.exec(bye.text) || ['no Reason'])[0] : 'no BYE'}`,
		await dump(alice) + '\n' + await dump(bob));
}

// scenario refused: the hop between the domains is not DANE-authenticated
async function refused(browser) {
	const alice = await open(browser, 'alice', 'c.example', env.WR_WS_C);
	const bob = await open(browser, 'bob', 'b.example', env.WR_WS_B);
	await alice.page.evaluate(() => phone.dial('bob@b.example'));
	const failed = await waitFor(() => has(alice, /^[\d.]+ failed/), timeout);
	const line = (await events(alice)).find((l) => / failed/.test(l)) || '';
	check(failed && /40[0-9]|50[0-9]/.test(line), `the call is refused: ${line.replace(/^[\d.]+ /, '')}`, await dump(alice));
	check(/NOMATCH|no matching/i.test(line), 'the refusal names the DANE failure (Reason header)', line);
	await sleep(1000);
	check(!await has(bob, /incoming/), "bob's phone never rang", await dump(bob));
}

// scenario ua: alice calls sipdance-ua (ICE-lite, DTLS-SRTP, SRTP of stun/)
async function ua(browser) {
	const alice = await open(browser, 'alice', 'c.example', env.WR_WS_C);
	await alice.page.evaluate((t) => phone.dial(t), env.WR_TARGET || 'ua@a.example');
	const up = await waitFor(() => has(alice, /accepted/), timeout);
	check(up, `sipdance-ua answers alice's call (${env.WR_TARGET || 'ua@a.example'})`, await dump(alice));
	const flowing = await media([alice]);
	const a = await stats(alice);
	const recv200 = sip(alice.frames, 'recv', /^SIP\/2\.0 200 /, 'INVITE');
	const ans = recv200 ? recv200.body : '';
	check(/^a=ice-lite\r?$/m.test(ans) && /^a=group:BUNDLE /m.test(ans) && /^a=mid:/m.test(ans) && /^a=rtcp-mux\r?$/m.test(ans),
		'the answer is ICE-lite, BUNDLE of one audio m-line, rtcp-mux', ans);
	check(a.iceState === 'connected' || a.iceState === 'completed', `Chromium's full ICE against the ICE-lite UA: ${a.iceState} ${a.pair}`, JSON.stringify(a));
	check(flowing && a.dtlsState === 'connected', `DTLS-SRTP with sipdance-ua: ${a.dtlsState}, ${dtlsVersion(a.tlsVersion)}, ${a.srtpCipher}, Chromium ${a.dtlsRole}`,
		await dump(alice));
	check(a.bytesReceived > 1000 && a.bytesSent > 1000, `SRTP both ways: Chromium received ${a.bytesReceived} bytes, sent ${a.bytesSent}`, JSON.stringify(a));
	check(a.remoteFingerprint !== '' && a.remoteFingerprint.toLowerCase() === fingerprintOf(ans).toLowerCase(),
		'Chromium verified the UA certificate against the a=fingerprint of the answer',
		JSON.stringify({ cert: a.remoteFingerprint, sdp: fingerprintOf(ans) }) + '\n' + await rawCerts(alice));
	// alice hangs up once the UA has had its --expect packets (it logs "media flowing")
	if (env.WR_UA_LOG)
		await waitFor(() => require('fs').readFileSync(env.WR_UA_LOG, 'utf8').includes('media flowing'), timeout);
	await alice.page.evaluate(() => phone.hangup());
	await waitFor(() => has(alice, /ended by/), timeout);
}

// scenario uacall: sipdance-ua (full ICE, controlling; DTLS server) calls alice's browser
async function uacall(browser) {
	const { spawn } = require('child_process');
	const fs = require('fs');
	const alice = await open(browser, 'alice', 'c.example', env.WR_WS_C);
	const ua = spawn('sh', ['-c', env.WR_UA_CMD], { stdio: ['ignore', fs.openSync(env.WR_UA_LOG, 'w'), 'ignore'] });
	const uaExit = new Promise((r) => ua.on('exit', (code) => r(code)));
	const rang = await waitFor(() => has(alice, /incoming call from sip:ua@a\.example/), timeout);
	if (!check(rang, "alice's phone rings for sipdance-ua's call (a.example -> c.example over TLS)", await dump(alice)))
		return;
	await alice.page.evaluate(() => phone.answer());
	const flowing = await media([alice]);
	const a = await stats(alice);
	const inv = sip(alice.frames, 'recv', /^INVITE /);
	check(flowing && a.dtlsState === 'connected' && a.dtlsRole === 'client',
		`DTLS-SRTP with sipdance-ua as DTLS server: ${a.dtlsState}, ${dtlsVersion(a.tlsVersion)}, ${a.srtpCipher}, Chromium ${a.dtlsRole}`,
		await dump(alice));
	check(a.iceState === 'connected' || a.iceState === 'completed', `ICE with the UA controlling: ${a.iceState} ${a.pair}`, JSON.stringify(a));
	check(a.bytesReceived > 1000 && a.bytesSent > 1000, `SRTP both ways: Chromium received ${a.bytesReceived} bytes, sent ${a.bytesSent}`, JSON.stringify(a));
	check(inv && a.remoteFingerprint !== '' && a.remoteFingerprint.toLowerCase() === fingerprintOf(inv.body).toLowerCase(),
		"Chromium verified the UA certificate against the offer's a=fingerprint", JSON.stringify({ cert: a.remoteFingerprint }));
	const code = await Promise.race([uaExit, sleep(timeout).then(() => 'timeout')]);
	const bye = await waitFor(() => has(alice, /ended by remote/), timeout);
	check(code === 0 && bye, `sipdance-ua hangs up after its media time (alice sees the BYE: ${bye}) and exits ${code}`,
		fs.readFileSync(env.WR_UA_LOG, 'utf8') + await dump(alice));
	if (code === 'timeout')
		ua.kill();
}

const scenarios = { call, tamper, refused, ua, uacall };

(async () => {
	if (!scenarios[scenario]) {
		console.error(`usage: webrtc-drive.cjs ${Object.keys(scenarios).join('|')}`);
		process.exit(2);
	}
	let browser;
	try {
		browser = await chromium.launch({
			executablePath: env.WR_CHROMIUM || '/usr/bin/chromium',
			headless: true,
			args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
				'--disable-sync', '--no-first-run', '--disable-quic', '--use-fake-ui-for-media-stream',
				'--use-fake-device-for-media-stream', '--allow-loopback-in-peer-connection',
				'--autoplay-policy=no-user-gesture-required'],
		});
	} catch (e) {
		console.log(`SKIP - Chromium cannot run: ${String(e.message).split('\n')[0]}`);
		process.exit(77);
	}
	try {
		await scenarios[scenario](browser);
	} catch (e) {
		bad(`scenario ${scenario} aborted: ${String(e.message).split('\n')[0]}`);
	}
	await browser.close().catch(() => {});
	process.exit(failures ? 1 : 0);
})();
