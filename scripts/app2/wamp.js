// wamp.js: WAMP v2 (JSON serialization, subprotocol wamp.2.json) over
// WebSocket, for scripts/record-app2.sh: two autobahn sessions against
// the fox-wamp router (FoxRouter.listenWAMP on an http server, path /wamp).
//
// Connection 1 (callee and subscriber): HELLO/WELCOME, REGISTER
// com.example.add2 and com.example.fail, SUBSCRIBE com.example.news.
// Connection 2 (caller and publisher): HELLO/WELCOME; CALL add2 [2,3]
// (INVOCATION on connection 1, YIELD, RESULT 5); CALL add2 with kwargs;
// CALL fail (the callee throws autobahn.Error: ERROR on both
// connections); CALL com.example.nothing (ERROR wamp.error.no_such_procedure
// from the router); PUBLISH com.example.news with acknowledge
// (PUBLISHED, and an EVENT on connection 1); GOODBYE. Then connection 1
// UNSUBSCRIBEs, UNREGISTERs and says GOODBYE.
//
// Truth: every message either side sent (tap.js), parsed as WAMP JSON
// arrays ([code, ...] by the message codes of the WAMP spec).
'use strict';

const http = require('http');
const tap = require('./tap.js');

tap.tapAll([tap.libDir('fox-wamp'), tap.libDir('autobahn'), tap.libDir('ws')]);
const autobahn = require('autobahn');
const FoxRouter = require('fox-wamp');

const names = {
  1: 'HELLO', 2: 'WELCOME', 3: 'ABORT', 4: 'CHALLENGE', 5: 'AUTHENTICATE', 6: 'GOODBYE', 8: 'ERROR',
  16: 'PUBLISH', 17: 'PUBLISHED', 32: 'SUBSCRIBE', 33: 'SUBSCRIBED', 34: 'UNSUBSCRIBE', 35: 'UNSUBSCRIBED',
  36: 'EVENT', 48: 'CALL', 49: 'CANCEL', 50: 'RESULT', 64: 'REGISTER', 65: 'REGISTERED', 66: 'UNREGISTER',
  67: 'UNREGISTERED', 68: 'INVOCATION', 69: 'INTERRUPT', 70: 'YIELD',
};

// truthOf: name is the message's own URI (HELLO realm, ABORT/GOODBYE
// reason, ERROR error, PUBLISH/SUBSCRIBE topic, CALL/REGISTER procedure)
// and, for RESULT/EVENT/INVOCATION, the URI of the CALL, subscription or
// registration they answer; null otherwise. id is the request id of the
// message types that have one.
function truthOf(log) {
  const lines = [];
  const pending = new Map(); // `${ws} ${from} ${reqId}` -> URI of a CALL/SUBSCRIBE/REGISTER
  const subs = new Map(); // `${ws} ${subId}` -> topic
  const regs = new Map(); // `${ws} ${regId}` -> procedure
  for (const e of log) {
    const m = JSON.parse(e.data.toString('utf8'));
    const other = e.from === 'client' ? 'server' : 'client';
    const type = names[m[0]];
    if (!type) throw new Error(`unknown WAMP message ${JSON.stringify(m)}`);
    let name = null;
    let id;
    const f = {};
    const rest = (i) => {
      if (m.length > i) f.args = m[i];
      if (m.length > i + 1) f.kwargs = m[i + 1];
    };
    switch (m[0]) {
      case 1: name = m[1]; f.details = m[2]; break; // HELLO realm details
      case 2: f.details = m[2]; break; // WELCOME session details
      case 3: case 6: f.details = m[1]; name = m[2]; break; // ABORT/GOODBYE details reason
      case 8: id = m[2]; f.details = m[3]; name = m[4]; rest(5); break; // ERROR type req details error
      case 16: id = m[1]; f.options = m[2]; name = m[3]; rest(4); break; // PUBLISH
      case 17: id = m[1]; break; // PUBLISHED req pub
      case 32: case 48: case 64: // SUBSCRIBE/CALL/REGISTER req options uri
        id = m[1]; f.options = m[2]; name = m[3];
        pending.set(`${e.ws} ${e.from} ${m[1]}`, m[3]);
        if (m[0] === 48) rest(4);
        break;
      case 33: case 65: { // SUBSCRIBED/REGISTERED req id
        id = m[1];
        const uri = pending.get(`${e.ws} ${other} ${m[1]}`);
        (m[0] === 33 ? subs : regs).set(`${e.ws} ${m[2]}`, uri);
        break;
      }
      case 34: case 35: case 66: case 67: id = m[1]; break;
      case 36: name = subs.get(`${e.ws} ${m[1]}`) || null; f.details = m[3]; rest(4); break; // EVENT sub pub details
      case 50: id = m[1]; name = pending.get(`${e.ws} ${other} ${m[1]}`) || null; f.details = m[2]; rest(3); break; // RESULT
      case 68: id = m[1]; name = regs.get(`${e.ws} ${m[2]}`) || null; f.details = m[3]; rest(4); break; // INVOCATION
      case 70: id = m[1]; f.options = m[2]; rest(3); break; // YIELD
      default: break;
    }
    lines.push(tap.line(e, 'wamp', type, name, id, f));
  }
  return lines;
}

function open(o) {
  const conn = new autobahn.Connection({
    url: `ws://127.0.0.1:${o.port}/wamp`, realm: 'realm1', protocols: ['wamp.2.json'],
    serializers: [new autobahn.serializer.JSONSerializer()], max_retries: 0,
  });
  const closed = new Promise((r) => { conn.onclose = (reason, details) => { r([reason, details && details.reason]); }; });
  return new Promise((resolve, reject) => {
    conn.onopen = (session) => resolve({ conn, session, closed });
    setTimeout(() => reject(new Error('autobahn did not open')), 5000);
    conn.open();
  });
}

tap.main(async (o) => {
  const server = http.createServer();
  await new Promise((r) => server.listen(o.port, '127.0.0.1', r));
  const router = new FoxRouter();
  router.listenWAMP({ server, path: '/wamp' });

  const a = await open(o);
  const events = [];
  const gotEvent = new Promise((resolve) => {
    a.session.subscribe('com.example.news', (args, kwargs, details) => {
      events.push({ args, kwargs, publication: details.publication });
      resolve();
    }).then((sub) => { a.sub = sub; });
  });
  const reg1 = await a.session.register('com.example.add2', (args, kwargs) => {
    if (kwargs && kwargs.x !== undefined) return new autobahn.Result([kwargs.x + kwargs.y], { op: 'add' });
    return args[0] + args[1];
  });
  const reg2 = await a.session.register('com.example.fail', (args) => {
    throw new autobahn.Error('com.example.error.invalid_argument', [`cannot handle ${args[0]}`], { code: 42 });
  });
  await tap.sleep(50);

  const b = await open(o);
  const r = {};
  r.add = await b.session.call('com.example.add2', [2, 3]);
  r.addKw = await b.session.call('com.example.add2', [], { x: 1.5, y: 2.25 }, { timeout: 0 });
  r.fail = await b.session.call('com.example.fail', ['null']).catch((err) => ({ error: err.error, args: err.args, kwargs: err.kwargs }));
  r.missing = await b.session.call('com.example.nothing', []).catch((err) => ({ error: err.error, args: err.args }));
  r.published = await b.session.publish('com.example.news', ['hello', { n: 1 }], { lang: 'en' }, { acknowledge: true });
  await gotEvent;
  console.error(`wamp: caller got ${JSON.stringify({ ...r, published: { id: r.published.id } }, (k, v) => (v instanceof autobahn.Result ? { args: v.args, kwargs: v.kwargs } : v))}`);
  console.error(`wamp: subscriber got ${JSON.stringify(events)}`);
  b.conn.close('wamp.close.normal', 'caller done');
  console.error(`wamp: connection 2 closed: ${JSON.stringify(await b.closed)}`);
  await a.session.unsubscribe(a.sub);
  await a.session.unregister(reg1);
  await a.session.unregister(reg2);
  a.conn.close('wamp.close.normal', 'callee done');
  console.error(`wamp: connection 1 closed: ${JSON.stringify(await a.closed)}`);
  await tap.sleep(100);
  server.close();
  if (server.closeAllConnections) server.closeAllConnections();
  tap.writeTruth(o.truth, truthOf(tap.log));
});
