// wsh2.js: RFC 6455 over an HTTP/2 stream (RFC 8441), with Node's `ws`
// package doing the WebSocket framing. A `ws` WebSocket can run on any
// Duplex (WebSocket.prototype.setSocket, which WebSocketServer itself uses
// after an HTTP/1.1 upgrade; ws's comments say the socket "may be just a
// Duplex"), and an Http2Stream is one. The extended CONNECT handshake
// (RFC 8441 section 4) is done here: the client sends HEADERS with
// :method CONNECT, :protocol websocket, :scheme, :path, :authority,
// sec-websocket-version 13 and optionally sec-websocket-protocol and
// sec-websocket-extensions; the server answers :status 200 with the chosen
// subprotocol and extension parameters. There is no Sec-WebSocket-Key.
//
// permessage-deflate uses ws's own PerMessageDeflate and extension parser
// (lib/, not exported by the package: required by absolute path). Written
// against ws 8.23.1 (record-h2.sh installs exactly that version): these
// internals changed in 8.23 (PerMessageDeflate takes one options object).
'use strict';

const path = require('path');
const { WebSocket } = require('ws');

const wsLib = path.join(path.dirname(require.resolve('ws/package.json')), 'lib');
const PerMessageDeflate = require(path.join(wsLib, 'permessage-deflate.js'));
const extension = require(path.join(wsLib, 'extension.js'));

const WS_OPTIONS = { autoPong: true, closeTimeout: 30000 };

// acceptStream answers an extended CONNECT on the server: stream is the
// Http2Stream, headers its request headers; opts.protocols (array) are the
// subprotocols the server speaks, in preference order; opts.deflate is a
// PerMessageDeflate options object, or null to decline the extension.
// Returns the open server-side WebSocket.
function acceptStream(stream, headers, opts) {
  const ws = new WebSocket(null, undefined, WS_OPTIONS);
  const response = { ':status': 200 };
  const offered = (headers['sec-websocket-protocol'] || '').split(',').map((s) => s.trim()).filter(Boolean);
  const proto = (opts.protocols || []).find((p) => offered.includes(p));
  if (proto) {
    response['sec-websocket-protocol'] = proto;
    ws._protocol = proto;
  }
  const offer = headers['sec-websocket-extensions'];
  if (opts.deflate && offer) {
    const pmd = new PerMessageDeflate({ ...opts.deflate, isServer: true, maxPayload: 0 });
    const offers = extension.parse(offer);
    if (offers[PerMessageDeflate.extensionName]) {
      pmd.accept(offers[PerMessageDeflate.extensionName]);
      ws._extensions = { [PerMessageDeflate.extensionName]: pmd };
      response['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: [pmd.params] });
    }
  }
  stream.respond(response);
  ws.setSocket(stream, Buffer.alloc(0), { maxPayload: 0 });
  return ws;
}

// connectStream opens a WebSocket on an Http2 client session (which must
// have seen the server's SETTINGS_ENABLE_CONNECT_PROTOCOL=1): an extended
// CONNECT to urlPath. opts.protocols: subprotocols to offer; opts.deflate:
// PerMessageDeflate options to offer, or null. Resolves with {ws, stream,
// headers} once the server answered 200 (client frames are masked).
function connectStream(session, authority, urlPath, opts) {
  const req = {
    ':method': 'CONNECT',
    ':protocol': 'websocket',
    ':scheme': opts.scheme || 'http',
    ':path': urlPath,
    ':authority': authority,
    'sec-websocket-version': '13',
  };
  if (opts.origin) req.origin = opts.origin;
  if (opts.protocols && opts.protocols.length) req['sec-websocket-protocol'] = opts.protocols.join(', ');
  let pmd = null;
  if (opts.deflate) {
    pmd = new PerMessageDeflate({ ...opts.deflate, isServer: false, maxPayload: 0 });
    req['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: pmd.offer() });
  }
  if (opts.userAgent) req['user-agent'] = opts.userAgent;
  const stream = session.request(req, { endStream: false });
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.once('response', (headers) => {
      stream.removeListener('error', reject);
      if (headers[':status'] !== 200) {
        reject(new Error(`extended CONNECT ${urlPath} answered ${headers[':status']}`));
        stream.close();
        return;
      }
      const ws = new WebSocket(null, undefined, WS_OPTIONS);
      ws._isServer = false; // a client: masks its frames, expects unmasked ones
      if (headers['sec-websocket-protocol']) ws._protocol = headers['sec-websocket-protocol'];
      const answer = headers['sec-websocket-extensions'];
      if (pmd && answer) {
        const got = extension.parse(answer);
        pmd.accept(got[PerMessageDeflate.extensionName]);
        ws._extensions = { [PerMessageDeflate.extensionName]: pmd };
      }
      ws.setSocket(stream, Buffer.alloc(0), { maxPayload: 0 });
      resolve({ ws, stream, headers });
    });
  });
}

module.exports = { acceptStream, connectStream };
