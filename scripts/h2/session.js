// session.js: the scripted WebSocket session that scripts/record-h2.sh
// records, one per WebSocket; two run at once on one HTTP/2 connection.
// Runs unchanged in the browser (loaded by page.html) and in Node
// (client.js, with a `ws` WebSocket on an Http2Stream), since both speak
// the W3C WebSocket API. The server side is in server.js.
//
// Steps (client -> server, then what the server answers):
//   1. text hello                  -> text welcome
//   2. the same chat text twice    -> the same reply twice
//   3. binary, 300 bytes           -> binary, the bytes reversed
//   4. text {"type":"ping"}        -> ping "heartbeat-TAG" (the client pongs), text pong-seen
//   5. text {"type":"fragmented"}  -> one text message in 3 frames
//   6. (Node: a ping of its own, the server's automatic pong)
//   7. close 1000 "bye TAG"        -> close echoed
'use strict';

(function (root) {
  const CHAT = JSON.stringify({ type: 'chat', text: 'The quick brown fox jumps over the lazy dog. Ça va ? Très bien 🙂' });

  // runSession drives the session on an open WebSocket; tag names the
  // WebSocket ("a", "b"), client the program. opts.beforeClose(ws)
  // (optional, async) runs before the close. Resolves with a log of what the
  // client received.
  async function runSession(ws, tag, client, opts) {
    opts = opts || {};
    ws.binaryType = 'arraybuffer';
    const queue = [];
    let wake = null;
    let closed = null;
    ws.addEventListener('message', (ev) => {
      queue.push(ev.data);
      if (wake) wake();
    });
    const closing = new Promise((resolve) => {
      ws.addEventListener('close', (ev) => {
        closed = { code: ev.code, reason: ev.reason };
        resolve(closed);
        if (wake) wake();
      });
    });
    const next = () => new Promise((resolve, reject) => {
      const take = () => {
        wake = null;
        if (queue.length) resolve(queue.shift());
        else if (closed) reject(new Error('closed while waiting: ' + JSON.stringify(closed)));
        else wake = take;
      };
      take();
    });
    const log = [];
    const expect = async () => {
      const d = await next();
      log.push(typeof d === 'string' ? { text: d } : { binary: d.byteLength });
    };

    ws.send(JSON.stringify({ type: 'hello', ws: tag, client, text: 'Hello over HTTP/2 👋' }));
    await expect();
    ws.send(CHAT);
    await expect();
    ws.send(CHAT);
    await expect();
    const bin = new Uint8Array(300);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;
    ws.send(bin.buffer);
    await expect();
    ws.send(JSON.stringify({ type: 'ping' }));
    await expect();
    ws.send(JSON.stringify({ type: 'fragmented' }));
    await expect();
    if (opts.beforeClose) await opts.beforeClose(ws);
    ws.close(1000, 'bye ' + tag);
    const c = await closing;
    log.push({ close: c.code, reason: c.reason });
    return log;
  }

  const api = { runSession, CHAT };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.wscapSession = api;
})(typeof window !== 'undefined' ? window : globalThis);
