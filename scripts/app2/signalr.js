// signalr.js: the ASP.NET Core SignalR hub protocol over WebSocket, for
// scripts/record-app2.sh: the @microsoft/signalr HubConnection (transport
// WebSockets) against a minimal hub server written here on `ws`, which
// reads and writes hub messages with the library's own JsonHubProtocol or
// MessagePackHubProtocol (@microsoft/signalr-protocol-msgpack).
//
// --variant json: the client negotiates first (POST
//   /hub/negotiate?negotiateVersion=1 on the same port), then opens
//   /hub?id=<connectionToken>; text frames, records ended by 0x1E.
// --variant messagepack: skipNegotiation, /hub directly; binary frames,
//   each message prefixed by its varint length.
//
// Session: handshake request and the server's empty answer; invoke Add(2,3)
// -> Completion 5; send Log(...) (no invocation id); the server invokes
// ReceiveMessage("server", ...) on the client; invoke Fail -> Completion
// with an error; the server invokes GetClientInfo with an invocation id
// (a client result: the client answers with a Completion); stream
// Counter(3, 10) -> StreamItems 10, 11, 12 and a Completion; stream Ticker,
// cancelled after 2 items (CancelInvocation); send Upload(subject) with a
// client-to-server stream (streamIds, 2 StreamItems, a Completion); a Ping
// from the server and the client's keep-alive Pings; the client stops
// (Close) and the socket closes.
//
// Truth: every message either side sent (tap.js), parsed by the library's
// protocol (parseMessages), plus the two handshake messages.
'use strict';

const http = require('http');
const tap = require('./tap.js');

tap.tapAll([tap.libDir('@microsoft/signalr'), tap.libDir('ws')]);
const signalR = require('@microsoft/signalr');
const { MessagePackHubProtocol } = require('@microsoft/signalr-protocol-msgpack');
const { WebSocketServer } = require('ws');

const { MessageType } = signalR;
const typeName = {
  1: 'Invocation', 2: 'StreamItem', 3: 'Completion', 4: 'StreamInvocation', 5: 'CancelInvocation',
  6: 'Ping', 7: 'Close', 8: 'Ack', 9: 'Sequence',
};
const RS = '\x1e';

function protocolFor(variant) {
  return variant === 'messagepack' ? new MessagePackHubProtocol() : new signalR.JsonHubProtocol();
}

// The library's parsers read only what a client receives: JsonHubProtocol
// and MessagePackHubProtocol skip StreamInvocation and CancelInvocation
// (types 4 and 5). parseHub uses the library's parser for every message
// and, for those two, the record itself: JSON.parse of the JSON record, or
// the MessagePack array [4, headers, invocationId, target, arguments,
// streamIds] / [5, headers, invocationId] (and an Invocation's streamIds,
// which MessagePackHubProtocol drops too) decoded with the @msgpack/msgpack
// copy the msgpack protocol uses.
const msgpack = require(require.resolve('@msgpack/msgpack', { paths: [tap.libDir('@microsoft/signalr-protocol-msgpack')] }));

function parseHub(proto, input, variant) {
  const out = [];
  if (variant === 'json') {
    for (const rec of input.split(RS)) {
      if (rec === '') continue;
      const lib = proto.parseMessages(rec + RS, signalR.NullLogger.instance);
      if (lib.length) out.push(...lib);
      else out.push(JSON.parse(rec));
    }
    return out;
  }
  const buf = new Uint8Array(input);
  let off = 0;
  while (off < buf.length) {
    let size = 0;
    let shift = 0;
    let start = off;
    for (;;) {
      const b = buf[off++];
      size |= (b & 0x7f) << shift;
      shift += 7;
      if (b < 0x80) break;
    }
    const chunk = buf.slice(start, off + size);
    const body = buf.slice(off, off + size);
    off += size;
    const lib = proto.parseMessages(chunk.buffer, signalR.NullLogger.instance);
    const a = msgpack.decode(body);
    if (lib.length) {
      // The library's parser drops an Invocation's streamIds (element 5).
      if (lib.length === 1 && a[0] === MessageType.Invocation && Array.isArray(a[5])) lib[0].streamIds = a[5];
      out.push(...lib);
      continue;
    }
    if (a[0] === MessageType.StreamInvocation) {
      const m = { type: a[0], headers: a[1], invocationId: a[2], target: a[3], arguments: a[4] };
      if (a.length > 5) m.streamIds = a[5];
      out.push(m);
    } else if (a[0] === MessageType.CancelInvocation) {
      out.push({ type: a[0], headers: a[1], invocationId: a[2] });
    } else {
      throw new Error(`a message the library did not parse: ${JSON.stringify(a)}`);
    }
  }
  return out;
}

function truthOf(log, variant) {
  const proto = protocolFor(variant);
  const lines = [];
  const targets = new Map(); // `${ws} ${invocationId}` -> target
  const handshaken = new Set();
  for (const e of log) {
    const key = `${e.ws} ${e.from}`;
    if (!handshaken.has(key)) {
      // The handshake request and response are JSON text records, whatever
      // the hub protocol.
      handshaken.add(key);
      const text = e.data.toString('utf8');
      if (!text.endsWith(RS)) throw new Error(`handshake without a record separator: ${JSON.stringify(text)}`);
      const h = JSON.parse(text.slice(0, -1));
      const fields = {};
      if ('protocol' in h) fields.protocol = h.protocol;
      if ('version' in h) fields.version = h.version;
      if ('error' in h) fields.error = h.error;
      lines.push(tap.line(e, 'signalr', 'handshake', null, undefined, fields));
      continue;
    }
    const input = e.binary ? e.data.buffer.slice(e.data.byteOffset, e.data.byteOffset + e.data.length) : e.data.toString('utf8');
    for (const m of parseHub(proto, input, variant)) {
      const type = typeName[m.type];
      const fields = { encoding: variant };
      let name = null;
      if (m.type === MessageType.Invocation || m.type === MessageType.StreamInvocation) {
        name = m.target;
        if (m.invocationId !== undefined && m.invocationId !== null) targets.set(`${e.ws} ${m.invocationId}`, m.target);
        fields.arguments = m.arguments;
        if (m.streamIds && m.streamIds.length) fields.stream_ids = m.streamIds;
      } else if (m.type === MessageType.StreamItem || m.type === MessageType.Completion) {
        name = targets.get(`${e.ws} ${m.invocationId}`) || null;
        if (m.type === MessageType.StreamItem) fields.item = m.item;
        if ('result' in m && m.result !== undefined) fields.result = m.result;
        if (m.error !== undefined && m.error !== null) fields.error = m.error;
      } else if (m.type === MessageType.Close) {
        if (m.error !== undefined && m.error !== null) fields.error = m.error;
      }
      if (m.headers && Object.keys(m.headers).length) fields.headers = m.headers;
      lines.push(tap.line(e, 'signalr', type, name, m.invocationId === null ? undefined : m.invocationId, fields));
    }
  }
  return lines;
}

// startHub: the hub server. Resolves with {server, closed}.
async function startHub(o) {
  const proto = protocolFor(o.variant);
  const wss = new WebSocketServer({ noServer: true });
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url.startsWith('/hub/negotiate')) {
      req.resume();
      req.on('end', () => {
        const body = JSON.stringify({
          negotiateVersion: 1,
          connectionId: 'wKq3vYl5sV2Zy0bT1cQx8A',
          connectionToken: 'Y2FwdHVyZWQtYnktd3NjYXA',
          availableTransports: [{ transport: 'WebSockets', transferFormats: ['Text', 'Binary'] }],
        });
        res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
        res.end(body);
      });
      return;
    }
    res.writeHead(404).end();
  });
  server.on('upgrade', (req, socket, head) => {
    if (!req.url.startsWith('/hub')) return socket.destroy();
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  let closed;
  const done = new Promise((r) => { closed = r; });
  wss.on('connection', (ws, req) => {
    console.error(`signalr: hub connection ${req.url}`);
    let handshaken = false;
    const send = (m) => ws.send(proto.writeMessage(m));
    const timers = new Map();
    ws.on('close', () => {
      for (const t of timers.values()) clearInterval(t);
      closed();
    });
    ws.on('message', (data, isBinary) => {
      if (process.env.DEBUG) console.error("hub raw", JSON.stringify(data.toString()));
      if (!handshaken) {
        const h = JSON.parse(data.toString('utf8').split(RS)[0]);
        console.error(`signalr: handshake ${JSON.stringify(h)}`);
        handshaken = true;
        ws.send(`{}${RS}`);
        return;
      }
      const input = isBinary ? data.buffer.slice(data.byteOffset, data.byteOffset + data.length) : data.toString('utf8');
      for (const m of parseHub(proto, input, o.variant)) {
        if (process.env.DEBUG) console.error("hub got", JSON.stringify(m));
        handle(m);
      }
    });
    let upload = [];
    let askId = null;
    function handle(m) {
      switch (m.type) {
        case MessageType.Invocation:
          switch (m.target) {
            case 'Add':
              send({ type: MessageType.Completion, invocationId: m.invocationId, result: m.arguments.reduce((a, b) => a + b, 0) });
              break;
            case 'Log':
              send({ type: MessageType.Invocation, target: 'ReceiveMessage', arguments: ['server', `logged: ${m.arguments[0]}`] });
              break;
            case 'Fail':
              send({ type: MessageType.Completion, invocationId: m.invocationId, error: `An unexpected error occurred invoking 'Fail' on the server. HubException: ${m.arguments[0]}` });
              break;
            case 'AskClient':
              send({ type: MessageType.Invocation, invocationId: 's1', target: 'GetClientInfo', arguments: ['version'] });
              askId = m.invocationId;
              break;
            case 'Upload':
              upload = [];
              break;
            default:
              if (m.invocationId) send({ type: MessageType.Completion, invocationId: m.invocationId, error: `Unknown hub method '${m.target}'` });
          }
          break;
        case MessageType.StreamInvocation:
          if (m.target === 'Counter') {
            const [n, from] = m.arguments;
            for (let i = 0; i < n; i++) send({ type: MessageType.StreamItem, invocationId: m.invocationId, item: from + i });
            send({ type: MessageType.Completion, invocationId: m.invocationId });
          } else if (m.target === 'Ticker') {
            let i = 0;
            timers.set(m.invocationId, setInterval(() => {
              send({ type: MessageType.StreamItem, invocationId: m.invocationId, item: { tick: ++i, price: 100 + i / 4 } });
            }, 40));
          }
          break;
        case MessageType.CancelInvocation:
          clearInterval(timers.get(m.invocationId));
          timers.delete(m.invocationId);
          break;
        case MessageType.StreamItem:
          upload.push(m.item);
          break;
        case MessageType.Completion:
          if (m.invocationId === 's1') {
            console.error(`signalr: client result ${JSON.stringify(m.result)}`);
            send({ type: MessageType.Completion, invocationId: askId, result: `client says ${m.result.client}` });
          }
          else {
            console.error(`signalr: upload ${m.invocationId} done: ${JSON.stringify(upload)}`);
            send({ type: MessageType.Ping });
          }
          break;
        case MessageType.Ping:
          break;
        case MessageType.Close:
          console.error(`signalr: client Close ${JSON.stringify(m)}`);
          break;
        default:
          console.error(`signalr: unexpected ${JSON.stringify(m)}`);
      }
    }
  });
  await new Promise((r) => server.listen(o.port, '127.0.0.1', r));
  return { server, done };
}

tap.main(async (o) => {
  if (!['json', 'messagepack'].includes(o.variant)) throw new Error('--variant json or messagepack');
  const hub = await startHub(o);
  const builder = new signalR.HubConnectionBuilder()
    .configureLogging(process.env.DEBUG ? signalR.LogLevel.Trace : signalR.LogLevel.Warning);
  if (o.variant === 'messagepack') {
    builder.withUrl(`http://127.0.0.1:${o.port}/hub`, { transport: signalR.HttpTransportType.WebSockets, skipNegotiation: true })
      .withHubProtocol(new MessagePackHubProtocol());
  } else {
    builder.withUrl(`http://127.0.0.1:${o.port}/hub`, { transport: signalR.HttpTransportType.WebSockets });
  }
  const conn = builder.build();
  const received = [];
  conn.on('ReceiveMessage', (user, text) => { received.push([user, text]); });
  conn.on('GetClientInfo', (what) => ({ what, client: 'wscap-recorder', signalr: signalR.VERSION }));
  await conn.start();
  console.error(`signalr: connected, protocol ${conn._protocol.name}`);
  console.error(`signalr: Add -> ${await conn.invoke('Add', 2, 3)}`);
  await conn.send('Log', 'hello from the client', { level: 2, tags: ['a', 'b'] });
  console.error(`signalr: Fail -> ${await conn.invoke('Fail', 'out of stock').catch((err) => err.message)}`);
  await conn.invoke('AskClient');
  const counter = await new Promise((resolve, reject) => {
    const items = [];
    conn.stream('Counter', 3, 10).subscribe({ next: (i) => items.push(i), complete: () => resolve(items), error: reject });
  });
  console.error(`signalr: Counter -> ${JSON.stringify(counter)}`);
  const ticks = await new Promise((resolve, reject) => {
    const items = [];
    const sub = conn.stream('Ticker').subscribe({
      next: (i) => {
        items.push(i);
        if (items.length === 2) {
          sub.dispose();
          resolve(items);
        }
      },
      complete: () => resolve(items),
      error: reject,
    });
  });
  console.error(`signalr: Ticker -> ${JSON.stringify(ticks)}`);
  const subject = new signalR.Subject();
  await conn.send('Upload', subject);
  subject.next({ chunk: 1, data: 'first' });
  subject.next({ chunk: 2, data: 'second' });
  subject.complete();
  // Idle long enough for the client's keep-alive Ping.
  conn.keepAliveIntervalInMilliseconds = 150;
  await conn.send('Log', 'now idle');
  await tap.sleep(400);
  console.error(`signalr: received ${JSON.stringify(received)}`);
  await conn.stop();
  await hub.done;
  await new Promise((r) => hub.server.close(r));
  tap.writeTruth(o.truth, truthOf(tap.log, o.variant));
});
