// mqttws.js: the MQTT recordings of scripts/record-app.sh: two mqtt.js
// clients over ws://127.0.0.1:PORT/mqtt against a broker in this process.
//
//   node mqttws.js --scenario mqtt-v311|mqtt-v5 --port N --truth FILE
//
// mqtt-v311: the aedes broker (aedes.handle on ws's createWebSocketStream,
// as aedes' docs show). mqtt-v5: aedes 1.2 does not speak MQTT 5, so
// mqtt5broker.js (mqtt-packet over ws) is the broker; mqtt.js is the
// library under test either way.
//
// The truth is what the two mqtt.js clients logged with their
// 'packetsend' and 'packetreceive' events (mqtt-packet objects), both
// directions, mapped to the fields of the app layer's contract: the cmd
// upper-cased as the type, the topic (PUBLISH) or first topic filter
// (SUBSCRIBE, UNSUBSCRIBE) as the name, messageId as the id. v5 properties
// are keyed by their names in snake_case (userProperties as user_property
// [[key, value], ...]); mqtt-packet's booleans for one-byte properties
// (payloadFormatIndicator, requestProblemInformation, ...) as the 0 or 1
// on the wire.
'use strict';

const http = require('http');
const { main, blob, sleep } = require('./truth.js');

const BOOL_PROPS = new Set(['payloadFormatIndicator', 'requestProblemInformation', 'requestResponseInformation',
  'retainAvailable', 'wildcardSubscriptionAvailable', 'subscriptionIdentifiersAvailable', 'sharedSubscriptionAvailable']);

function snake(s) {
  return s.replace(/[A-Z]/g, (m) => `_${m.toLowerCase()}`);
}

function props(p) {
  if (!p || !Object.keys(p).length) return undefined;
  const o = {};
  for (const [k, v] of Object.entries(p)) {
    if (k === 'userProperties') {
      const list = [];
      for (const [uk, uv] of Object.entries(v)) {
        for (const one of Array.isArray(uv) ? uv : [uv]) list.push([uk, String(one)]);
      }
      o.user_property = list;
    } else if (k === 'maximumQoS') {
      o.maximum_qos = v;
    } else if (BOOL_PROPS.has(k)) {
      o[snake(k)] = v ? 1 : 0;
    } else if (Buffer.isBuffer(v)) {
      Object.assign(o, blob(snake(k), v));
    } else {
      o[snake(k)] = v;
    }
  }
  return o;
}

// unit maps one mqtt-packet object to [type, name, id, fields].
function unit(p, v5) {
  const type = p.cmd.toUpperCase();
  let name = null;
  const f = {};
  switch (p.cmd) {
    case 'connect':
      f.client_id = p.clientId;
      f.protocol_level = p.protocolVersion;
      f.clean_session = p.clean;
      f.keep_alive = p.keepalive;
      if (p.username !== undefined) f.username = p.username;
      if (p.will) f.will_topic = p.will.topic;
      break;
    case 'connack':
      f.session_present = p.sessionPresent;
      if (v5) f.reason_code = p.reasonCode;
      else f.return_code = p.returnCode;
      break;
    case 'publish':
      name = p.topic;
      f.qos = p.qos;
      f.retain = p.retain;
      f.dup = p.dup;
      Object.assign(f, blob('payload', typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload));
      break;
    case 'subscribe':
      name = p.subscriptions[0].topic;
      f.topics = p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos }));
      break;
    case 'suback':
      f.codes = p.granted;
      break;
    case 'unsubscribe':
      name = p.unsubscriptions[0];
      f.topics = p.unsubscriptions;
      break;
    case 'unsuback':
      if (p.granted) f.codes = p.granted;
      break;
    case 'puback': case 'pubrec': case 'pubrel': case 'pubcomp': case 'disconnect': case 'auth':
      if (v5 && p.reasonCode !== undefined) f.reason_code = p.reasonCode;
      break;
    default:
      break;
  }
  if (v5) f.properties = props(p.properties);
  const id = (p.cmd !== 'publish' || p.qos > 0) && ['publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback'].includes(p.cmd) &&
    p.messageId !== undefined ? p.messageId : undefined;
  return [type, name, id, f];
}

function once(emitter, ev) {
  return new Promise((resolve) => emitter.once(ev, (...a) => resolve(a)));
}

function call(fn) {
  return new Promise((resolve, reject) => fn((err, ...r) => (err ? reject(err) : resolve(r))));
}

async function startBroker(o, v5) {
  const server = http.createServer();
  let close;
  if (v5) {
    const wss = require('./mqtt5broker.js').startBroker(server);
    close = () => wss.close();
  } else {
    // aedes 1.x is an ES module: import it from NODE_PATH by its path.
    const path = require('path');
    const dir = (process.env.NODE_PATH || '').split(path.delimiter).find((d) => d && require('fs').existsSync(path.join(d, 'aedes')));
    const { Aedes } = await import(path.join(dir, 'aedes', 'aedes.js'));
    const { WebSocketServer, createWebSocketStream } = require('ws');
    const aedes = await Aedes.createBroker();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (websocket, req) => aedes.handle(createWebSocketStream(websocket), req));
    close = () => { wss.close(); aedes.close(); };
  }
  await new Promise((resolve) => server.listen(o.port, '127.0.0.1', resolve));
  return () => { close(); server.close(); };
}

async function run(o, truth, v5) {
  const mqtt = require('mqtt');
  const stop = await startBroker(o, v5);
  const url = `ws://127.0.0.1:${o.port}/mqtt`;
  let nws = 0;
  const client = async (clientId, extra) => {
    const ws = ++nws;
    const c = mqtt.connect(url, {
      clientId, protocolVersion: v5 ? 5 : 4, keepalive: 1, clean: true, reconnectPeriod: 0, manualConnect: true, ...extra,
    });
    c.on('packetsend', (p) => truth.add(ws, 'client', 'mqtt', ...unit(p, v5)));
    c.on('packetreceive', (p) => truth.add(ws, 'server', 'mqtt', ...unit(p, v5)));
    c.on('error', (err) => console.error(`${clientId}: ${err.message}`));
    const connected = once(c, 'connect');
    c.connect(); // after the listeners: CONNECT is written at once
    await connected;
    return c;
  };

  // Publisher (WebSocket 1): a retained status before the subscriber exists.
  const pub = await client('wscap-pub', {
    username: 'sensor', password: 'secret',
    will: { topic: 'status/device1', payload: Buffer.from('offline'), qos: 1, retain: true },
    ...(v5 ? { properties: { sessionExpiryInterval: 0, receiveMaximum: 16, userProperties: { app: 'wscap-recorder' } } } : {}),
  });
  await call((cb) => pub.publish('status/device1', 'online', { qos: 1, retain: true }, cb));

  // Subscriber (WebSocket 2): two filters, QoS 0 and 1; the retained status arrives.
  const sub = await client('wscap-sub', {});
  const got = [];
  sub.on('message', (topic) => got.push(topic));
  const retainedIn = once(sub, 'message');
  await call((cb) => sub.subscribe([
    { topic: 'sensors/+/temp', qos: 0 }, { topic: 'status/#', qos: 1 },
  ].reduce((m, s) => ({ ...m, [s.topic]: { qos: s.qos } }), {}), cb));
  await retainedIn;

  const text = v5 ? {
    properties: { userProperties: { unit: 'celsius', site: ['a', 'b'] }, messageExpiryInterval: 60, contentType: 'text/plain', payloadFormatIndicator: true },
  } : {};
  const bin = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x01, 0x02, 0x03, 0xc3, 0x28]);
  const big = Buffer.alloc(20000);
  for (let i = 0; i < big.length; i++) big[i] = 0x41 + (i % 26); // 20,000 bytes of A..Z
  const n = got.length;
  await call((cb) => pub.publish('sensors/t1/temp', '21.5', { qos: 0, ...text }, cb));
  await call((cb) => pub.publish('status/device1/blob', bin, { qos: 1, ...(v5 ? { properties: { contentType: 'application/octet-stream' } } : {}) }, cb));
  await call((cb) => pub.publish('status/device1/big', big, { qos: 2 }, cb));
  for (let i = 0; i < 50 && got.length < n + 3; i++) await sleep(20);
  if (got.length < n + 3) throw new Error(`subscriber got ${got.length - n} of 3 messages`);

  await call((cb) => sub.unsubscribe('sensors/+/temp', cb));
  await call((cb) => pub.publish('sensors/t1/temp', '22.0', { qos: 0 }, cb)); // no longer delivered
  await sleep(2300); // keepalive 1 s: PINGREQ / PINGRESP
  // The retained status is cleared (empty retained payload), then both leave.
  await call((cb) => pub.publish('status/device1', '', { qos: 1, retain: true }, cb));
  await sleep(100);
  const bye = v5 ? { reasonCode: 0, properties: { reasonString: 'session done', sessionExpiryInterval: 0 } } : {};
  await new Promise((resolve) => sub.end(false, bye, resolve));
  await new Promise((resolve) => pub.end(false, bye, resolve));
  await sleep(300);
  stop();
}

main(async (o, truth) => {
  switch (o.scenario) {
    case 'mqtt-v311': return run(o, truth, false);
    case 'mqtt-v5': return run(o, truth, true);
    default: throw new Error(`unknown scenario ${o.scenario}`);
  }
});
