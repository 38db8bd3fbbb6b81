// stomp.js: the STOMP recording of scripts/record-app.sh: two
// @stomp/stompjs clients (over the `ws` package) against stompbroker.js on
// ws://127.0.0.1:PORT/stomp, subprotocol v12.stomp.
//
//   node stomp.js --scenario stomp --port N --truth FILE
//
// The truth is what each stompjs client's WebSocket carried, as stompjs
// parses it: the client's socket (from webSocketFactory) is wrapped so that
// every chunk stompjs sends and every message it receives is also fed to a
// stompjs Parser of its own per direction; each frame that Parser emits
// (through stompjs' FrameImpl.fromRawFrame, which unescapes header values
// except in CONNECT/CONNECTED and keeps the first of repeated headers) is a
// unit with the contract's fields (headers; body or body_base64 when the
// body is not empty), and each EOL it reports as a ping is a `heart-beat`.
// The frames stompjs' own callbacks saw (onConnect, the subscription
// callbacks, watchForReceipt, onStompError) must be among them.
'use strict';

const http = require('http');
const WebSocket = require('ws');
const { Client, Parser, FrameImpl } = require('@stomp/stompjs');
const { startBroker } = require('./stompbroker.js');
const { main, blob, sleep } = require('./truth.js');

function toArrayBuffer(d) {
  if (typeof d === 'string') return d;
  if (d instanceof ArrayBuffer) return d;
  const u = d instanceof Uint8Array ? d : new Uint8Array(d);
  return u.buffer.slice(u.byteOffset, u.byteOffset + u.byteLength);
}

function once(fn) {
  return new Promise((resolve) => fn(resolve));
}

async function run(o, truth) {
  const server = http.createServer();
  const wss = startBroker(server, { heartbeat: 500 });
  await new Promise((resolve) => server.listen(o.port, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${o.port}/stomp`;
  let nws = 0;
  const seen = []; // commands stompjs' callbacks reported, for the check

  const unit = (ws, from) => (raw) => {
    const f = FrameImpl.fromRawFrame(raw, true);
    const h = f.headers;
    const id = h.receipt !== undefined ? h.receipt : h['message-id'] !== undefined ? h['message-id'] : h.id;
    const fields = { headers: { ...h } };
    if (f.binaryBody && f.binaryBody.length) Object.assign(fields, blob('body', f.binaryBody));
    truth.add(ws, from, 'stomp', f.command, h.destination !== undefined ? h.destination : null, id, fields);
  };
  const factory = () => {
    const ws = ++nws;
    const sock = new WebSocket(url, ['v12.stomp', 'v11.stomp', 'v10.stomp']);
    const out = new Parser(unit(ws, 'client'), () => truth.add(ws, 'client', 'stomp', 'heart-beat', null));
    const inn = new Parser(unit(ws, 'server'), () => truth.add(ws, 'server', 'stomp', 'heart-beat', null));
    const send = sock.send.bind(sock);
    sock.send = (data, ...rest) => {
      out.parseChunk(toArrayBuffer(data));
      return send(data, ...rest);
    };
    sock.addEventListener('message', (ev) => inn.parseChunk(toArrayBuffer(ev.data)));
    return sock;
  };
  const newClient = (extra) => new Client({
    webSocketFactory: factory, reconnectDelay: 0, debug: () => {}, ...extra,
  });

  // Client 1 (WebSocket 1): heart-beats 500 ms both ways.
  const c1 = newClient({
    connectHeaders: { login: 'guest', passcode: 'guest', host: '/' },
    heartbeatIncoming: 500, heartbeatOutgoing: 500,
  });
  const connected = once((r) => { c1.onConnect = (f) => { seen.push(f.command); r(f); }; });
  c1.activate();
  await connected;

  const news = [];
  const work = [];
  let r = once((res) => c1.watchForReceipt('r-sub-news', (f) => { seen.push(f.command); res(); }));
  const subNews = c1.subscribe('/topic/news', (m) => { seen.push(m.command); news.push(m); }, { receipt: 'r-sub-news' });
  await r;
  c1.subscribe('/queue/work', (m) => {
    seen.push(m.command);
    work.push(m);
    m.ack();
  }, { ack: 'client-individual' });

  c1.publish({
    destination: '/topic/news', body: 'hello stomp ✓',
    headers: { 'content-type': 'text/plain;charset=utf-8', priority: '5', 'x-note': 'line1\nline2:with colon' },
  });
  const bin = new Uint8Array([0x01, 0x02, 0x00, 0x03, 0xff, 0x00, 0x80, 0x41]);
  c1.publish({ destination: '/queue/work', binaryBody: bin, headers: { 'content-type': 'application/octet-stream' } });
  const tx = c1.begin('tx-1');
  c1.publish({ destination: '/topic/news', body: '{"inside":"a transaction"}', headers: { transaction: tx.id, 'content-type': 'application/json' } });
  tx.commit();
  r = once((res) => c1.watchForReceipt('r-send-1', (f) => { seen.push(f.command); res(); }));
  c1.publish({ destination: '/queue/work', body: 'with a receipt', headers: { receipt: 'r-send-1' } });
  await r;
  for (let i = 0; i < 50 && (news.length < 2 || work.length < 2); i++) await sleep(20);
  if (news.length < 2 || work.length < 2) throw new Error(`got ${news.length} news, ${work.length} work messages`);
  if (!Buffer.from(work[0].binaryBody).equals(Buffer.from(bin))) throw new Error('binary body differs');

  await sleep(1300); // heart-beats: EOLs both ways every 500 ms
  subNews.unsubscribe();
  await c1.deactivate(); // DISCONNECT with a receipt; stompjs closes after the RECEIPT

  // Client 2 (WebSocket 2): no heart-beats; a refused SEND gets an ERROR.
  const c2 = newClient({ heartbeatIncoming: 0, heartbeatOutgoing: 0, connectHeaders: { host: '/' } });
  const connected2 = once((res) => { c2.onConnect = (f) => { seen.push(f.command); res(); }; });
  const errored = once((res) => { c2.onStompError = (f) => { seen.push(f.command); res(f); }; });
  const closed = once((res) => { c2.onWebSocketClose = res; });
  c2.activate();
  await connected2;
  c2.publish({ destination: '/queue/forbidden', body: 'let me in', headers: { receipt: 'r-bad' } });
  await errored;
  await closed;
  await c2.deactivate();
  await sleep(200);

  const logged = truth.lines.map((l) => l.type);
  for (const c of seen) {
    const i = logged.indexOf(c);
    if (i < 0) throw new Error(`stomp: ${c} from a stompjs callback is not in the truth`);
    logged.splice(i, 1);
  }
  wss.close();
  server.close();
}

main(async (o, truth) => {
  if (o.scenario !== 'stomp') throw new Error(`unknown scenario ${o.scenario}`);
  return run(o, truth);
});
