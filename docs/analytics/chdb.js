#!/usr/bin/env node
// Runs SQL in chDB, ClickHouse in-process (npm chdb, whose platform package
// ships libchdb), to try docs/analytics/clickhouse.sql without a server:
//
//   npm install --prefix ~/.cache/wscap-npm chdb@3.4.0
//   NODE_PATH=~/.cache/wscap-npm/node_modules node docs/analytics/chdb.js [--data DIR] ARG...
//
// Each ARG is one of
//   -f FILE         the statements of FILE (`--` comments dropped, split at `;`)
//   -i QUERY FILE   QUERY (an `INSERT ... FORMAT JSONEachRow`) with FILE as its
//                   data, as clickhouse-client sends `--query QUERY < FILE`
//   SQL             one statement
// and prints one line of JSON for each: the rows of its (last) statement, as
// ClickHouse's JSONEachRow writes them (in one JSON array). The data
// lives in DIR (default: a temporary directory, removed at the end).
// analytics_test.go drives it.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');

function statements(text) {
  return text
    .replace(/--[^\n]*/g, '')
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

// The rows of JSONEachRow output as one JSON array, the rows' text kept as
// ClickHouse wrote it (JSON.parse would round integers above 2^53).
function rows(out) {
  return '[' + out.split('\n').filter((l) => l !== '').join(',') + ']';
}

function main(argv) {
  let data = '';
  const jobs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--data' && i + 1 < argv.length) {
      data = argv[++i];
    } else if (argv[i] === '-f' && i + 1 < argv.length) {
      jobs.push(statements(fs.readFileSync(argv[++i], 'utf8')));
    } else if (argv[i] === '-i' && i + 2 < argv.length) {
      const query = argv[++i];
      jobs.push([query + '\n' + fs.readFileSync(argv[++i], 'utf8')]);
    } else {
      jobs.push([argv[i]]);
    }
  }
  if (jobs.length === 0) {
    throw new Error('usage: chdb.js [--data DIR] (SQL | -f FILE | -i QUERY FILE)...');
  }
  let tmp = '';
  if (data === '') {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'wscap-chdb-'));
    data = tmp;
  }
  const { Session } = require('chdb');
  const session = new Session(data);
  try {
    for (const job of jobs) {
      let out = '';
      for (const sql of job) {
        out = session.query(sql, 'JSONEachRow');
      }
      process.stdout.write(rows(String(out)) + '\n');
    }
  } finally {
    session.close();
    if (tmp !== '') {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  }
}

try {
  main(process.argv.slice(2));
} catch (err) {
  process.stderr.write('chdb.js: ' + (err && err.message ? err.message : String(err)) + '\n');
  process.exit(1);
}
