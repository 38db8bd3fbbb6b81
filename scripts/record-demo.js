// record-demo.js: a short, scripted WebSocket chat between a `ws` server
// and a `ws` client on 127.0.0.1, for scripts/record-demo.sh to capture.
//
//   node record-demo.js PORT [no-context-takeover]
//
// Needs the `ws` package (v8) on NODE_PATH. Exits 0 when both sides saw
// the close handshake, 1 on any error or after 10 s.
'use strict';

const { WebSocketServer, WebSocket } = require('ws');

const port = Number(process.argv[2]);
const noContextTakeover = process.argv[3] === 'no-context-takeover';
if (!port) {
  console.error('usage: node record-demo.js PORT [no-context-takeover]');
  process.exit(2);
}
setTimeout(() => {
  console.error('record-demo: timed out');
  process.exit(1);
}, 10000).unref();

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Messages shorter than the threshold are sent uncompressed (RSV1 clear), so
// the capture holds both kinds.
const deflate = {
  threshold: 32,
  serverNoContextTakeover: noContextTakeover,
  clientNoContextTakeover: noContextTakeover,
};

const wss = new WebSocketServer({
  host: '127.0.0.1',
  port,
  perMessageDeflate: deflate,
  handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
});

wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.send(JSON.stringify({ type: 'ack', bytes: data.length }));
      return;
    }
    const text = data.toString();
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      ws.send(JSON.stringify({ type: 'echo', text }));
      return;
    }
    switch (msg.type) {
      case 'join':
        ws.send(JSON.stringify({ type: 'welcome', room: 'lobby', users: ['bob', msg.user] }));
        break;
      case 'msg':
        ws.send(JSON.stringify({ type: 'msg', from: 'bob', text: 'Salut alice, ça va ? Très bien ici 🙂' }));
        break;
      default:
        ws.send('ok');
    }
  });
  ws.on('close', (code, reason) => {
    console.error(`server: close ${code} ${reason}`);
    wss.close();
  });
});

wss.on('listening', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/chat?room=lobby`, ['chat.v2', 'chat.v1'], {
    perMessageDeflate: deflate,
    headers: { 'User-Agent': 'wscap-record-demo (ws/8)' },
  });
  const replies = [];
  let wake = null;
  ws.on('message', (data) => {
    replies.push(data.toString());
    if (wake) wake();
  });
  const reply = () =>
    new Promise((resolve) => {
      const done = () => {
        wake = null;
        resolve(replies.shift());
      };
      if (replies.length) done();
      else wake = done;
    });
  ws.on('pong', (data) => console.error(`client: pong ${data}`));
  ws.on('close', (code, reason) => {
    console.error(`client: close ${code} ${reason}`);
    process.exitCode = 0;
  });
  ws.on('error', (err) => {
    console.error(`client: ${err.message}`);
    process.exit(1);
  });
  await new Promise((resolve) => ws.once('open', resolve));
  console.error(`client: open, protocol=${ws.protocol} extensions=${ws.extensions}`);

  ws.send(JSON.stringify({ type: 'join', user: 'alice' }));
  await reply();
  await sleep(50);
  ws.send(JSON.stringify({ type: 'msg', text: 'Hello Bob! Is the lobby open? 👋' }));
  await reply();
  await sleep(50);
  ws.send(JSON.stringify({ type: 'msg', text: 'Hello Bob! Is the lobby open? 👋' })); // repeated: context takeover shows
  await reply();
  await sleep(50);
  ws.send(Buffer.from(Array.from({ length: 64 }, (_, i) => i))); // binary
  await reply();
  await sleep(50);
  // A fragmented text message: three frames, FIN on the last.
  ws.send('{"type":"note","text":"part one of a fragmented message, ', { fin: false });
  ws.send('part two, ', { fin: false });
  ws.send('part three"}', { fin: true });
  await reply();
  await sleep(50);
  // Ping from the server; the client's ws answers with a pong by itself.
  for (const client of wss.clients) client.ping('heartbeat-1');
  await sleep(50);
  ws.ping('are you there?');
  await sleep(50);
  ws.send('hi'); // short: below the compression threshold
  await reply();
  await sleep(50);
  ws.close(1000, 'bye');
});
