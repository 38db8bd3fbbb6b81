// jsonrpc.js: JSON-RPC 2.0 over WebSocket with rpc-websockets (its Server
// and its Client, in this process), for scripts/record-app2.sh.
//
// Connection 1 (rpc-websockets Client): a call with positional params
// (sum [2,3]), one with named params (greet {name,punctuation}), a
// notification (log), a call whose handler throws (fail -> error -32000),
// a call of a method that does not exist (-32601), rpc.on for the event
// "feed" (rpc-websockets' own subscription call), two "feed" events from
// the server, rpc.off, close.
// Connection 2 (a raw `ws` client, as the rpc-websockets Client has no
// batch call): one batch of two requests, a notification and a call of a
// missing method; the server answers with one batch of three responses.
//
// Truth: every message either side's library sent (tap.js), parsed as
// JSON-RPC 2.0. rpc-websockets' event messages ({"notification": name,
// "params": ...}, no "jsonrpc" and no "method") are not JSON-RPC 2.0 and
// get no truth line.
'use strict';

const tap = require('./tap.js');

tap.tapAll([tap.libDir('rpc-websockets'), tap.libDir('ws')]);
const { Server, Client } = require('rpc-websockets');
const WebSocket = require('ws');

function truthOf(log) {
  const lines = [];
  const methods = new Map(); // `${ws} ${from} ${id}` -> method of a request
  const unit = (e, m) => {
    if (m === null || typeof m !== 'object' || Array.isArray(m)) return null;
    if (typeof m.method === 'string' && m.jsonrpc === '2.0') {
      if ('id' in m) {
        methods.set(`${e.ws} ${e.from} ${JSON.stringify(m.id)}`, m.method);
        return tap.line(e, 'json-rpc', 'request', m.method, m.id, 'params' in m ? { params: m.params } : {});
      }
      return tap.line(e, 'json-rpc', 'notification', m.method, undefined, 'params' in m ? { params: m.params } : {});
    }
    if (m.jsonrpc === '2.0' && ('result' in m || 'error' in m)) {
      const other = e.from === 'client' ? 'server' : 'client';
      const name = methods.get(`${e.ws} ${other} ${JSON.stringify(m.id)}`) || null;
      if ('error' in m) return tap.line(e, 'json-rpc', 'error', name, m.id, { error: m.error });
      return tap.line(e, 'json-rpc', 'response', name, m.id, { result: m.result });
    }
    return null; // rpc-websockets' own event messages
  };
  for (const e of log) {
    const m = JSON.parse(e.data.toString('utf8'));
    if (Array.isArray(m)) {
      lines.push(tap.line(e, 'json-rpc', 'batch', null, undefined, { count: m.length }));
      for (const x of m) {
        const l = unit(e, x);
        if (l) lines.push(l);
      }
      continue;
    }
    const l = unit(e, m);
    if (l) lines.push(l);
  }
  return lines;
}

tap.main(async (o) => {
  const server = new Server({ port: o.port, host: '127.0.0.1' });
  await new Promise((r) => server.on('listening', r));
  server.register('sum', (params) => params.reduce((a, b) => a + b, 0));
  server.register('greet', (p) => `Hello, ${p.name}${p.punctuation || '.'}`);
  const logged = [];
  server.register('log', (p) => { logged.push(p); });
  server.register('fail', () => { throw new Error('the sensor is offline'); });
  server.event('feed');

  const client = new Client(`ws://127.0.0.1:${o.port}/`, { reconnect: false });
  await new Promise((r) => client.on('open', r));
  const results = {};
  results.sum = await client.call('sum', [2, 3]);
  results.greet = await client.call('greet', { name: 'Ada', punctuation: '!' });
  await client.notify('log', { level: 'info', text: 'client ready' });
  results.fail = await client.call('fail', { sensor: 7 }).catch((err) => err);
  results.missing = await client.call('no.such.method', [1]).catch((err) => err);
  const got = [];
  client.on('feed', (...a) => got.push(a));
  results.subscribe = await client.subscribe('feed');
  await tap.sleep(50);
  server.emit('feed', { seq: 1, price: 101.25, symbol: 'WSC' });
  server.emit('feed', { seq: 2, price: 99.5, symbol: 'WSC' });
  await tap.sleep(100);
  results.unsubscribe = await client.unsubscribe('feed');
  results.events = got;
  console.error(`jsonrpc: client 1 got ${JSON.stringify(results)}`);
  client.close();
  await tap.sleep(200);

  const raw = new WebSocket(`ws://127.0.0.1:${o.port}/`);
  await new Promise((r, j) => { raw.on('open', r); raw.on('error', j); });
  const answer = new Promise((r) => raw.once('message', (d) => r(d.toString())));
  raw.send(JSON.stringify([
    { jsonrpc: '2.0', method: 'sum', params: [10, 20, 12], id: 'b1' },
    { jsonrpc: '2.0', method: 'log', params: { level: 'debug', text: 'in a batch' } },
    { jsonrpc: '2.0', method: 'greet', params: { name: 'Grace' }, id: 'b2' },
    { jsonrpc: '2.0', method: 'no.such.method', id: 'b3' },
  ]));
  console.error(`jsonrpc: batch answer ${await answer}`);
  raw.close(1000);
  await new Promise((r) => raw.on('close', r));
  await tap.sleep(100);
  await server.close();
  console.error(`jsonrpc: server logged ${JSON.stringify(logged)}`);
  tap.writeTruth(o.truth, truthOf(tap.log));
});
