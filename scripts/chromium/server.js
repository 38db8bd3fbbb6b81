// server.js: the server side of the recorded session (see session.js): a
// `ws` WebSocketServer on an http or https server, plus a plain http server
// on another port that serves page.html and session.js to the browser (so
// that only the WebSocket connection is on the captured port).
//
// Used by drive.js. The server stops after its first WebSocket connection
// has closed, and resolves `done` with the truth: every message of both
// directions in order, with its length and sha256, as ws saw it (after
// reassembly and inflation).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');
const path = require('path');
const { WebSocketServer } = require('ws');
const { bigJSON } = require('./session.js');

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// startServer({host, port, pagePort, tls, deflate, serverKeylog}) starts
// both servers and resolves with {done, close} once they listen. tls is
// null or {key, cert, maxVersion, ciphers}; deflate is ws's
// perMessageDeflate option; serverKeylog, if set, is a file the server
// appends its own NSS key log lines to (a cross-check of the client's).
async function startServer(opts) {
  const truth = [];
  const note = (from, opcode, data) => {
    const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
    truth.push({ from, opcode, len: buf.length, sha256: sha256(buf) });
  };

  const pageServer = http.createServer((req, res) => {
    const file = { '/page.html': 'page.html', '/session.js': 'session.js' }[req.url.split('?')[0]];
    if (!file) {
      res.writeHead(req.url === '/favicon.ico' ? 204 : 404).end();
      return;
    }
    const type = file.endsWith('.js') ? 'text/javascript' : 'text/html';
    res.writeHead(200, { 'Content-Type': type + '; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(fs.readFileSync(path.join(__dirname, file)));
  });

  const notFound = (req, res) => res.writeHead(404).end();
  const server = opts.tls
    ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert, maxVersion: opts.tls.maxVersion,
      ciphers: opts.tls.ciphers, honorCipherOrder: true }, notFound)
    : http.createServer(notFound);
  if (opts.tls && opts.serverKeylog) {
    server.on('keylog', (line) => fs.appendFileSync(opts.serverKeylog, line));
  }

  const wss = new WebSocketServer({
    server,
    perMessageDeflate: opts.deflate,
    handleProtocols: (protocols) => (protocols.has('wscap.v1') ? 'wscap.v1' : false),
  });

  let finish;
  const done = new Promise((resolve) => { finish = resolve; });

  let answer = '(none)';
  wss.on('headers', (headers) => {
    const ext = headers.find((h) => /^sec-websocket-extensions:/i.test(h));
    if (ext) answer = ext.replace(/^[^:]*:\s*/, '');
  });
  wss.on('connection', (ws, req) => {
    const how = req.socket.encrypted ? `${req.socket.getProtocol()} ${req.socket.getCipher().standardName}` : 'plain';
    console.error(`server: connection from ${req.socket.remoteAddress}:${req.socket.remotePort} (${how}), ` +
      `extensions offered: ${req.headers['sec-websocket-extensions'] || '(none)'}; answered: ${answer}`);
    const send = (data, options) => {
      note('server', typeof data === 'string' ? 'text' : 'binary', data);
      ws.send(data, options);
    };
    ws.on('message', (data, isBinary) => {
      note('client', isBinary ? 'binary' : 'text', data);
      if (isBinary) {
        send(Buffer.from(data).reverse());
        return;
      }
      const text = data.toString();
      let msg = null;
      try {
        msg = JSON.parse(text);
      } catch {
        // not JSON: echoed below
      }
      switch (msg && msg.type) {
        case 'hello':
          send(JSON.stringify({ type: 'welcome', client: msg.client, server: 'ws/8', motd: 'Bienvenue ! 🎉' }));
          break;
        case 'chat':
          send(JSON.stringify({ type: 'chat', from: 'server', text: 'Echo: ' + msg.text }));
          break;
        case 'bulk':
          send(JSON.stringify({ type: 'ack', bytes: data.length, sha256: sha256(data) }));
          send(bigJSON(2, 128 * 1024));
          break;
        case 'fragmented': {
          // One text message in three frames, compressed as one deflate
          // stream (RSV1 on the first frame only), then one sent without
          // compression (RSV1 clear) between compressed ones.
          const parts = ['{"type":"fragmented","parts":["part one of a fragmented, compressed message", ',
            '"part two, still the same deflate stream", ', '"part three, FIN set"]}'];
          note('server', 'text', parts.join(''));
          ws.send(parts[0], { fin: false });
          ws.send(parts[1], { fin: false });
          ws.send(parts[2], { fin: true });
          send(JSON.stringify({ type: 'plain', text: 'this message was sent with compress: false' }),
            { compress: false });
          break;
        }
        case 'ping':
          ws.once('pong', (d) => send(JSON.stringify({ type: 'pong-seen', data: d.toString() })));
          ws.ping('heartbeat');
          break;
        default:
          send(text); // the empty message, and anything else: echoed
      }
    });
    ws.on('ping', (d) => console.error(`server: ping ${JSON.stringify(d.toString())} (pong sent by ws)`));
    ws.on('close', (code, reason) => {
      console.error(`server: close ${code} ${JSON.stringify(reason.toString())}`);
      truth.push({ close: code, reason: reason.toString() });
      finish(truth);
    });
    ws.on('error', (err) => console.error(`server: ${err.message}`));
  });

  await Promise.all([
    new Promise((resolve) => server.listen(opts.port, opts.host, resolve)),
    new Promise((resolve) => pageServer.listen(opts.pagePort, opts.host, resolve)),
  ]);
  const close = () => {
    wss.close();
    server.close();
    pageServer.close();
    server.closeAllConnections && server.closeAllConnections();
    pageServer.closeAllConnections && pageServer.closeAllConnections();
  };
  return { done, close };
}

module.exports = { startServer };
