// ocpp.js: OCPP-J over WebSocket with ocpp-rpc (its RPCServer and its
// RPCClient, in this process, strictMode on with ocpp-rpc's own schemas),
// for scripts/record-app2.sh. --variant ocpp1.6 or ocpp2.0.1: the one
// subprotocol both sides offer.
//
// The charging station (RPCClient, identity CP-001) calls BootNotification,
// Heartbeat, StatusNotification, Authorize and DataTransfer (whose server
// handler throws createRPCError("NotImplemented", ...): a CALLERROR); the
// CSMS (RPCServer) calls RemoteStartTransaction (1.6) or
// RequestStartTransaction (2.0.1), which the station accepts, and Reset,
// which the station has no handler for (ocpp-rpc answers NotImplemented);
// the station closes with 1000.
//
// Truth: every message either side's library sent (tap.js), parsed as
// OCPP-J ([2,id,action,payload], [3,id,payload], [4,id,code,desc,details]).
'use strict';

const tap = require('./tap.js');

tap.tapAll([tap.libDir('ocpp-rpc'), tap.libDir('ws')]);
const { RPCServer, RPCClient, createRPCError } = require('ocpp-rpc');

const calls = {
  'ocpp1.6': {
    boot: { chargePointVendor: 'wscap', chargePointModel: 'Recorder-1', firmwareVersion: '1.0.3' },
    status: { connectorId: 1, errorCode: 'NoError', status: 'Available', timestamp: '2026-11-21T10:00:00.000Z' },
    authorize: { idTag: 'ABC123' },
    authorized: { idTagInfo: { status: 'Accepted', expiryDate: '2027-01-01T00:00:00.000Z' } },
    dataTransfer: { vendorId: 'org.wscap', messageId: 'Diagnostics', data: 'level=3' },
    remoteStart: ['RemoteStartTransaction', { connectorId: 1, idTag: 'ABC123' }],
    reset: { type: 'Soft' },
  },
  'ocpp2.0.1': {
    boot: { reason: 'PowerUp', chargingStation: { model: 'Recorder-2', vendorName: 'wscap', firmwareVersion: '2.0.1' } },
    status: { timestamp: '2026-11-21T10:00:00.000Z', connectorStatus: 'Available', evseId: 1, connectorId: 1 },
    authorize: { idToken: { idToken: 'ABC123', type: 'ISO14443' } },
    authorized: { idTokenInfo: { status: 'Accepted' } },
    dataTransfer: { vendorId: 'org.wscap', messageId: 'Diagnostics', data: { level: 3 } },
    remoteStart: ['RequestStartTransaction', { idToken: { idToken: 'ABC123', type: 'ISO14443' }, remoteStartId: 42, evseId: 1 }],
    reset: { type: 'Immediate' },
  },
};

function truthOf(log, version) {
  const lines = [];
  const actions = new Map(); // `${ws} ${from} ${id}` -> action of a CALL
  for (const e of log) {
    const m = JSON.parse(e.data.toString('utf8'));
    const other = e.from === 'client' ? 'server' : 'client';
    switch (m[0]) {
      case 2:
        actions.set(`${e.ws} ${e.from} ${m[1]}`, m[2]);
        lines.push(tap.line(e, 'ocpp', 'CALL', m[2], m[1], { payload: m[3], version }));
        break;
      case 3:
        lines.push(tap.line(e, 'ocpp', 'CALLRESULT', actions.get(`${e.ws} ${other} ${m[1]}`) || null, m[1], { payload: m[2], version }));
        break;
      case 4:
        lines.push(tap.line(e, 'ocpp', 'CALLERROR', actions.get(`${e.ws} ${other} ${m[1]}`) || null, m[1], {
          error_code: m[2], error_description: m[3], error_details: m[4], version,
        }));
        break;
      default:
        throw new Error(`not OCPP-J: ${JSON.stringify(m)}`);
    }
  }
  return lines;
}

tap.main(async (o) => {
  const proto = o.variant;
  const c = calls[proto];
  if (!c) throw new Error('--variant ocpp1.6 or ocpp2.0.1');
  const server = new RPCServer({ protocols: [proto], strictMode: true });
  const serverDone = new Promise((resolve) => {
    server.on('client', (client) => {
      client.handle('BootNotification', () => ({ status: 'Accepted', currentTime: '2026-11-21T10:00:01.000Z', interval: 300 }));
      client.handle('Heartbeat', () => ({ currentTime: '2026-11-21T10:00:02.000Z' }));
      client.handle('StatusNotification', () => ({}));
      client.handle('Authorize', () => c.authorized);
      client.handle('DataTransfer', ({ params }) => {
        throw createRPCError('NotImplemented', 'DataTransfer is not supported by this CSMS', { vendorId: params.vendorId });
      });
      client.once('close', resolve);
      // The CSMS's own calls, once the station has booted.
      client.once('message', async () => {
        await tap.sleep(50);
        const [method, params] = c.remoteStart;
        console.error(`ocpp: ${method} -> ${JSON.stringify(await client.call(method, params))}`);
        const r = await client.call('Reset', c.reset).catch((err) => `${err.rpcErrorCode}: ${err.message}`);
        console.error(`ocpp: Reset -> ${r}`);
      });
    });
  });
  await server.listen(o.port, '127.0.0.1');

  const cli = new RPCClient({
    endpoint: `ws://127.0.0.1:${o.port}/ocpp`, identity: 'CP-001', protocols: [proto], strictMode: true, reconnect: false,
  });
  let started = null;
  cli.handle(c.remoteStart[0], ({ params }) => {
    started = params;
    return { status: 'Accepted' };
  });
  await cli.connect();
  console.error(`ocpp: protocol ${cli.protocol}`);
  console.error(`ocpp: BootNotification -> ${JSON.stringify(await cli.call('BootNotification', c.boot))}`);
  await tap.sleep(150);
  console.error(`ocpp: Heartbeat -> ${JSON.stringify(await cli.call('Heartbeat', {}))}`);
  console.error(`ocpp: StatusNotification -> ${JSON.stringify(await cli.call('StatusNotification', c.status))}`);
  console.error(`ocpp: Authorize -> ${JSON.stringify(await cli.call('Authorize', c.authorize))}`);
  const dt = await cli.call('DataTransfer', c.dataTransfer).catch((err) => `${err.rpcErrorCode}: ${err.message} ${JSON.stringify(err.details)}`);
  console.error(`ocpp: DataTransfer -> ${dt}`);
  if (!started) throw new Error('the CSMS did not start a transaction');
  await cli.close({ code: 1000, reason: 'done' });
  await serverDone;
  await server.close();
  tap.writeTruth(o.truth, truthOf(tap.log, proto.replace(/^ocpp/, '')));
});
