// stompbroker.js: a small STOMP 1.2 broker over WebSocket (ws) for the stomp
// recording; no maintained STOMP-over-WebSocket broker is on npm (the one
// there, stomp-broker-js, speaks STOMP 1.1 and is unmaintained). The client
// under test is @stomp/stompjs; this broker does what STOMP 1.2 asks of a
// server for the frames the session uses:
//
// - subprotocol v12.stomp (else v11.stomp, v10.stomp);
// - CONNECT/STOMP -> CONNECTED with version, session, server and the
//   negotiated heart-beat (it sends an EOL every max(own, asked) ms while
//   the connection is open, and accepts the client's EOLs);
// - SUBSCRIBE (id, destination, ack auto|client|client-individual),
//   UNSUBSCRIBE, SEND -> MESSAGE to each subscription of the destination with
//   subscription, message-id, destination, the SEND's own headers and body
//   (content-length when the body is not empty, ack when the subscription
//   acks), ACK/NACK of those ids; BEGIN/COMMIT/ABORT (SENDs of a
//   transaction are held until COMMIT);
// - receipt on any client frame -> RECEIPT with receipt-id (after
//   DISCONNECT, the close);
// - a SEND to /queue/forbidden, or a frame it does not know -> ERROR with a
//   message header, a text body and receipt-id, then the close.
//
// Frames are parsed with stompjs' own Parser and written by hand: commands
// and headers as text, header values escaped (not for CONNECTED), a text
// frame unless the body is not valid UTF-8 (then a binary frame).
'use strict';

const { WebSocketServer } = require('ws');
const { Parser, FrameImpl } = require('@stomp/stompjs');

function esc(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/\r/g, '\\r').replace(/\n/g, '\\n').replace(/:/g, '\\c');
}

function isUTF8(buf) {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buf);
    return true;
  } catch (e) {
    return false;
  }
}

// frame serializes a STOMP frame: [command, [[k, v], ...], body Buffer].
function frame(command, headers, body = Buffer.alloc(0)) {
  const lines = [command];
  for (const [k, v] of headers) lines.push(command === 'CONNECTED' ? `${k}:${v}` : `${esc(k)}:${esc(v)}`);
  if (body.length) lines.push(`content-length:${body.length}`);
  const head = Buffer.from(lines.join('\n') + '\n\n', 'utf8');
  const all = Buffer.concat([head, body, Buffer.from([0])]);
  return isUTF8(all) ? all.toString('utf8') : all;
}

function startBroker(server, opts = {}) {
  const beat = opts.heartbeat || 500;
  const wss = new WebSocketServer({
    server,
    handleProtocols: (ps) => ['v12.stomp', 'v11.stomp', 'v10.stomp'].find((p) => ps.has(p)) || false,
  });
  const subs = new Map(); // destination -> Set of {conn, id, ack}
  let nextMessage = 1;
  let nextSession = 1;

  wss.on('connection', (ws) => {
    const conn = { ws, subs: new Map(), tx: new Map(), timer: null };
    const session = `session-${nextSession++}`;
    const send = (command, headers, body) => {
      if (ws.readyState === ws.OPEN) ws.send(frame(command, headers, body));
    };
    const receipt = (h) => {
      if (h.receipt !== undefined) send('RECEIPT', [['receipt-id', h.receipt]]);
    };
    const error = (h, message, text) => {
      const hs = [['message', message], ['content-type', 'text/plain']];
      if (h.receipt !== undefined) hs.push(['receipt-id', h.receipt]);
      send('ERROR', hs, Buffer.from(text));
      setTimeout(() => ws.close(), 50);
    };
    const deliver = (h, body) => {
      for (const s of subs.get(h.destination) || []) {
        const id = `m-${nextMessage++}`;
        const hs = [['subscription', s.id], ['message-id', id], ['destination', h.destination]];
        if (s.ack !== 'auto') hs.push(['ack', id]);
        for (const [k, v] of Object.entries(h)) {
          if (!['destination', 'receipt', 'transaction', 'content-length'].includes(k)) hs.push([k, v]);
        }
        s.conn.send('MESSAGE', hs, body);
      }
    };
    conn.send = send;

    const onFrame = (raw) => {
      const f = FrameImpl.fromRawFrame(raw, true);
      const h = f.headers;
      const body = Buffer.from(f.binaryBody);
      switch (f.command) {
        case 'CONNECT':
        case 'STOMP': {
          const [cx, cy] = (h['heart-beat'] || '0,0').split(',').map(Number);
          const hs = [['version', '1.2'], ['session', session], ['server', 'wscap-stompbroker/1.0'], ['heart-beat', `${beat},${beat}`]];
          send('CONNECTED', hs);
          if (cy > 0) {
            const every = Math.max(cy, beat);
            conn.timer = setInterval(() => { if (ws.readyState === ws.OPEN) ws.send('\n'); }, every);
          }
          void cx;
          break;
        }
        case 'SUBSCRIBE': {
          const s = { conn, id: h.id, ack: h.ack || 'auto' };
          conn.subs.set(h.id, { ...s, destination: h.destination });
          if (!subs.has(h.destination)) subs.set(h.destination, new Set());
          subs.get(h.destination).add(s);
          receipt(h);
          break;
        }
        case 'UNSUBSCRIBE': {
          const s = conn.subs.get(h.id);
          if (s) {
            for (const x of subs.get(s.destination) || []) if (x.conn === conn && x.id === h.id) subs.get(s.destination).delete(x);
            conn.subs.delete(h.id);
          }
          receipt(h);
          break;
        }
        case 'SEND':
          if (h.destination === '/queue/forbidden') {
            error(h, 'access refused', `SEND to ${h.destination} is not allowed for ${session}`);
            return;
          }
          if (h.transaction !== undefined) {
            if (!conn.tx.has(h.transaction)) return error(h, 'no such transaction', h.transaction);
            conn.tx.get(h.transaction).push([h, body]);
          } else {
            deliver(h, body);
          }
          receipt(h);
          break;
        case 'BEGIN':
          conn.tx.set(h.transaction, []);
          receipt(h);
          break;
        case 'COMMIT':
        case 'ABORT': {
          const held = conn.tx.get(h.transaction);
          if (!held) return error(h, 'no such transaction', h.transaction);
          conn.tx.delete(h.transaction);
          if (f.command === 'COMMIT') for (const [sh, sb] of held) deliver(sh, sb);
          receipt(h);
          break;
        }
        case 'ACK':
        case 'NACK':
          receipt(h);
          break;
        case 'DISCONNECT':
          receipt(h);
          break;
        default:
          error(h, 'unknown command', f.command);
      }
    };
    const parser = new Parser(onFrame, () => {});
    ws.on('message', (data, isBinary) => {
      const chunk = isBinary ? data.buffer.slice(data.byteOffset, data.byteOffset + data.length) : data.toString('utf8');
      parser.parseChunk(chunk);
    });
    ws.on('close', () => {
      if (conn.timer) clearInterval(conn.timer);
      for (const s of conn.subs.values()) {
        for (const x of subs.get(s.destination) || []) if (x.conn === conn) subs.get(s.destination).delete(x);
      }
    });
  });
  return wss;
}

module.exports = { startBroker };
