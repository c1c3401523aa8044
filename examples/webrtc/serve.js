// SPDX-License-Identifier: BSD-2-Clause
// serve.js DIR [ADDR:]PORT - a static HTTP server for the web phone (index.html, phone.bundle.js).
// http://127.0.0.1 is a secure context for Chromium, so getUserMedia and WebRTC work without TLS.
'use strict';
const http = require('http');
const fs = require('fs');
const path = require('path');

const dir = path.resolve(process.argv[2] || '.');
const [addr, port] = (process.argv[3] || '127.0.0.1:8000').includes(':')
	? process.argv[3].split(':') : ['127.0.0.1', process.argv[3]];
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.png': 'image/png' };

http.createServer((req, res) => {
	const name = decodeURIComponent(new URL(req.url, 'http://x').pathname);
	const file = path.join(dir, name === '/' ? 'index.html' : path.normalize(name));
	if (!file.startsWith(dir + path.sep) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
		res.writeHead(404, { 'Content-Type': 'text/plain' });
		res.end('not found\n');
		return;
	}
	res.writeHead(200, { 'Content-Type': types[path.extname(file)] || 'application/octet-stream',
		'Cache-Control': 'no-store' });
	fs.createReadStream(file).pipe(res);
}).listen(Number(port), addr, () => console.log(`serving ${dir} on http://${addr}:${port}/`));
