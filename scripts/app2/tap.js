// tap.js: what the applications sent, message by message, for the truth
// files of scripts/record-app2.sh. It wraps WebSocket.prototype.send of
// every copy of the `ws` package the libraries load (they may bring their
// own), so each entry is exactly the data a library handed to its socket,
// in the order it was sent, with the side that sent it ("client" or
// "server") and the 1-based number of its WebSocket connection (the order
// in which the server completed the upgrades, i.e. the order of the 101
// responses; the scenarios open their connections one after another).
'use strict';

const fs = require('fs');
const path = require('path');

const log = [];
const connByClientPort = new Map(); // the client's TCP port -> connection number
const patched = new Set();

// tapWs(mod): wrap the WebSocket class of one loaded copy of `ws`.
function tapWs(mod) {
  const WS = mod.WebSocket || mod;
  const proto = WS.prototype;
  if (patched.has(proto)) return;
  patched.add(proto);
  const setSocket = proto.setSocket;
  proto.setSocket = function (socket, ...rest) {
    if (this._isServer && !connByClientPort.has(socket.remotePort)) {
      connByClientPort.set(socket.remotePort, connByClientPort.size + 1);
    }
    return setSocket.call(this, socket, ...rest);
  };
  const send = proto.send;
  proto.send = function (data, options, cb) {
    if (this.readyState === 1) {
      const sock = this._socket;
      const port = this._isServer ? sock.remotePort : sock.localPort;
      let binary;
      let buf;
      if (typeof data === 'string') {
        binary = false;
        buf = Buffer.from(data);
      } else {
        buf = Buffer.isBuffer(data) ? Buffer.from(data)
          : ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength)
            : Buffer.from(data);
        binary = true;
      }
      const opts = typeof options === 'object' && options !== null ? options : {};
      if (opts.binary !== undefined) binary = Boolean(opts.binary);
      log.push({ ws: connByClientPort.get(port) || 0, from: this._isServer ? 'server' : 'client', binary, data: buf });
    }
    return send.call(this, data, options, cb);
  };
}

// tapAll(dirs): tap `ws` as resolved from each directory (a library's own
// folder finds its nested copy first).
function tapAll(dirs) {
  for (const d of dirs) {
    let p;
    try {
      p = require.resolve('ws', { paths: [d] });
    } catch (e) {
      continue;
    }
    tapWs(require(p));
  }
}

// libDir(name): the folder of an installed package (for tapAll).
function libDir(name) {
  for (const base of (process.env.NODE_PATH || '').split(path.delimiter).filter(Boolean)) {
    const d = path.join(base, name);
    if (fs.existsSync(path.join(d, 'package.json'))) return d;
  }
  return path.dirname(require.resolve(name));
}

function version(name) {
  return JSON.parse(fs.readFileSync(path.join(libDir(name), 'package.json'), 'utf8')).version;
}

// writeTruth(file, lines): one JSON object per line.
function writeTruth(file, lines) {
  for (const l of lines) {
    if (!l.ws) throw new Error(`truth line without a connection number: ${JSON.stringify(l)}`);
  }
  fs.writeFileSync(file, lines.map((l) => JSON.stringify(l)).join('\n') + (lines.length ? '\n' : ''));
}

// line(e, proto, type, name, id, fields): a truth line for the entry e.
function line(e, proto, type, name, id, fields) {
  const l = { ws: e.ws, from: e.from, proto, type, name: name === undefined ? null : name };
  if (id !== undefined && id !== null) l.id = id;
  if (fields && Object.keys(fields).length) l.fields = fields;
  return l;
}

function parseArgs(argv) {
  const o = { port: 0, truth: '', variant: '' };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--port': o.port = Number(argv[++i]); break;
      case '--truth': o.truth = argv[++i]; break;
      case '--variant': o.variant = argv[++i]; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!o.port || !o.truth) throw new Error('need --port and --truth');
  return o;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// main(fn): run an async scenario, exit 1 on failure or after 60 s.
function main(fn) {
  const t = setTimeout(() => {
    console.error('timed out after 60 s');
    process.exit(1);
  }, 60000);
  fn(parseArgs(process.argv.slice(2))).then(() => {
    clearTimeout(t);
    setTimeout(() => process.exit(0), 300);
  }, (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}

module.exports = { log, tapWs, tapAll, libDir, version, writeTruth, line, sleep, main };
