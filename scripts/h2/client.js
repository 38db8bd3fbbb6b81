// client.js: the Node side of scripts/record-h2.sh's Node sessions: one
// HTTP/2 connection (Node's http2 client; h2c with prior knowledge, or TLS
// with ALPN h2) that waits for the server's SETTINGS (it must have
// ENABLE_CONNECT_PROTOCOL=1), GETs /hello.txt, runs session.js on two
// WebSockets at once as RFC 8441 extended CONNECT streams (/ws/a offering
// subprotocols wscap.v1, chat and permessage-deflate, which the server
// accepts; /ws/b offering chat and permessage-deflate, which the server
// declines), GETs /hello.txt again between them, and closes the session
// (GOAWAY).
'use strict';

const fs = require('fs');
const http2 = require('http2');
const net = require('net');
const tls = require('tls');
const { connectStream } = require('./wsh2.js');
const { runSession } = require('./session.js');

function get(session, p) {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': p });
    let body = '';
    let status = 0;
    req.setEncoding('utf8');
    req.on('response', (h) => { status = h[':status']; });
    req.on('data', (d) => { body += d; });
    req.on('end', () => resolve({ status, body }));
    req.on('error', reject);
    req.end();
  });
}

async function runClient(o, host) {
  const authority = `${host}:${o.port}`;
  const scheme = o.tls ? 'https' : 'http';
  const session = http2.connect(`${scheme}://${authority}`, {
    createConnection: () => {
      if (!o.tls) return net.connect(o.port, '127.0.0.1');
      const sock = tls.connect({ port: o.port, host: '127.0.0.1', servername: host, ALPNProtocols: ['h2'], rejectUnauthorized: false });
      if (o.keylog) sock.on('keylog', (line) => fs.appendFileSync(o.keylog, line));
      return sock;
    },
  });
  session.on('error', (err) => console.error(`client: session: ${err.message}`));
  const settings = await new Promise((resolve) => session.once('remoteSettings', resolve));
  if (!settings.enableConnectProtocol) throw new Error('the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL=1');
  const ua = `wscap-recorder node/${process.version} ws/${require('ws/package.json').version}`;
  const log = { get1: await get(session, '/hello.txt') };
  const one = async (tag, protocols, beforeClose) => {
    const { ws, headers } = await connectStream(session, authority, `/ws/${tag}`, {
      scheme, protocols, deflate: { threshold: 0 }, userAgent: ua,
    });
    const l = await runSession(ws, tag, 'node', { beforeClose });
    return { tag, protocol: ws.protocol, extensions: headers['sec-websocket-extensions'] || '', log: l };
  };
  const ownPing = (w) => new Promise((resolve) => {
    w.once('pong', resolve);
    w.ping('are you there?');
  });
  const [a, b, get2] = await Promise.all([
    one('a', ['wscap.v1', 'chat'], ownPing),
    one('b', ['chat']),
    new Promise((r) => setTimeout(r, 20)).then(() => get(session, '/hello.txt')),
  ]);
  log.ws = [a, b];
  log.get2 = get2;
  await new Promise((resolve) => session.close(resolve));
  return log;
}

module.exports = { runClient };
