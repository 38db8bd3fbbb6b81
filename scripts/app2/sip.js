// sip.js: SIP over WebSocket (RFC 7118, subprotocol sip), for
// scripts/record-app2.sh: a JsSIP user agent (JsSIP.UA with
// JsSIP.WebSocketInterface; `ws` as the global WebSocket) against a
// minimal registrar and user agent server written here on `ws`.
//
// Session: REGISTER -> 401 Unauthorized with a Digest challenge ->
// REGISTER with Authorization (JsSIP's digest) -> 200 OK; OPTIONS -> 200
// OK; MESSAGE (text/plain) -> 202 Accepted; the server sends MESSAGE and
// OPTIONS to the UA's contact, which JsSIP answers (200 OK); INVITE ->
// 100 Trying, 486 Busy Here -> ACK (JsSIP's transaction layer); the UA
// stops: REGISTER with Expires: 0 -> 200 OK, close.
//
// Node has no WebRTC: the INVITE's SDP offer comes from a stand-in for
// RTCPeerConnection below (a fixed audio offer), which is all JsSIP needs
// to send the INVITE; the SIP messages are JsSIP's own.
//
// Truth: every message either side sent (tap.js), parsed with JsSIP's own
// parser (Parser.parseMessage): the Request-URI is the one on the request
// line; from, to and cseq are the header values as sent.
'use strict';

const crypto = require('crypto');
const tap = require('./tap.js');

tap.tapAll([tap.libDir('ws')]);
const WS = require('ws');

global.WebSocket = WS.WebSocket;
const SDP = [
  'v=0', 'o=- 4611731400430051336 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'a=group:BUNDLE 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0', 'a=rtcp:9 IN IP4 0.0.0.0',
  'a=ice-ufrag:wsc1', 'a=ice-pwd:wscapwscapwscapwscapws', 'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=setup:actpass', 'a=mid:0', 'a=sendrecv', 'a=rtcp-mux', 'a=rtpmap:111 opus/48000/2', '',
].join('\r\n');
class FakePeerConnection {
  constructor() {
    this.iceGatheringState = 'complete';
    this.signalingState = 'stable';
    this.iceConnectionState = 'new';
    this.localDescription = null;
  }
  addEventListener() {}
  removeEventListener() {}
  addTrack() {}
  getSenders() { return []; }
  getReceivers() { return []; }
  async createOffer() { return { type: 'offer', sdp: SDP }; }
  async setLocalDescription(d) { this.localDescription = d; }
  async setRemoteDescription() {}
  close() { this.signalingState = 'closed'; }
}
global.window = global;
global.RTCPeerConnection = FakePeerConnection;
global.RTCSessionDescription = class { constructor(d) { Object.assign(this, d); } };

const JsSIP = require('jssip');
const Parser = require(`${tap.libDir('jssip')}/lib/Parser.js`);

const DOMAIN = 'wscap.test';
const CRLF = '\r\n';

function truthOf(log, ua) {
  return log.map((e) => {
    const text = e.data.toString('utf8');
    const m = Parser.parseMessage(text, ua);
    if (!m) throw new Error(`JsSIP did not parse ${JSON.stringify(text)}`);
    const cseq = m.getHeader('CSeq');
    const fields = {
      method: m.method, call_id: m.call_id, from: m.getHeader('From'), to: m.getHeader('To'), cseq,
    };
    if (m.body) fields.body = m.body;
    const seq = m.cseq;
    if (m.status_code) {
      return tap.line(e, 'sip', 'response', null, seq, { status: m.status_code, reason: m.reason_phrase, ...fields });
    }
    const ruri = text.slice(0, text.indexOf(CRLF)).split(' ')[1];
    return tap.line(e, 'sip', m.method, ruri, seq, fields);
  });
}

// The registrar / user agent server.
function startServer(o, ua) {
  const wss = new WS.WebSocketServer({
    host: '127.0.0.1', port: o.port, path: '/sip',
    handleProtocols: (protocols) => (protocols.has('sip') ? 'sip' : false),
  });
  let closed;
  const done = new Promise((r) => { closed = r; });
  const nonce = crypto.createHash('md5').update('wscap-nonce').digest('hex');
  wss.on('connection', (ws) => {
    ws.on('close', closed);
    let contact = null;
    let cseq = 100;
    const callId = 'srv-3c26f8a1e0b94d2b@wscap.test';
    const respond = (req, status, reason, extra = [], body = '') => {
      const lines = [`SIP/2.0 ${status} ${reason}`];
      for (const v of req.getHeaders('Via')) lines.push(`Via: ${v}`);
      let to = req.getHeader('To');
      if (status > 100 && !/;tag=/.test(to)) to += ';tag=srv7f3a9c';
      lines.push(`To: ${to}`, `From: ${req.getHeader('From')}`, `Call-ID: ${req.call_id}`, `CSeq: ${req.getHeader('CSeq')}`);
      lines.push(...extra, 'Server: wscap-test-registrar', `Content-Length: ${Buffer.byteLength(body)}`, '', body);
      ws.send(lines.join(CRLF));
    };
    const request = (method, extra, body = '') => {
      cseq++;
      const branch = `z9hG4bK${crypto.randomBytes(6).toString('hex')}`;
      const lines = [`${method} ${contact} SIP/2.0`, `Via: SIP/2.0/WSS ${DOMAIN};branch=${branch}`, 'Max-Forwards: 70',
        `To: <sip:alice@${DOMAIN}>`, `From: "Registrar" <sip:registrar@${DOMAIN}>;tag=srvfrom1`, `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`, ...extra, `Content-Length: ${Buffer.byteLength(body)}`, '', body];
      ws.send(lines.join(CRLF));
    };
    ws.on('message', (data) => {
      const m = Parser.parseMessage(data.toString('utf8'), ua);
      if (!m) return console.error('sip: unparsable message');
      if (m.status_code) {
        console.error(`sip: UA answered ${m.method} with ${m.status_code} ${m.reason_phrase}`);
        if (m.method === 'MESSAGE') request('OPTIONS', ['Accept: application/sdp']);
        return;
      }
      switch (m.method) {
        case 'REGISTER': {
          const expires = m.getHeader('Expires');
          if (!m.hasHeader('Authorization')) {
            respond(m, 401, 'Unauthorized', [`WWW-Authenticate: Digest realm="${DOMAIN}", nonce="${nonce}", algorithm=MD5, qop="auth"`]);
            break;
          }
          const c = m.getHeader('Contact');
          contact = c.slice(c.indexOf('<') + 1, c.indexOf('>'));
          respond(m, 200, 'OK', [`Contact: ${c}`.replace(/;expires=\d+/, '') + `;expires=${expires === '0' ? 0 : 600}`]);
          break;
        }
        case 'OPTIONS':
          respond(m, 200, 'OK', ['Allow: INVITE,ACK,CANCEL,BYE,OPTIONS,MESSAGE,REGISTER', 'Accept: application/sdp, text/plain']);
          break;
        case 'MESSAGE':
          respond(m, 202, 'Accepted');
          setTimeout(() => request('MESSAGE', ['Content-Type: text/plain'], 'Welcome back, Alice.'), 20);
          break;
        case 'INVITE':
          respond(m, 100, 'Trying');
          setTimeout(() => respond(m, 486, 'Busy Here'), 30);
          break;
        case 'ACK':
          console.error(`sip: ACK for ${m.getHeader('CSeq')}`);
          break;
        default:
          respond(m, 405, 'Method Not Allowed', ['Allow: INVITE,ACK,CANCEL,BYE,OPTIONS,MESSAGE,REGISTER']);
      }
    });
  });
  return new Promise((r) => wss.on('listening', () => r({ wss, done })));
}

tap.main(async (o) => {
  const socket = new JsSIP.WebSocketInterface(`ws://127.0.0.1:${o.port}/sip`);
  socket.via_transport = 'WS';
  const ua = new JsSIP.UA({
    sockets: [socket], uri: `sip:alice@${DOMAIN}`, password: 'wonderland', display_name: 'Alice',
    register: false, session_timers: false, user_agent: 'JsSIP (wscap recorder)', connection_recovery_min_interval: 30,
  });
  const srv = await startServer(o, ua);
  const newMessage = new Promise((r) => ua.on('newMessage', (ev) => { if (ev.originator === 'remote') r(ev.request.body); }));
  const optionsIn = new Promise((r) => ua.on('newOptions', (ev) => { if (ev.originator === 'remote') r(ev.request.method); }));
  await new Promise((resolve) => { ua.once('connected', resolve); ua.start(); });
  await new Promise((resolve, reject) => {
    ua.once('registered', resolve);
    ua.once('registrationFailed', (ev) => reject(new Error(`registration failed: ${ev.cause}`)));
    ua.register();
  });
  console.error('sip: registered');
  const r = await new Promise((resolve) => {
    ua.sendOptions(`sip:registrar@${DOMAIN}`, null, {
      eventHandlers: { succeeded: (ev) => resolve(ev.response.status_code), failed: (ev) => resolve(ev.cause) },
    });
  });
  console.error(`sip: OPTIONS -> ${r}`);
  const mr = await new Promise((resolve) => {
    ua.sendMessage(`sip:bob@${DOMAIN}`, 'Hello Bob, this is Alice over SIP/WebSocket ✓', {
      contentType: 'text/plain;charset=utf-8',
      eventHandlers: { succeeded: (ev) => resolve(ev.response.status_code), failed: (ev) => resolve(ev.cause) },
    });
  });
  console.error(`sip: MESSAGE -> ${mr}`);
  console.error(`sip: incoming MESSAGE ${JSON.stringify(await newMessage)}, incoming ${await optionsIn}`);
  const cause = await new Promise((resolve) => {
    ua.call(`sip:bob@${DOMAIN}`, {
      mediaConstraints: { audio: false, video: false },
      eventHandlers: { failed: (ev) => resolve(`${ev.originator} ${ev.cause}`), confirmed: () => resolve('confirmed') },
    });
  });
  console.error(`sip: INVITE -> ${cause}`);
  await tap.sleep(100);
  await new Promise((resolve) => {
    ua.once('unregistered', resolve);
    ua.unregister();
  });
  console.error('sip: unregistered');
  ua.stop();
  await srv.done;
  await new Promise((r) => srv.wss.close(r));
  tap.writeTruth(o.truth, truthOf(tap.log, ua));
});
