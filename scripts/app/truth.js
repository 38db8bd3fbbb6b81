// truth.js: the truth file of one recording (testdata/real/app/NAME.truth.jsonl):
// one JSON line per unit an application logged, in the order the library
// logged it, in the format of the last section of the app layer's contract:
//   {"ws": K, "from": "client"|"server", "proto": P, "type": T, "name": N|null,
//    "id": ID (optional), "fields": {...} (optional)}
// K is the 1-based number of the WebSocket connection in the capture (the
// order of the Upgrades). Lines of one (ws, from) are written in the order
// the sender sent them; lines of different directions may interleave.
'use strict';

const fs = require('fs');

class Truth {
  constructor(file) {
    this.file = file;
    this.lines = [];
  }

  // add appends one unit; id and fields are left out when undefined.
  add(ws, from, proto, type, name, id, fields) {
    if (!Number.isInteger(ws) || ws < 1) throw new Error(`truth: bad ws ${ws}`);
    if (from !== 'client' && from !== 'server') throw new Error(`truth: bad from ${from}`);
    const o = { ws, from, proto, type, name: name === undefined ? null : name };
    if (id !== undefined && id !== null) o.id = id;
    if (fields !== undefined) {
      const f = {};
      for (const [k, v] of Object.entries(fields)) if (v !== undefined) f[k] = v;
      if (Object.keys(f).length) o.fields = f;
    }
    this.lines.push(o);
  }

  write() {
    fs.writeFileSync(this.file, this.lines.map((l) => JSON.stringify(l)).join('\n') + (this.lines.length ? '\n' : ''));
  }
}

// blob returns the contract's field for bytes: {key: string} when the bytes
// are valid UTF-8, else {key_base64: base64}.
function blob(key, buf) {
  buf = Buffer.from(buf);
  const s = new TextDecoder('utf-8', { fatal: false }).decode(buf);
  if (Buffer.from(s, 'utf8').equals(buf) && !s.includes('\ufffd')) return { [key]: s };
  return { [`${key}_base64`]: buf.toString('base64') };
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

function parseArgs(argv) {
  const o = { port: 0, truth: '' };
  for (let i = 0; i < argv.length; i++) {
    switch (argv[i]) {
      case '--port': o.port = Number(argv[++i]); break;
      case '--truth': o.truth = argv[++i]; break;
      case '--scenario': o.scenario = argv[++i]; break;
      default: throw new Error(`unknown argument ${argv[i]}`);
    }
  }
  if (!o.port || !o.truth) throw new Error('need --port and --truth');
  return o;
}

// main runs fn(opts, truth), writes the truth file and exits 0, or exits 1
// on an error or after limitMs.
function main(fn, limitMs = 30000) {
  const o = parseArgs(process.argv.slice(2));
  const truth = new Truth(o.truth);
  const timer = setTimeout(() => {
    console.error(`${o.scenario || 'recording'}: timed out after ${limitMs} ms`);
    process.exit(1);
  }, limitMs);
  fn(o, truth).then(() => {
    truth.write();
    clearTimeout(timer);
    console.error(`${o.scenario || 'recording'}: ${truth.lines.length} truth lines`);
    setTimeout(() => process.exit(0), 100);
  }, (err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}

module.exports = { Truth, blob, sleep, main };
