// SPDX-License-Identifier: BSD-2-Clause
// tests/kamailio-kemi.js - KEMI routing for tests/kamailio-kemi.sh: OPTIONS with
// X-Sipdance-Test: dest=D | peer=D | user | user=ADDR calls KSR.sipdance.* and answers 200 with the
// return code and $sipdance(verdict) / $sipdance(reason) in X-Sipdance-* headers; adest=D | apeer=D |
// auser | auser=ADDR call the *_async exports, which continue in ksr_sipdance_done().
function ksr_request_route() {
	var t = KSR.hdr.get("X-Sipdance-Test");
	var rc = 0;
	if (t === null || t === undefined) {
		KSR.sl.sl_send_reply(200, "OK");
		return;
	}
	if (t.indexOf("dest=") === 0) {
		rc = KSR.sipdance.check_dest(t.substring(5));
	} else if (t.indexOf("peer=") === 0) {
		rc = KSR.sipdance.verify_peer(t.substring(5));
	} else if (t === "user") {
		rc = KSR.sipdance.verify_user();
	} else if (t.indexOf("user=") === 0) {
		rc = KSR.sipdance.verify_user_uri(t.substring(5));
	} else if (t.indexOf("adest=") === 0) {
		rc = KSR.sipdance.check_dest_async(t.substring(6), "ksr_sipdance_done");
	} else if (t.indexOf("apeer=") === 0) {
		rc = KSR.sipdance.verify_peer_async(t.substring(6), "ksr_sipdance_done");
	} else if (t === "auser") {
		rc = KSR.sipdance.verify_user_async("ksr_sipdance_done");
	} else if (t.indexOf("auser=") === 0) {
		rc = KSR.sipdance.verify_user_uri_async(t.substring(6), "ksr_sipdance_done");
	}
	if (rc === 0) // suspended: ksr_sipdance_done() answers
		return;
	KSR.hdr.append_to_reply("X-Sipdance-RC: " + rc + "\r\n");
	KSR.hdr.append_to_reply("X-Sipdance-Verdict: " + KSR.pv.get("$sipdance(verdict)") + "\r\n");
	KSR.hdr.append_to_reply("X-Sipdance-Reason: " + KSR.pv.get("$sipdance(reason)") + "\r\n");
	KSR.sl.sl_send_reply(200, "Test");
}

// ksr_sipdance_done - a transaction continued with the verdict of a KSR.sipdance.*_async call
function ksr_sipdance_done() {
	KSR.hdr.append_to_reply("X-Sipdance-RC: " + KSR.pv.get("$sipdance(rc)") + "\r\n");
	KSR.hdr.append_to_reply("X-Sipdance-Verdict: " + KSR.pv.get("$sipdance(verdict)") + "\r\n");
	KSR.hdr.append_to_reply("X-Sipdance-Reason: " + KSR.pv.get("$sipdance(reason)") + "\r\n");
	KSR.tm.t_reply(200, "Test");
}
