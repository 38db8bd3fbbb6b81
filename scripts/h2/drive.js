// drive.js: one recorded h2 session: starts server.js and runs one client
// against it, for scripts/record-h2.sh (which captures the port).
//
//   node drive.js --client chromium|firefox|node --port N [--tls --cert DIR]
//       [--keylog FILE] [--server-keylog FILE] [--truth FILE]
//
// --client chromium: headless Chromium (/usr/bin/chromium --headless=new,
//   no driver library) loads https://wscap.test:PORT/page.html from the
//   h2 server itself, so the page's own HTTP/2 connection carries the two
//   WebSockets; with --keylog, Chromium writes its TLS key log there
//   (SSLKEYLOGFILE and --ssl-key-log-file). Needs --tls.
// --client firefox: headless Firefox ESR (firefox-esr --headless) on the
//   same page, with a fresh profile that trusts DIR/ca.pem (certutil) and
//   network.dns.forceResolve 127.0.0.1; key log via SSLKEYLOGFILE.
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
  if (!['chromium', 'firefox', 'node'].includes(o.client) || !o.port) throw new Error('need --client and --port');
  if (o.client !== 'node' && !o.tls) throw new Error(`--client ${o.client} needs --tls (browsers speak h2 only over TLS)`);
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
  return startBrowser('/usr/bin/chromium', args, env, userDataDir);
}

// startFirefox launches headless Firefox ESR on the page, with a fresh
// profile that trusts the recording's CA (certutil, NSS's tool; Firefox has
// no --ignore-certificate-errors) and resolves every name to 127.0.0.1.
// Firefox writes its key log to SSLKEYLOGFILE.
function startFirefox(o) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'wscap-firefox-'));
  const { execFileSync } = require('child_process');
  execFileSync('certutil', ['-N', '--empty-password', '-d', `sql:${profile}`]);
  execFileSync('certutil', ['-A', '-n', 'wscap test CA', '-t', 'C,,', '-i', path.join(o.cert, 'ca.pem'), '-d', `sql:${profile}`]);
  const prefs = {
    'network.dns.forceResolve': '127.0.0.1',
    'network.http.http2.websockets': true, // RFC 8441 (the default; set to be sure)
    'network.http.http3.enable': false,
    'network.proxy.type': 0,
    'browser.shell.checkDefaultBrowser': false,
    'browser.startup.homepage_override.mstone': 'ignore',
    'datareporting.policy.dataSubmissionEnabled': false,
    'toolkit.telemetry.reportingpolicy.firstRun': false,
    'app.update.disabledForTesting': true,
    'network.captive-portal-service.enabled': false,
    'network.connectivity-service.enabled': false,
  };
  fs.writeFileSync(path.join(profile, 'user.js'),
    Object.entries(prefs).map(([k, v]) => `user_pref(${JSON.stringify(k)}, ${JSON.stringify(v)});\n`).join(''));
  const env = { ...process.env, MOZ_HEADLESS: '1' };
  if (o.keylog) env.SSLKEYLOGFILE = o.keylog;
  const args = ['--headless', '--no-remote', '--profile', profile, `https://${HOST}:${o.port}/page.html?client=firefox`];
  return startBrowser('firefox-esr', args, env, profile);
}

// startBrowser spawns a browser; returns {exited, kill}; kill also removes dir.
function startBrowser(cmd, args, env, dir) {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let errText = '';
  child.stderr.on('data', (d) => { errText += d; });
  const exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig, errText })));
  return {
    exited,
    kill: async () => {
      child.kill('SIGTERM');
      await exited;
      // The browser's helper processes may still write there a moment
      // after the main process exits (record-h2.sh points TMPDIR at its own
      // temporary directory, removed at its end, for what is left).
      await new Promise((r) => setTimeout(r, 500));
      try {
        fs.rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 200 });
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
    needResult: o.client !== 'node', serverKeylog: o.serverKeylog });
  let out;
  try {
    if (o.client === 'chromium' || o.client === 'firefox') {
      const browser = o.client === 'chromium' ? startChromium(o) : startFirefox(o);
      const early = browser.exited.then((x) => { throw new Error(`${o.client} exited early (${x.code} ${x.sig}): ${x.errText}`); });
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
