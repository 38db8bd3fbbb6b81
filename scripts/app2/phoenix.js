// phoenix.js: Phoenix channels over WebSocket, for scripts/record-app2.sh:
// the `phoenix` npm client (Socket, Channel; `ws` as its transport)
// against a minimal channels server written here on `ws` that follows the
// Phoenix socket protocol.
//
// --variant 2.0.0: the client's default serializer (vsn=2.0.0): JSON
//   arrays [join_ref, ref, topic, event, payload].
// --variant 1.0.0: vsn=1.0.0; the client encodes JSON objects
//   {join_ref, ref, topic, event, payload} (encode/decode options, as
//   phoenix.js did before 1.4); the server answers with objects of the
//   fields Phoenix's V1.JSONSerializer writes: {topic, event, payload, ref}.
//
// Session: join room:lobby ({user}) -> phx_reply ok; push new_msg ->
// phx_reply ok and a new_msg broadcast; push forbidden -> phx_reply error;
// an app event (presence_state) from the server; heartbeats (every 150 ms)
// and their replies; join room:ephemeral -> ok, the server closes it
// (phx_close); leave room:lobby (phx_leave -> phx_reply ok); disconnect
// (close 1000).
//
// Truth: every message either side sent (tap.js), decoded with the
// client's own decoder (v2: phoenix's Serializer.decode; v1: JSON.parse).
'use strict';

const tap = require('./tap.js');

tap.tapAll([tap.libDir('ws')]);
const { WebSocketServer, WebSocket } = require('ws');
const { Socket } = require('phoenix');

function decoder(variant) {
  if (variant === '1.0.0') return (raw) => JSON.parse(raw);
  // The library's own v2 decoder (Serializer.decode, bound by the Socket).
  const s = new Socket('ws://127.0.0.1:1/socket', { transport: WebSocket });
  return (raw) => {
    let out;
    s.defaultDecoder(raw, (m) => { out = m; });
    return out;
  };
}

function truthOf(log, variant) {
  const decode = decoder(variant);
  return log.map((e) => {
    const m = decode(e.data.toString('utf8'));
    const fields = {};
    if (m.join_ref !== undefined && m.join_ref !== null) fields.join_ref = m.join_ref;
    fields.payload = m.payload;
    if (m.event === 'phx_reply') fields.status = m.payload.status;
    return tap.line(e, 'phoenix', m.event, m.topic, m.ref === null ? undefined : m.ref, fields);
  });
}

function startServer(o) {
  const v1 = o.variant === '1.0.0';
  const wss = new WebSocketServer({ host: '127.0.0.1', port: o.port, path: '/socket/websocket' });
  let closed;
  const done = new Promise((r) => { closed = r; });
  wss.on('connection', (ws, req) => {
    console.error(`phoenix: connection ${req.url}`);
    ws.on('close', closed);
    const joins = new Map(); // topic -> join_ref
    const send = (joinRef, ref, topic, event, payload) => {
      ws.send(JSON.stringify(v1 ? { topic, event, payload, ref } : [joinRef, ref, topic, event, payload]));
    };
    const reply = (m, status, response) => send(m.join_ref, m.ref, m.topic, 'phx_reply', { status, response });
    ws.on('message', (data) => {
      const raw = JSON.parse(data.toString());
      const m = v1 ? raw : { join_ref: raw[0], ref: raw[1], topic: raw[2], event: raw[3], payload: raw[4] };
      if (m.topic === 'phoenix' && m.event === 'heartbeat') return reply(m, 'ok', {});
      switch (m.event) {
        case 'phx_join':
          joins.set(m.topic, m.join_ref);
          reply(m, 'ok', { welcome: `hello ${m.payload.user || 'anonymous'}`, online: 3 });
          if (m.topic === 'room:lobby') {
            setTimeout(() => send(m.join_ref, null, m.topic, 'presence_state', {
              ada: { metas: [{ phx_ref: 'F8x2', online_at: 1763719200 }] },
              grace: { metas: [{ phx_ref: 'F8x3', online_at: 1763719201 }] },
            }), 20);
          } else if (m.topic === 'room:ephemeral') {
            setTimeout(() => send(m.join_ref, m.join_ref, m.topic, 'phx_close', {}), 30);
          }
          break;
        case 'new_msg':
          reply(m, 'ok', { id: 1001 });
          send(null, null, m.topic, 'new_msg', { user: 'ada', body: m.payload.body, id: 1001 });
          break;
        case 'forbidden':
          reply(m, 'error', { reason: 'unauthorized' });
          break;
        case 'phx_leave':
          joins.delete(m.topic);
          reply(m, 'ok', {});
          break;
        default:
          reply(m, 'error', { reason: `unmatched event ${m.event}` });
      }
    });
  });
  return new Promise((r) => wss.on('listening', () => r({ wss, done })));
}

tap.main(async (o) => {
  if (!['2.0.0', '1.0.0'].includes(o.variant)) throw new Error('--variant 2.0.0 or 1.0.0');
  const srv = await startServer(o);
  const opts = { transport: WebSocket, vsn: o.variant, params: { token: 'wscap-token' }, heartbeatIntervalMs: 150 };
  if (o.variant === '1.0.0') {
    opts.encode = (msg, cb) => cb(JSON.stringify(msg));
    opts.decode = (raw, cb) => cb(JSON.parse(raw));
  }
  const socket = new Socket(`ws://127.0.0.1:${o.port}/socket`, opts);
  const got = [];
  socket.onMessage((m) => got.push(`${m.topic} ${m.event}`));
  socket.connect();
  const lobby = socket.channel('room:lobby', { user: 'ada' });
  const presence = new Promise((r) => lobby.on('presence_state', r));
  const broadcast = new Promise((r) => lobby.on('new_msg', r));
  const recv = (push) => new Promise((resolve) => {
    push.receive('ok', (r) => resolve(['ok', r])).receive('error', (r) => resolve(['error', r])).receive('timeout', () => resolve(['timeout']));
  });
  console.error(`phoenix: join room:lobby -> ${JSON.stringify(await recv(lobby.join()))}`);
  console.error(`phoenix: presence_state ${JSON.stringify(await presence)}`);
  console.error(`phoenix: push new_msg -> ${JSON.stringify(await recv(lobby.push('new_msg', { body: 'hello, channel 👋' })))}`);
  console.error(`phoenix: broadcast new_msg ${JSON.stringify(await broadcast)}`);
  console.error(`phoenix: push forbidden -> ${JSON.stringify(await recv(lobby.push('forbidden', { what: 'admin' })))}`);
  const eph = socket.channel('room:ephemeral', {});
  const ephClosed = new Promise((r) => eph.onClose(r));
  console.error(`phoenix: join room:ephemeral -> ${JSON.stringify(await recv(eph.join()))}`);
  await ephClosed;
  console.error('phoenix: room:ephemeral closed by the server');
  await tap.sleep(350); // heartbeats
  console.error(`phoenix: leave room:lobby -> ${JSON.stringify(await recv(lobby.leave()))}`);
  await new Promise((r) => socket.disconnect(r, 1000, 'bye'));
  await srv.done;
  await new Promise((r) => srv.wss.close(r));
  console.error(`phoenix: client got ${got.join(', ')}`);
  tap.writeTruth(o.truth, truthOf(tap.log, o.variant));
});
