// drive.js: one recorded h2 session: starts server.js and runs one client
// against it, for scripts/record-h2.sh (which captures the port).
//
//   node drive.js --client chromium|node --port N [--tls --cert DIR]
//       [--keylog FILE] [--server-keylog FILE] [--truth FILE]
//
// --client chromium: headless Chromium (/usr/bin/chromium --headless=new,
//   no driver library) loads https://wscap.test:PORT/page.html from the
//   h2 server itself, so the page's own HTTP/2 connection carries the two
//   WebSockets; with --keylog, Chromium writes its TLS key log there
//   (SSLKEYLOGFILE and --ssl-key-log-file). Needs --tls.
// --client node: client.js in this process: Node's http2 client, h2c with
//   prior knowledge (or TLS with ALPN h2 with --tls; --keylog from the TLS
//   socket's 'keylog' event).
// wscap.test resolves to 127.0.0.1 (Chromium: --host-resolver-rules; Node:
//   the connection is made to 127.0.0.1 with :authority and SNI wscap.test).
//
// Needs `ws` (8.23.1) on NODE_PATH. Exits 0 when both WebSockets ran to
// their close handshake, 1 otherwise or after 60 s.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const { startServer } = require('./server.js');

const HOST = 'wscap.test';

function parseArgs(argv) {
  const o = { client: '', port: 0, tls: false, cert: '', keylog: '', serverKeylog: '', truth: '' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    switch (a) {
      case '--client': o.client = val(); break;
      case '--port': o.port = Number(val()); break;
      case '--tls': o.tls = true; break;
      case '--cert': o.cert = val(); break;
      case '--keylog': o.keylog = val(); break;
      case '--server-keylog': o.serverKeylog = val(); break;
      case '--truth': o.truth = val(); break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!['chromium', 'node'].includes(o.client) || !o.port) throw new Error('need --client and --port');
  if (o.client === 'chromium' && !o.tls) throw new Error('--client chromium needs --tls (browsers speak h2 only over TLS)');
  return o;
}

// startChromium launches headless Chromium on the page; returns {exited, kill}.
function startChromium(o) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'wscap-chromium-'));
  const args = ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--disable-features=MediaRouter,OptimizationHints', `--user-data-dir=${userDataDir}`,
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`, '--ignore-certificate-errors'];
  const env = { ...process.env };
  if (o.keylog) {
    env.SSLKEYLOGFILE = o.keylog;
    args.push(`--ssl-key-log-file=${o.keylog}`);
  }
  args.push(`https://${HOST}:${o.port}/page.html?client=chromium`);
  const child = spawn('/usr/bin/chromium', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  child.stderr.on('data', (d) => { errText += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig, errText })));
  return {
    exited,
    kill: async () => {
      child.kill('SIGTERM');
      await exited;
      // Chromium's helper processes may still write there a moment after
      // the browser process exits (record-h2.sh points TMPDIR at its own
      // temporary directory, removed at its end, for what is left).
      await new Promise((r) => setTimeout(r, 500));
      try {
        fs.rmSync(userDataDir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
      } catch (err) {
        console.error(`drive: ${err.message} (left behind)`);
      }
    },
  };
}

// checkClientLog checks that what each client WebSocket received (its
// session.js log: whole texts, binary lengths, the close) is what the
// server sent on that stream (the truth). The stream id comes from the
// welcome message, which names it.
function checkClientLog(truth, wsLogs) {
  const crypto = require('crypto');
  for (const w of wsLogs) {
    const sid = JSON.parse(w.log[0].text).stream;
    const sent = truth.filter((t) => t.h2_stream === sid && (t.from === 'server' || t.close));
    const got = w.log.map((l) => {
      if (l.close) return { close: l.close, reason: l.reason };
      if (l.text === undefined) return { opcode: 'binary', len: l.binary };
      const b = Buffer.from(l.text);
      return { opcode: 'text', len: b.length, sha256: crypto.createHash('sha256').update(b).digest('hex') };
    });
    const want = sent.map((t) => (t.close ? { close: t.close, reason: t.reason }
      : t.opcode === 'binary' ? { opcode: 'binary', len: t.len } : { opcode: 'text', len: t.len, sha256: t.sha256 }));
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      throw new Error(`WebSocket ${w.tag} (stream ${sid}): the client received ${JSON.stringify(got)}, the server sent ${JSON.stringify(want)}`);
    }
    console.error(`drive: WebSocket ${w.tag} (h2 stream ${sid}): the client received the ${got.length - 1} messages the server sent, and the close`);
  }
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  setTimeout(() => {
    console.error('drive: timed out');
    process.exit(1);
  }, 60000).unref();

  const tlsOpts = o.tls
    ? { key: fs.readFileSync(path.join(o.cert, 'key.pem')), cert: fs.readFileSync(path.join(o.cert, 'cert.pem')) }
    : null;
  const srv = await startServer({ host: '127.0.0.1', port: o.port, tls: tlsOpts, want: 2,
    needResult: o.client === 'chromium', serverKeylog: o.serverKeylog });
  let out;
  try {
    if (o.client === 'chromium') {
      const browser = startChromium(o);
      const early = browser.exited.then((x) => { throw new Error(`chromium exited early (${x.code} ${x.sig}): ${x.errText}`); });
      out = await Promise.race([srv.done, early]);
      await srv.close(); // GOAWAY, then the server ends the connection
      await new Promise((r) => setTimeout(r, 300));
      await browser.kill();
      if (out.result.error) throw new Error(`page: ${out.result.error}`);
      console.error(`client: ${JSON.stringify(out.result.result)}`);
      checkClientLog(out.truth, out.result.result);
    } else {
      const { runClient } = require('./client.js');
      const [log] = await Promise.all([runClient(o, HOST), srv.done]);
      out = await srv.done;
      await srv.close();
      console.error(`client: ${JSON.stringify(log)}`);
      checkClientLog(out.truth, log.ws);
    }
    if (o.truth) fs.writeFileSync(o.truth, out.truth.map((t) => JSON.stringify(t)).join('\n') + '\n');
  } finally {
    srv.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`drive: ${err.stack || err}`);
  process.exit(1);
});
