// drive.js: one recorded session: starts server.js and runs one client
// against it, for scripts/record-chromium.sh (which captures the port).
//
//   node drive.js --client chromium|node|exec --port N [--page-port N]
//       [--tls 1.3|1.2 --cert DIR [--cipher NAME]] [--no-context-takeover] [--window-bits N]
//       [--keylog FILE] [--server-keylog FILE] [--truth FILE] [-- CMD ARGS...]
//
// --client chromium: headless Chromium (/usr/bin/chromium, driven by
//   playwright-core) loads page.html from the page port and runs
//   session.js in the page; with --keylog, Chromium writes its TLS key log
//   there (SSLKEYLOGFILE and --ssl-key-log-file).
// --client node: a `ws` client in this process runs session.js; with
//   --keylog, the TLS socket's 'keylog' events are written there.
// --client exec: runs CMD ARGS... URL KEYLOG (the Go client).
// --tls 1.2 forces TLS 1.2 with --cipher (default ECDHE-RSA-AES128-GCM-SHA256);
// with --tls 1.3, --cipher limits the server to one TLS 1.3 suite (default:
// Node's choice, TLS_AES_256_GCM_SHA384).
// The WebSocket URL is ws[s]://wscap.test:PORT/session?client=NAME;
// wscap.test resolves to 127.0.0.1 (Chromium: --host-resolver-rules;
// others: the connection is made to 127.0.0.1 with Host and SNI wscap.test).
//
// Needs `ws` (v8) and, for Chromium, `playwright-core` on NODE_PATH. Exits 0
// when the session ran to its close handshake, 1 otherwise or after 60 s.
'use strict';

const fs = require('fs');
const path = require('path');
const tls = require('tls');
const { spawn } = require('child_process');
const { startServer } = require('./server.js');
const { runSession } = require('./session.js');

const HOST = 'wscap.test';

function parseArgs(argv) {
  const o = { client: '', port: 0, pagePort: 0, tls: '', cert: '', cipher: '', noContextTakeover: false, windowBits: 0,
    keylog: '', serverKeylog: '', truth: '', cmd: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => argv[++i];
    switch (a) {
      case '--client': o.client = val(); break;
      case '--port': o.port = Number(val()); break;
      case '--page-port': o.pagePort = Number(val()); break;
      case '--tls': o.tls = val(); break;
      case '--cert': o.cert = val(); break;
      case '--cipher': o.cipher = val(); break;
      case '--no-context-takeover': o.noContextTakeover = true; break;
      case '--window-bits': o.windowBits = Number(val()); break;
      case '--keylog': o.keylog = val(); break;
      case '--server-keylog': o.serverKeylog = val(); break;
      case '--truth': o.truth = val(); break;
      case '--': o.cmd = argv.slice(i + 1); i = argv.length; break;
      default: throw new Error(`unknown argument ${a}`);
    }
  }
  if (!['chromium', 'node', 'exec'].includes(o.client) || !o.port) throw new Error('need --client and --port');
  if (o.client === 'exec' && !o.cmd.length) throw new Error('--client exec needs -- CMD');
  if (o.tls && !['1.2', '1.3'].includes(o.tls)) throw new Error('--tls is 1.2 or 1.3');
  o.pagePort = o.pagePort || o.port + 1;
  return o;
}

async function runChromium(o, wsURL) {
  const { chromium } = require('playwright-core');
  const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--host-resolver-rules=MAP ${HOST} 127.0.0.1`];
  const env = { ...process.env };
  if (o.tls) {
    args.push('--ignore-certificate-errors');
    if (o.keylog) {
      env.SSLKEYLOGFILE = o.keylog;
      args.push(`--ssl-key-log-file=${o.keylog}`);
    }
  }
  const userDataDir = fs.mkdtempSync(path.join(require('os').tmpdir(), 'wscap-chromium-'));
  // launchPersistentContext: the empty --user-data-dir made above.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium', headless: true, args, env, ignoreHTTPSErrors: true,
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => console.error(`page: ${m.text()}`));
    const pageURL = `http://${HOST}:${o.pagePort}/page.html?ws=${encodeURIComponent(wsURL)}`;
    await page.goto(pageURL);
    await page.waitForFunction(() => window.__result || window.__error, null, { timeout: 45000 });
    const err = await page.evaluate(() => window.__error);
    if (err) throw new Error(`page: ${err}`);
    return await page.evaluate(() => window.__result);
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

async function runNode(o, wsURL) {
  const { WebSocket } = require('ws');
  const options = { headers: { 'User-Agent': `wscap-recorder node/${process.version} ws/${require('ws/package.json').version}` } };
  if (o.tls) {
    // Connect to 127.0.0.1 with SNI wscap.test; log the TLS secrets.
    options.createConnection = (opts) => {
      const sock = tls.connect({ ...opts, host: '127.0.0.1', servername: HOST, rejectUnauthorized: false });
      if (o.keylog) sock.on('keylog', (line) => fs.appendFileSync(o.keylog, line));
      return sock;
    };
  } else {
    options.createConnection = (opts) => require('net').connect({ ...opts, host: '127.0.0.1' });
  }
  const ws = new WebSocket(wsURL, ['wscap.v1', 'chat'], options);
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const log = await runSession(ws, 'node', {
    // The browser API cannot send a ping; ws can: the server's ws answers.
    beforeClose: (w) => new Promise((resolve) => {
      w.once('pong', resolve);
      w.ping('are you there?');
    }),
  });
  return { protocol: ws.protocol, extensions: ws.extensions, log };
}

function runExec(o, wsURL) {
  return new Promise((resolve, reject) => {
    const child = spawn(o.cmd[0], [...o.cmd.slice(1), wsURL, o.keylog || ''], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => { out += d; });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve({ log: out.trim() }) : reject(new Error(`${o.cmd[0]} exited ${code}`))));
  });
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  setTimeout(() => {
    console.error('drive: timed out');
    process.exit(1);
  }, 60000).unref();

  const deflate = { threshold: 0 }; // compress every message, however short
  if (o.noContextTakeover) {
    deflate.serverNoContextTakeover = true;
    deflate.clientNoContextTakeover = true;
  }
  if (o.windowBits) {
    deflate.serverMaxWindowBits = o.windowBits;
    deflate.clientMaxWindowBits = o.windowBits;
  }
  let tlsOpts = null;
  if (o.tls) {
    tlsOpts = {
      key: fs.readFileSync(path.join(o.cert, 'key.pem')),
      cert: fs.readFileSync(path.join(o.cert, 'cert.pem')),
    };
    if (o.tls === '1.2') {
      tlsOpts.maxVersion = 'TLSv1.2';
      tlsOpts.ciphers = o.cipher || 'ECDHE-RSA-AES128-GCM-SHA256';
    } else if (o.cipher) {
      tlsOpts.ciphers = o.cipher;
    }
  }
  const srv = await startServer({ host: '127.0.0.1', port: o.port, pagePort: o.pagePort, tls: tlsOpts, deflate,
    serverKeylog: o.serverKeylog });
  const wsURL = `${o.tls ? 'wss' : 'ws'}://${HOST}:${o.port}/session?client=${o.client === 'exec' ? path.basename(o.cmd[0]) : o.client}`;
  let result;
  try {
    result = await { chromium: runChromium, node: runNode, exec: runExec }[o.client](o, wsURL);
    const truth = await srv.done;
    if (o.truth) fs.writeFileSync(o.truth, truth.map((t) => JSON.stringify(t)).join('\n') + '\n');
    console.error(`client: ${JSON.stringify(result)}`);
  } finally {
    srv.close();
  }
}

main().then(() => process.exit(0), (err) => {
  console.error(`drive: ${err.stack || err}`);
  process.exit(1);
});
