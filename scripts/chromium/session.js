// session.js: the scripted WebSocket session that scripts/record-chromium.sh
// records. Runs unchanged in the browser (loaded by page.html) and in Node
// (required by drive.js, with a `ws` WebSocket), since both speak the
// W3C WebSocket API. The server side is in server.js.
//
// Steps (client -> server, then what the server answers):
//   1. text hello                      -> text welcome
//   2. the same chat text twice        -> the same reply twice (context takeover shows)
//   3. an empty text message           -> an empty text message
//   4. binary, 1024 bytes              -> binary, the bytes reversed
//   5. ~200 KB JSON (64-bit length)    -> text ack with its sha256, then ~128 KB JSON
//   6. text {"type":"fragmented"}      -> one text message in 3 compressed frames,
//                                         then a text message sent uncompressed
//   7. text {"type":"ping"}            -> ping "heartbeat" (client pongs), text pong-seen
//   8. (Node and Go clients: their own ping, the server's automatic pong)
//   9. close 1000 "done, bye"          -> close echoed
'use strict';

(function (root) {
  // mulberry32: a small seeded PRNG, so the large messages are the same on
  // every run and in every client.
  function prng(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  const WORDS = ('alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima ' +
    'mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu ' +
    'ça très déjà vu naïve 🙂 👋').split(' ');

  const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  // bigJSON returns a JSON text of about `size` bytes: an array of records
  // with random base64 keys (6 bits of entropy a byte: deflate cannot shrink
  // them much, so the compressed frames stay above 64 KiB and need a 64-bit
  // length) and words (which compress well).
  function bigJSON(seed, size) {
    const rnd = prng(seed);
    const rand64 = (n) => {
      let s = '';
      for (let i = 0; i < n; i++) s += B64[Math.floor(rnd() * 64)];
      return s;
    };
    const records = [];
    let len = 30;
    for (let i = 0; len < size; i++) {
      const words = [];
      for (let w = 0; w < 6; w++) words.push(WORDS[Math.floor(rnd() * WORDS.length)]);
      const r = { id: i, key: rand64(400), user: 'user' + Math.floor(rnd() * 50), text: words.join(' '),
        score: Math.round(rnd() * 1e6) / 100, tags: [rand64(8), rand64(8)] };
      const s = JSON.stringify(r);
      records.push(r);
      len += s.length + 1;
    }
    return JSON.stringify({ type: 'bulk', seed, records });
  }

  const CHAT = JSON.stringify({ type: 'chat', text: 'The quick brown fox jumps over the lazy dog. Ça va ? Très bien 🙂' });

  // runSession drives the session on an open WebSocket. name labels the
  // client; opts.beforeClose(ws) (optional, async) runs before the close.
  // It resolves with a log of what the client received.
  async function runSession(ws, name, opts) {
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
    const expect = async (n) => {
      for (let i = 0; i < n; i++) {
        const d = await next();
        log.push(typeof d === 'string' ? { text: d.length > 80 ? d.slice(0, 80) + '…' : d, len: d.length }
          : { binary: d.byteLength });
      }
    };

    ws.send(JSON.stringify({ type: 'hello', client: name, text: 'Hello from the wscap recorder 👋' }));
    await expect(1);
    ws.send(CHAT);
    await expect(1);
    ws.send(CHAT); // repeated: with context takeover it compresses to a few bytes
    await expect(1);
    ws.send('');
    await expect(1);
    const bin = new Uint8Array(1024);
    for (let i = 0; i < bin.length; i++) bin[i] = (i * 7 + 3) & 0xff;
    ws.send(bin.buffer);
    await expect(1);
    ws.send(bigJSON(1, 200 * 1024));
    await expect(2);
    ws.send(JSON.stringify({ type: 'fragmented' }));
    await expect(2);
    ws.send(JSON.stringify({ type: 'ping' }));
    await expect(1);
    if (opts.beforeClose) await opts.beforeClose(ws);
    ws.close(1000, 'done, bye');
    const c = await closing;
    log.push({ close: c.code, reason: c.reason });
    return log;
  }

  const api = { prng, bigJSON, runSession, CHAT };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  else root.wscapSession = api;
})(typeof window !== 'undefined' ? window : globalThis);
