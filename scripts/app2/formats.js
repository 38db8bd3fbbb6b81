// formats.js: binary payload formats over WebSocket, for
// scripts/record-app2.sh: a `ws` server and a `ws` client on
// /formats?fmt=F exchange a few JSON text messages and binary messages
// encoded by the format's own library:
//
// --variant msgpack   @msgpack/msgpack encode/decode (maps, arrays,
//                     nesting, binary, integers of every width, float64,
//                     nil, booleans)
// --variant cbor      cbor-x (Encoder with useRecords and tag 259 off: the
//                     same values, plus a map with integer keys, a Date,
//                     which cbor-x writes as tag 1, and a tag 32 URI)
// --variant protobuf  protobufjs with testdata/real/app/formats.proto
//                     (every binary message is a wscap.test.Envelope:
//                     nested messages, repeated, enums, string, bytes,
//                     int64, sint64, fixed32, a map, a oneof)
//
// The client sends a JSON hello (object), then each value, then a JSON
// bye (array); the server answers each binary message with a binary ack in
// the same format and each JSON message with a JSON message; the client
// closes with 1000.
//
// Truth: every message either side sent (tap.js), decoded by the format's
// library: proto msgpack/cbor with fields {"value": the decoded value as
// JSON, binary as {"base64": ...}, maps' keys as their JSON text, CBOR
// tags as {"tag": N, "value": ...}}; protobuf with type "message" and
// fields {"decoded": Envelope.toObject(m, {longs: String, enums: String,
// bytes: String, json: true})}; JSON text as proto json with {"value"}.
'use strict';

const path = require('path');
const tap = require('./tap.js');

tap.tapAll([tap.libDir('ws')]);
const { WebSocketServer, WebSocket } = require('ws');
const msgpack = require('@msgpack/msgpack');
const cbor = require('cbor-x');
const protobuf = require('protobufjs');

const PROTO = path.join(__dirname, '..', '..', 'testdata', 'real', 'app', 'formats.proto');

const bin = (...b) => Uint8Array.from(b);

function commonValues() {
  return [
    { type: 'reading', sensor: 't1', value: 21.5, unit: '°C', ok: true, note: null },
    [1, -1, 127, 128, -33, 255, 256, 65535, 65536, -129, -32769, 4294967295, 4294967296, -2147483649, 9007199254740991, -9007199254740991],
    { nested: { level1: { level2: { level3: ['deep', { x: 1 }] } } }, empty_map: {}, empty_array: [] },
    { blob: bin(0, 1, 2, 0xfe, 0xff, 0x80, 0x7f), text: 'binary next to text', sizes: [0.1, -2.75, 1e300, 3.0e-5] },
    ['mixed', 42, false, null, { k: 'v' }, bin(0xde, 0xad, 0xbe, 0xef), 'üñíçødé ✓'],
  ];
}

function intKeyMap() {
  return new Map([[1, 'one'], [2, 'two'], [300, 'three hundred']]);
}

function formatFor(variant) {
  if (variant === 'msgpack') {
    // @msgpack/msgpack encodes no Map (a JS Map becomes an empty map), so
    // integer keys are left to CBOR.
    const values = commonValues();
    return {
      values,
      encode: (v) => msgpack.encode(v),
      decode: (b) => msgpack.decode(b),
      ack: (seq) => ({ ack: seq, ok: true, server_time: 1763719200 + seq }),
    };
  }
  if (variant === 'cbor') {
    const enc = new cbor.Encoder({ useRecords: false, useTag259ForMaps: false, tagUint8Array: false });
    const values = [...commonValues(), intKeyMap(),
      { event: 'boot', at: new Date('2026-11-21T10:00:00Z'), precise: new Date(1763719200123), home: new cbor.Tag('https://wscap.test/', 32) }];
    return {
      values,
      encode: (v) => enc.encode(v),
      decode: (b) => enc.decode(b),
      ack: (seq) => ({ ack: seq, ok: true, server_time: 1763719200 + seq }),
    };
  }
  throw new Error(`no format ${variant}`);
}

// toJSONValue: the decoded value as the truth's JSON.
function toJSONValue(v) {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error('non-finite number in a value');
    return v;
  }
  if (typeof v === 'bigint') throw new Error('bigint in a value');
  if (v instanceof Uint8Array) return { base64: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return { tag: 1, value: v.getTime() / 1000 };
  if (v instanceof cbor.Tag) return { tag: v.tag, value: toJSONValue(v.value) };
  if (Array.isArray(v)) return v.map(toJSONValue);
  if (v instanceof Map) {
    const o = {};
    for (const [k, x] of v) o[typeof k === 'string' ? k : JSON.stringify(k)] = toJSONValue(x);
    return o;
  }
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v)) o[k] = toJSONValue(v[k]);
    return o;
  }
  throw new Error(`cannot represent ${typeof v}`);
}

function kindOf(v) {
  if (Array.isArray(v)) return 'array';
  if (v instanceof Uint8Array) return 'bytes';
  if (v !== null && typeof v === 'object') return 'object';
  return typeof v === 'string' ? 'string' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'boolean' : 'null';
}

const TO_OBJECT = { longs: String, enums: String, bytes: String, json: true };

async function protobufFormat() {
  const root = await protobuf.load(PROTO);
  const Envelope = root.lookupType('wscap.test.Envelope');
  const mk = (o) => {
    const err = Envelope.verify(o);
    if (err) throw new Error(`Envelope.verify: ${err}`);
    return o;
  };
  const values = [
    mk({ seq: 1, note: 'hello, protobuf' }),
    mk({
      seq: 2,
      device: {
        id: 'dev-0042', kind: 1, location: { lat: 48.8566, lon: 2.3522 },
        readings: [
          { name: 'temperature', value: 21.5, atMs: protobuf.util.Long.fromString('1763719200123'), deltas: [1, -1, 64, -65, 0] },
          { name: 'humidity', value: 0.43, atMs: protobuf.util.Long.fromString('1763719200456'), deltas: [] },
        ],
        firmwareHash: Buffer.from('9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08', 'hex'),
        serial: protobuf.util.Long.fromString('9007199254740993'),
        tags: ['roof', 'north', 'ünïcode'],
        online: true,
        labels: { site: 'paris-1', rack: 'r7' },
        crc: 0xdeadbeef,
        offset: protobuf.util.Long.fromString('-1234567890123'),
      },
      kinds: [1, 2, 3],
    }),
    mk({ seq: 3, device: { id: 'gw-1', kind: 3, online: false, serial: protobuf.util.Long.fromString('-5') } }),
    mk({ seq: 4, note: '' }),
  ];
  return {
    values,
    Envelope,
    encode: (v) => Envelope.encode(Envelope.fromObject(v)).finish(),
    decode: (b) => Envelope.decode(b),
    ack: (seq) => ({ seq: 1000 + seq, ack: { seq, ok: seq !== 3, error: seq === 3 ? 'device offline' : '' } }),
  };
}

function truthOf(log, variant, fmt) {
  return log.map((e) => {
    if (!e.binary) {
      const v = JSON.parse(e.data.toString('utf8'));
      return tap.line(e, 'json', kindOf(v), null, undefined, { value: v });
    }
    if (variant === 'protobuf') {
      const m = fmt.decode(e.data);
      return tap.line(e, 'protobuf', 'message', null, undefined, { decoded: fmt.Envelope.toObject(m, TO_OBJECT) });
    }
    const v = fmt.decode(e.data);
    return tap.line(e, variant, kindOf(v), null, undefined, { value: toJSONValue(v) });
  });
}

tap.main(async (o) => {
  const fmt = o.variant === 'protobuf' ? await protobufFormat() : formatFor(o.variant);
  // Each value must come back from the wire as it was sent (a check on
  // toJSONValue's reading of the format, e.g. CBOR's tag 1 seconds).
  for (const v of fmt.values) {
    const back = fmt.decode(fmt.encode(v));
    if (o.variant !== 'protobuf' && JSON.stringify(toJSONValue(back)) !== JSON.stringify(toJSONValue(v))) {
      throw new Error(`round trip changed ${JSON.stringify(toJSONValue(v))}`);
    }
  }
  const wss = new WebSocketServer({ host: '127.0.0.1', port: o.port, path: '/formats' });
  await new Promise((r) => wss.on('listening', r));
  const serverDone = new Promise((resolve) => {
    wss.on('connection', (ws) => {
      ws.on('close', resolve);
      ws.on('message', (data, isBinary) => {
        if (!isBinary) {
          const m = JSON.parse(data.toString());
          if (Array.isArray(m)) ws.send(JSON.stringify([{ type: 'bye', received: ws.seq }, { type: 'stats', binary_messages: ws.seq }]));
          else ws.send(JSON.stringify({ type: 'welcome', format: m.format, accepts: ['application/json', `application/${m.format}`] }));
          return;
        }
        const v = fmt.decode(data);
        ws.seq++;
        const seq = o.variant === 'protobuf' ? v.seq : ws.seq;
        ws.send(fmt.encode(fmt.ack(seq)));
      });
      ws.seq = 0;
    });
  });
  const ws = new WebSocket(`ws://127.0.0.1:${o.port}/formats?fmt=${o.variant}`, { perMessageDeflate: false });
  await new Promise((r, j) => { ws.on('open', r); ws.on('error', j); });
  const replies = [];
  let want = 1 + fmt.values.length + 1;
  const all = new Promise((resolve) => {
    ws.on('message', (d, isBinary) => {
      replies.push(isBinary ? `binary ${d.length} bytes` : d.toString());
      if (--want === 0) resolve();
    });
  });
  ws.send(JSON.stringify({ type: 'hello', format: o.variant, client: 'wscap-recorder' }));
  await tap.sleep(20);
  for (const v of fmt.values) {
    ws.send(fmt.encode(v));
    await tap.sleep(10);
  }
  ws.send(JSON.stringify([{ type: 'bye', sent: fmt.values.length }]));
  await Promise.race([all, tap.sleep(2000)]);
  if (want !== 0) throw new Error(`${want} replies missing`);
  console.error(`formats: ${o.variant}: ${fmt.values.length} values sent, replies: ${replies.join(' | ')}`);
  ws.close(1000, 'done');
  await serverDone;
  await new Promise((r) => wss.close(r));
  tap.writeTruth(o.truth, truthOf(tap.log, o.variant, fmt));
});
