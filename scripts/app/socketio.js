// socketio.js: the socket.io recordings of scripts/record-app.sh: a
// socket.io server and socket.io-client in this process, on 127.0.0.1:PORT.
//
//   node socketio.js --scenario socketio-v4|socketio-polling-upgrade|socketio-v2 --port N --truth FILE
//
// socket.io, socket.io-client, engine.io and socket.io-parser come from
// NODE_PATH: 4.8.x for socketio-v4 and socketio-polling-upgrade (engine.io
// protocol 4, socket.io protocol 5), 2.5.x for socketio-v2 (EIO=3, socket.io
// protocol 4).
//
// The truth is what the server's engine.io logged on each WebSocket
// transport: every engine.io packet its WebSocket transport sent (the
// transport's send(), before encoding) and received (the transport's
// onPacket(), after decoding). Packets of type "message" are fed, per
// direction, to socket.io-parser's own Decoder, and each packet it decodes
// is one socket.io unit (binary packets with their attachments turned back
// into {"_placeholder":true,"num":N} by socket.io-parser's deconstructPacket,
// as on the wire); other engine.io packets are engine.io units. Packets sent
// over HTTP long-polling are not in the truth (no WebSocket carries them).
// The sockets' onAny/onAnyOutgoing and the ack callbacks are logged too,
// and each event they saw must be among the truth's events.
'use strict';

const { main, sleep } = require('./truth.js');

const fs = require('fs');
const path = require('path');

// req requires a module by name, or a file inside a package by its path
// under the first NODE_PATH directory that has it (engine.io 6's "exports"
// hides its internal files from require by name).
function req(name) {
  if (!name.endsWith('.js')) return require(name);
  for (const dir of (process.env.NODE_PATH || '').split(path.delimiter)) {
    const f = path.join(dir, name);
    if (dir && fs.existsSync(f)) return require(f);
  }
  throw new Error(`${name} not found on NODE_PATH`);
}

// loadEngineIO returns {WebSocket, Transport} classes of the server's
// engine.io (6.x: build/, 3.x: lib/).
function loadEngineIO() {
  try {
    return {
      WebSocket: req('engine.io/build/transports/websocket.js').WebSocket,
      Transport: req('engine.io/build/transport.js').Transport,
    };
  } catch (e) {
    return {
      WebSocket: req('engine.io/lib/transports/websocket.js'),
      Transport: req('engine.io/lib/transport.js'),
    };
  }
}

function loadParser() {
  const parser = req('socket.io-parser');
  let binary;
  let hasBinary;
  try {
    binary = req('socket.io-parser/build/cjs/binary.js');
    hasBinary = req('socket.io-parser/build/cjs/is-binary.js').hasBinary;
  } catch (e) {
    binary = req('socket.io-parser/binary.js');
    hasBinary = require('has-binary2'); // socket.io-parser 3.x's own dependency
  }
  const names = ['CONNECT', 'DISCONNECT', 'EVENT', 'ACK', 'CONNECT_ERROR', 'BINARY_EVENT', 'BINARY_ACK'];
  return { Decoder: parser.Decoder, deconstructPacket: binary.deconstructPacket, hasBinary, names };
}

// hookServer patches the engine.io WebSocket transport so that every packet
// it sends or receives becomes truth; returns the events seen.
function hookServer(truth) {
  const { WebSocket, Transport } = loadEngineIO();
  const { Decoder, deconstructPacket, hasBinary, names } = loadParser();
  const state = new Map(); // transport -> {ws, dec: {client, server}}
  let nws = 0;
  const events = { client: [], server: [] };

  const stateOf = (t) => {
    let s = state.get(t);
    if (!s) {
      s = { ws: ++nws, dec: {} };
      for (const from of ['client', 'server']) {
        const d = new Decoder();
        d.on('decoded', (p) => socketIOUnit(s.ws, from, p));
        s.dec[from] = d;
      }
      state.set(t, s);
    }
    return s;
  };

  const socketIOUnit = (ws, from, p) => {
    // socket.io-parser 4.2's Decoder hands a reconstructed BINARY_EVENT or
    // BINARY_ACK on as EVENT or ACK; on the wire a packet with binary data
    // is always a BINARY_* one (its Encoder's rule).
    if ((p.type === 2 || p.type === 3) && hasBinary(p.data)) p.type += 3;
    const type = names[p.type];
    const f = { namespace: p.nsp || '/' };
    let name = null;
    if (type === 'BINARY_EVENT' || type === 'BINARY_ACK') {
      const { packet, buffers } = deconstructPacket(p);
      p = packet;
      f.attachments = buffers.length;
      f.attachments_base64 = buffers.map((b) => Buffer.from(b).toString('base64'));
    }
    if (type === 'EVENT' || type === 'BINARY_EVENT') {
      name = p.data[0];
      f.args = p.data.slice(1);
      events[from].push(name);
    } else if (type === 'ACK' || type === 'BINARY_ACK') {
      f.args = p.data;
    } else if ((type === 'CONNECT' || type === 'CONNECT_ERROR') && p.data !== undefined) {
      f.data = p.data;
    }
    truth.add(ws, from, 'socket.io', type, name, p.id, f);
  };

  const packet = (t, from, p) => {
    const s = stateOf(t);
    if (p.type === 'message') {
      // socket.io 2.x writes some packets as a one-element array, which
      // engine.io-parser 2.x sends as '' + data.
      s.dec[from].add(typeof p.data === 'string' || Buffer.isBuffer(p.data) || p.data instanceof ArrayBuffer ? p.data : String(p.data));
      return;
    }
    let data = p.data;
    if (p.type === 'open' && typeof data === 'string') data = JSON.parse(data);
    truth.add(s.ws, from, 'engine.io', p.type, null, undefined, data === undefined || data === '' ? undefined : { data });
  };

  const send = WebSocket.prototype.send;
  WebSocket.prototype.send = function (packets) {
    for (const p of packets) packet(this, 'server', p);
    return send.call(this, packets);
  };
  const onPacket = Transport.prototype.onPacket;
  Transport.prototype.onPacket = function (p) {
    if (this instanceof WebSocket) packet(this, 'client', p);
    return onPacket.call(this, p);
  };
  return events;
}

// logged is what the sockets' onAny/onAnyOutgoing saw, for the check:
// logged[side][from] are the event names the sockets of side saw sent by from.
const logged = { client: { client: [], server: [] }, server: { client: [], server: [] } };
function logAny(sock, side) {
  const other = side === 'client' ? 'server' : 'client';
  if (!sock.onAny) return; // socket.io 2.x has no onAny
  sock.onAny((ev) => logged[side][other].push(ev)); // received: sent by the other side
  if (sock.onAnyOutgoing) sock.onAnyOutgoing((ev) => logged[side][side].push(ev));
}

function once(emitter, ev) {
  return new Promise((resolve) => emitter.once(ev, (...a) => resolve(a)));
}

function ack(sock, ...args) {
  return new Promise((resolve) => sock.emit(...args, (...res) => resolve(res)));
}

function check(events) {
  for (const [side, from] of [['client', 'client'], ['client', 'server'], ['server', 'client'], ['server', 'server']]) {
    const seen = events[from].slice();
    for (const ev of logged[side][from]) {
      if (ev === 'tick') continue; // volatile: may be discarded before the transport
      const i = seen.indexOf(ev);
      if (i < 0) throw new Error(`socket.io: ${from} event ${JSON.stringify(ev)} logged by the ${side}'s onAny/onAnyOutgoing is not in the truth`);
      seen.splice(i, 1);
    }
  }
}

function serverRoot(io, opts) {
  io.on('connection', (s) => {
    logAny(s, 'server');
    s.on('hello', () => {});
    s.on('add', (a, b, cb) => cb(a + b));
    s.on('upload', (meta, buf, cb) => cb({ name: meta.name, size: buf.length }));
    s.on('please', async (cb) => {
      s.emit('welcome', 'hi', 7, { a: 1, list: [1, 2, 3], s: 'x\ny' });
      if (opts.binary) s.emit('file', { name: 'down.bin' }, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]));
      const answer = await new Promise((resolve) => s.emit('question', 'ready?', (...a) => resolve(a)));
      cb('done', answer.length);
    });
  });
}

async function v4(o, truth, polling) {
  const { Server } = req('socket.io');
  const { Manager } = req('socket.io-client');
  const events = hookServer(truth);
  const io = new Server(o.port, { pingInterval: 1000, pingTimeout: 5000, serveClient: false });
  serverRoot(io, { binary: !polling });
  const chat = io.of('/chat');
  chat.on('connection', (s) => {
    logAny(s, 'server');
    s.on('msg', (text) => s.broadcast.emit('msg', { from: 'A', text }));
    s.on('tick-please', () => chat.volatile.emit('tick', 1));
    s.on('kick-me', () => s.disconnect(true));
  });

  const url = `http://127.0.0.1:${o.port}`;
  const mA = new Manager(url, polling ? {} : { transports: ['websocket'] });
  const root = mA.socket('/');
  logAny(root, 'client');
  root.on('question', (q, cb) => {
    if (polling) cb('yes');
    else cb('yes', Buffer.from('\x00\x01 binary answer\xfe', 'latin1'));
  });
  await once(root, 'connect');
  if (polling) {
    if (mA.engine.transport.name !== 'websocket') await once(mA.engine, 'upgrade');
    await sleep(200);
  }

  root.emit('hello', 'world', 42, { nested: { list: [1, 2, 3], flag: true }, nil: null, text: 'héllo ✓' });
  const sum = await ack(root, 'add', 2, 3);
  if (sum[0] !== 5) throw new Error(`add: ${sum}`);
  if (!polling) {
    const up = await ack(root, 'upload', { name: 'blob.bin' }, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]));
    if (up[0].size !== 6) throw new Error(`upload: ${JSON.stringify(up)}`);
  }
  const got = new Promise((resolve) => {
    let n = 0;
    const want = polling ? 2 : 3;
    const one = () => { if (++n === want) resolve(); };
    root.on('welcome', one);
    root.on('file', one);
    root.on('question', one);
  });
  const done = await ack(root, 'please');
  await got;
  if (done[0] !== 'done') throw new Error(`please: ${done}`);

  if (!polling) {
    const chatA = mA.socket('/chat');
    logAny(chatA, 'client');
    await once(chatA, 'connect');
    const mB = new Manager(url, { transports: ['websocket'] });
    const chatB = mB.socket('/chat');
    logAny(chatB, 'client');
    await once(chatB, 'connect');
    const bGot = once(chatB, 'msg');
    chatA.emit('msg', 'hello chat');
    await bGot;
    // A volatile event is dropped for a client whose transport is busy:
    // wait for both ticks, or at most 500 ms.
    const ticks = Promise.all([once(chatA, 'tick'), once(chatB, 'tick')]);
    chatA.emit('tick-please');
    await Promise.race([ticks, sleep(500)]);
    await sleep(2300); // engine.io pings (pingInterval 1 s)
    chatA.disconnect();
    await sleep(100);
    const bClosed = once(chatB, 'disconnect');
    chatB.emit('kick-me');
    await bClosed;
  } else {
    await sleep(2300);
  }
  root.disconnect();
  await sleep(300);
  await new Promise((resolve) => io.close(resolve));
  check(events);
}

async function v2(o, truth) {
  const io = req('socket.io')(o.port, { pingInterval: 1000, pingTimeout: 5000, serveClient: false });
  const client = req('socket.io-client');
  const events = hookServer(truth);
  serverRoot(io, { binary: true });
  io.of('/chat').on('connection', (s) => {
    s.on('msg', (text, cb) => cb({ echo: text }));
  });
  const url = `http://127.0.0.1:${o.port}`;
  const root = client(url, { transports: ['websocket'] });
  root.on('question', (q, cb) => cb('yes'));
  await once(root, 'connect');
  root.emit('hello', 'world', 42, { nested: { list: [1, 2, 3], flag: true }, nil: null });
  const sum = await ack(root, 'add', 2, 3);
  if (sum[0] !== 5) throw new Error(`add: ${sum}`);
  const up = await ack(root, 'upload', { name: 'blob.bin' }, Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80]));
  if (up[0].size !== 6) throw new Error(`upload: ${JSON.stringify(up)}`);
  const got = Promise.all([once(root, 'welcome'), once(root, 'file')]);
  await ack(root, 'please');
  await got;
  const chat = client(`${url}/chat`, { transports: ['websocket'] });
  await once(chat, 'connect');
  const echo = await ack(chat, 'msg', 'hello chat');
  if (echo[0].echo !== 'hello chat') throw new Error(`msg: ${echo}`);
  await sleep(2300);
  chat.disconnect();
  await sleep(100);
  root.disconnect();
  await sleep(300);
  io.close();
  await sleep(200);
  check(events);
}

main(async (o, truth) => {
  switch (o.scenario) {
    case 'socketio-v4': return v4(o, truth, false);
    case 'socketio-polling-upgrade': return v4(o, truth, true);
    case 'socketio-v2': return v2(o, truth);
    default: throw new Error(`unknown scenario ${o.scenario}`);
  }
});
