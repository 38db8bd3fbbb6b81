// graphql.js: the GraphQL-over-WebSocket recordings of scripts/record-app.sh,
// on ws://127.0.0.1:PORT/graphql:
//
//   node graphql.js --scenario graphql-ws|subscriptions-transport-ws --port N --truth FILE
//
// graphql-ws: graphql-ws's server (useServer from graphql-ws/use/ws on a
//   ws WebSocketServer) and client (createClient), subprotocol
//   graphql-transport-ws.
// subscriptions-transport-ws: the legacy library's SubscriptionServer and
//   SubscriptionClient, subprotocol graphql-ws.
//
// The truth is what the client's WebSocket carried: the client library is
// given (webSocketImpl / its WebSocket argument) a subclass of ws's
// WebSocket whose send() and 'message' events are logged, each message
// parsed as the library parses it (graphql-ws: its own parseMessage, which
// validates the message; subscriptions-transport-ws: JSON.parse, as its
// client does). name: the operationName of the subscribe/start payload, and
// for next/error/complete (data/error/complete/stop) that of the
// subscribe/start with the same id; id: the operation id; fields: payload
// (JSON, when the message has one) and query (subscribe/start). The
// server's hooks (graphql-ws: onSubscribe/onNext/onComplete/onError;
// subscriptions-transport-ws: onOperation/onOperationComplete) are checked
// against the truth.
'use strict';

const http = require('http');
const WebSocket = require('ws');
const graphql = require('graphql');
const { main, sleep } = require('./truth.js');

const schema = graphql.buildSchema(`
  type Query { hello(name: String): String!, fail: String }
  type Subscription { countdown(from: Int!): Int!, ticks: Int! }
`);
const root = {
  hello: ({ name }) => `hello ${name || 'world'}`,
  fail: () => { throw new Error('this field always fails'); },
  countdown: async function* countdown({ from }) {
    for (let i = from; i >= 0; i--) {
      yield { countdown: i };
      await sleep(20);
    }
  },
  ticks: async function* ticks() {
    for (let i = 1; ; i++) {
      yield { ticks: i };
      await sleep(100);
    }
  },
};

// logger returns a WebSocket subclass that logs each message both ways to
// truth as a unit of proto (parse: the library's message parser).
function logger(truth, proto, parse, subscribeTypes) {
  let nws = 0;
  return class LoggedWebSocket extends WebSocket {
    constructor(url, protocols, opts) {
      super(url, protocols, opts);
      const ws = ++nws;
      const names = new Map(); // operation id -> operationName
      this._log = (from, data) => {
        const m = parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
        const f = {};
        let name = null;
        if (subscribeTypes.includes(m.type)) {
          name = m.payload && m.payload.operationName ? m.payload.operationName : null;
          names.set(m.id, name);
          f.query = m.payload.query;
        } else if (m.id !== undefined && names.has(m.id)) {
          name = names.get(m.id);
        }
        if (m.payload !== undefined) f.payload = m.payload;
        truth.add(ws, from, proto, m.type, name, m.id, f);
      };
      this.addEventListener('message', (ev) => this._log('server', ev.data));
    }

    send(data, ...rest) {
      this._log('client', data);
      return super.send(data, ...rest);
    }
  };
}

function listen(server, port) {
  return new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
}

function collect(client, payload) {
  return new Promise((resolve) => {
    const got = [];
    client.subscribe(payload, {
      next: (v) => got.push(v),
      error: (e) => resolve({ got, error: e }),
      complete: () => resolve({ got }),
    });
  });
}

async function graphqlWS(o, truth) {
  const { createClient, parseMessage } = require('graphql-ws');
  const { useServer } = require('graphql-ws/use/ws');
  const server = http.createServer();
  const wss = new WebSocket.Server({ server, path: '/graphql' });
  const hooks = [];
  const disposable = useServer({
    schema,
    roots: { query: root, subscription: root },
    onConnect: () => { hooks.push('connection_init'); return true; },
    onSubscribe: (ctx, id) => { hooks.push(`subscribe:${id}`); },
    onNext: (ctx, id) => { hooks.push(`next:${id}`); },
    onError: (ctx, id) => { hooks.push(`error:${id}`); },
    onComplete: (ctx, id) => { hooks.push(`complete:${id}`); },
  }, wss);
  await listen(server, o.port);

  let n = 0;
  const client = createClient({
    url: `ws://127.0.0.1:${o.port}/graphql`,
    webSocketImpl: logger(truth, 'graphql-transport-ws', parseMessage, ['subscribe']),
    generateID: () => `op-${++n}`,
    lazy: false,
    keepAlive: 400, // client pings every 400 ms (the server pongs)
    retryAttempts: 0,
    connectionParams: { token: 'wscap' },
  });
  await new Promise((resolve) => client.on('connected', resolve));

  const countdown = await collect(client, {
    query: 'subscription Countdown($from: Int!) { countdown(from: $from) }',
    operationName: 'Countdown', variables: { from: 3 },
  });
  if (countdown.got.length !== 4) throw new Error(`countdown: ${JSON.stringify(countdown)}`);
  const hello = await collect(client, { query: 'query Hello($name: String) { hello(name: $name) }', operationName: 'Hello', variables: { name: 'wscap' } });
  if (hello.got[0].data.hello !== 'hello wscap') throw new Error(`hello: ${JSON.stringify(hello)}`);
  const bad = await collect(client, { query: '{ nope }' });
  if (!bad.error) throw new Error('the bad query did not fail');
  const fail = await collect(client, { query: 'query Fail { fail hello }', operationName: 'Fail' });
  if (!fail.got[0].errors) throw new Error('fail: no errors');
  // A subscription the client completes after two ticks.
  await new Promise((resolve) => {
    let k = 0;
    const stop = client.subscribe({ query: 'subscription Ticks { ticks }', operationName: 'Ticks' }, {
      next: () => { if (++k === 2) { stop(); resolve(); } }, error: resolve, complete: resolve,
    });
  });
  await sleep(1000); // keep-alive pings
  await client.dispose();
  await sleep(200);
  await disposable.dispose();
  server.close();
  const ops = truth.lines.filter((l) => l.from === 'client' && l.type === 'subscribe').map((l) => l.id);
  for (const id of ops) if (!hooks.includes(`subscribe:${id}`)) throw new Error(`graphql-ws: no onSubscribe for ${id}`);
  if (hooks.filter((h) => h.startsWith('next:')).length !== truth.lines.filter((l) => l.type === 'next').length) {
    throw new Error(`graphql-ws: onNext saw ${hooks.filter((h) => h.startsWith('next:')).length} next, the truth has ${truth.lines.filter((l) => l.type === 'next').length}`);
  }
}

async function legacy(o, truth) {
  const { SubscriptionServer, SubscriptionClient } = require('subscriptions-transport-ws');
  const server = http.createServer();
  const hooks = [];
  const ss = SubscriptionServer.create({
    schema, rootValue: root, execute: graphql.execute, subscribe: graphql.subscribe,
    keepAlive: 400,
    onOperation: (msg, params) => {
      hooks.push(`start:${msg.id}`);
      if (msg.payload.operationName === 'Forbidden') throw new Error('operation Forbidden is not allowed');
      return params;
    },
    onOperationComplete: (ws, id) => { hooks.push(`stop:${id}`); },
  }, { server, path: '/graphql' });
  await listen(server, o.port);

  const Logged = logger(truth, 'subscriptions-transport-ws', JSON.parse, ['start']);
  const client = new SubscriptionClient(`ws://127.0.0.1:${o.port}/graphql`, {
    reconnect: false, lazy: false, connectionParams: { token: 'wscap' },
  }, Logged);
  await new Promise((resolve) => client.onConnected(resolve));

  const sub = (req, stopAfter) => new Promise((resolve) => {
    const got = [];
    const s = client.request(req).subscribe({
      next: (v) => {
        got.push(v);
        if (stopAfter && got.length === stopAfter) { s.unsubscribe(); resolve({ got }); }
      },
      error: (e) => resolve({ got, error: e }),
      complete: () => resolve({ got }),
    });
  });
  const countdown = await sub({ query: 'subscription Countdown($from: Int!) { countdown(from: $from) }', operationName: 'Countdown', variables: { from: 2 } });
  if (countdown.got.length !== 3) throw new Error(`countdown: ${JSON.stringify(countdown)}`);
  const ticks = await sub({ query: 'subscription Ticks { ticks }', operationName: 'Ticks' }, 2);
  if (ticks.got.length !== 2) throw new Error(`ticks: ${JSON.stringify(ticks)}`);
  const hello = await sub({ query: 'query Hello { hello }', operationName: 'Hello' });
  if (hello.got[0].data.hello !== 'hello world') throw new Error(`hello: ${JSON.stringify(hello)}`);
  const bad = await sub({ query: '{ nope }' });
  if (!bad.error && !(bad.got[0] && bad.got[0].errors)) throw new Error(`bad: ${JSON.stringify(bad)}`);
  const forbidden = await sub({ query: 'query Forbidden { hello }', operationName: 'Forbidden' });
  if (!forbidden.error) throw new Error(`forbidden: ${JSON.stringify(forbidden)}`);
  await sleep(900); // "ka" keep-alives every 400 ms
  client.close(); // connection_terminate, then the close
  await sleep(300);
  ss.close();
  server.close();
  for (const l of truth.lines.filter((x) => x.from === 'client' && x.type === 'start')) {
    if (!hooks.includes(`start:${l.id}`)) throw new Error(`subscriptions-transport-ws: no onOperation for ${l.id}`);
  }
}

main(async (o, truth) => {
  switch (o.scenario) {
    case 'graphql-ws': return graphqlWS(o, truth);
    case 'subscriptions-transport-ws': return legacy(o, truth);
    default: throw new Error(`unknown scenario ${o.scenario}`);
  }
});
