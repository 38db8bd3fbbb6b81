// server.js: the server side of the recorded h2 sessions (see session.js):
// a Node `http2` server (TLS with ALPN h2 only, or cleartext h2c with prior
// knowledge) with settings.enableConnectProtocol, so that it sends
// SETTINGS_ENABLE_CONNECT_PROTOCOL=1 (RFC 8441 section 3). On the same
// connection it serves:
//   GET /page.html, /session.js   the browser page (ordinary h2 streams)
//   GET /hello.txt                a small text file (ordinary h2 stream)
//   POST /result                  the browser's result (JSON body)
//   CONNECT :protocol websocket   /ws/a: subprotocols wscap.v1 or chat,
//                                 permessage-deflate accepted;
//                                 /ws/b: the same without permessage-deflate
// Anything else is 404.
//
// Used by drive.js. `done` resolves once `want` WebSockets have closed (and,
// with needResult, /result was posted) with the truth: every message of
// both directions on every WebSocket stream, in the order the server saw
// them, as ws reported it (after reassembly and inflation), with its
// h2_stream id, length and sha256; and a close line per stream.
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http2 = require('http2');
const path = require('path');
const { acceptStream } = require('./wsh2.js');

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');

// startServer({host, port, tls: {key, cert} | null, want, needResult,
// serverKeylog}) resolves with {done, close} once the server listens.
async function startServer(opts) {
  const truth = [];
  const sessions = new Set();
  let result = null;
  let closedWS = 0;
  let finish;
  const done = new Promise((resolve) => { finish = resolve; });
  const check = () => {
    if (closedWS >= opts.want && (!opts.needResult || result)) finish({ truth, result });
  };

  const settings = { enableConnectProtocol: true };
  const server = opts.tls
    ? http2.createSecureServer({ key: opts.tls.key, cert: opts.tls.cert, allowHTTP1: false, settings })
    : http2.createServer({ settings });
  if (opts.tls && opts.serverKeylog) server.on('keylog', (line) => fs.appendFileSync(opts.serverKeylog, line));
  server.on('session', (s) => {
    sessions.add(s);
    const sock = s.socket;
    const how = opts.tls ? `${sock.getProtocol()} ${sock.getCipher().standardName} ALPN ${s.alpnProtocol}` : `h2c ${s.alpnProtocol}`;
    console.error(`server: h2 connection from ${sock.remotePort} (${how})`);
    s.on('close', () => sessions.delete(s));
  });

  server.on('stream', (stream, headers) => {
    const method = headers[':method'];
    const p = (headers[':path'] || '').split('?')[0];
    console.error(`server: stream ${stream.id}: ${method}${headers[':protocol'] ? ' :protocol ' + headers[':protocol'] : ''} ${headers[':path']}`);
    if (method === 'CONNECT' && headers[':protocol'] === 'websocket' && (p === '/ws/a' || p === '/ws/b')) {
      serveWebSocket(stream, headers, p === '/ws/a' ? 'a' : 'b');
      return;
    }
    if (method === 'GET' && ['/page.html', '/session.js', '/hello.txt'].includes(p)) {
      const type = { html: 'text/html', js: 'text/javascript', txt: 'text/plain' }[p.split('.').pop()];
      const body = p === '/hello.txt' ? 'Hello, plain HTTP/2 stream.\n' : fs.readFileSync(path.join(__dirname, p.slice(1)));
      stream.respond({ ':status': 200, 'content-type': type + '; charset=utf-8', 'cache-control': 'no-store' });
      stream.end(body);
      return;
    }
    if (method === 'POST' && p === '/result') {
      const chunks = [];
      stream.on('data', (c) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 204 });
        stream.end();
        result = JSON.parse(Buffer.concat(chunks).toString());
        check();
      });
      return;
    }
    stream.respond({ ':status': 404 });
    stream.end();
  });

  const serveWebSocket = (stream, headers, tag) => {
    const sid = stream.id;
    const note = (from, opcode, data) => {
      const buf = Buffer.isBuffer(data) ? data : Buffer.from(data);
      truth.push({ h2_stream: sid, from, opcode, len: buf.length, sha256: sha256(buf) });
    };
    const ws = acceptStream(stream, headers, {
      protocols: ['wscap.v1', 'chat'],
      deflate: tag === 'a' ? { threshold: 0 } : null,
    });
    console.error(`server: stream ${sid}: WebSocket ${tag}, protocol ${JSON.stringify(ws.protocol)}, ` +
      `extensions offered ${JSON.stringify(headers['sec-websocket-extensions'] || '')}, accepted ${JSON.stringify(Object.keys(ws._extensions))}`);
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
          send(JSON.stringify({ type: 'welcome', ws: msg.ws, client: msg.client, stream: sid, motd: 'Bienvenue ! 🎉' }));
          break;
        case 'chat':
          send(JSON.stringify({ type: 'chat', from: 'server', text: 'Echo: ' + msg.text }));
          break;
        case 'fragmented': {
          const parts = [`{"type":"fragmented","ws":"${tag}","parts":["part one", `, '"part two", ', '"part three, FIN set"]}'];
          note('server', 'text', parts.join(''));
          ws.send(parts[0], { fin: false });
          ws.send(parts[1], { fin: false });
          ws.send(parts[2], { fin: true });
          break;
        }
        case 'ping':
          ws.once('pong', (d) => send(JSON.stringify({ type: 'pong-seen', data: d.toString() })));
          ws.ping('heartbeat-' + tag);
          break;
        default:
          send(text);
      }
    });
    ws.on('ping', (d) => console.error(`server: stream ${sid}: ping ${JSON.stringify(d.toString())} (pong sent by ws)`));
    ws.on('close', (code, reason) => {
      console.error(`server: stream ${sid}: close ${code} ${JSON.stringify(reason.toString())}`);
      truth.push({ h2_stream: sid, close: code, reason: reason.toString() });
      closedWS++;
      check();
    });
    ws.on('error', (err) => console.error(`server: stream ${sid}: ${err.message}`));
  };

  await new Promise((resolve) => server.listen(opts.port, opts.host, resolve));
  // close: GOAWAY on every connection (Http2Session.close waits for open
  // streams, then ends the TCP connection), then stop listening.
  const close = () => new Promise((resolve) => {
    for (const s of sessions) s.close();
    server.close(() => resolve());
  });
  return { done, close };
}

module.exports = { startServer };
