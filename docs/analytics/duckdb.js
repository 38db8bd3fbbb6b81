#!/usr/bin/env node
// Runs SQL in DuckDB through its Node bindings (npm @duckdb/node-api, which
// ships DuckDB itself), for machines without the duckdb CLI:
//
//   npm install --prefix ~/.cache/wscap-npm @duckdb/node-api@1.5.6-r.1
//   NODE_PATH=~/.cache/wscap-npm/node_modules node docs/analytics/duckdb.js [OPTION...] ARG...
//
// Each ARG is an SQL text (one or more statements) or `-f FILE` (a file of
// statements, e.g. docs/analytics/duckdb.sql); for each, one line of JSON is
// printed: the rows of its last statement (BIGINT and the like as strings,
// as @duckdb/node-api's getRowObjectsJson writes them). The database is in
// memory unless --db names a file; --threads N sets DuckDB's threads;
// --timing prints each ARG's wall time in ms to stderr ("ms N").
// analytics_test.go and parquet-measure.sh drive it.
'use strict';

const fs = require('fs');

async function main(argv) {
  let db = ':memory:';
  let timing = false;
  const config = {};
  const jobs = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--db' && i + 1 < argv.length) {
      db = argv[++i];
    } else if (argv[i] === '--threads' && i + 1 < argv.length) {
      config.threads = argv[++i];
    } else if (argv[i] === '--timing') {
      timing = true;
    } else if (argv[i] === '-f' && i + 1 < argv.length) {
      jobs.push(fs.readFileSync(argv[++i], 'utf8'));
    } else {
      jobs.push(argv[i]);
    }
  }
  if (jobs.length === 0) {
    throw new Error('usage: duckdb.js [--db FILE] [--threads N] [--timing] (SQL | -f FILE)...');
  }
  const { DuckDBInstance } = require('@duckdb/node-api');
  const instance = await DuckDBInstance.create(db, config);
  const conn = await instance.connect();
  for (const sql of jobs) {
    const start = process.hrtime.bigint();
    const reader = await conn.runAndReadAll(sql);
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    process.stdout.write(JSON.stringify(reader.getRowObjectsJson()) + '\n');
    if (timing) {
      process.stderr.write('ms ' + ms.toFixed(1) + '\n');
    }
  }
}

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write('duckdb.js: ' + (err && err.message ? err.message : String(err)) + '\n');
  process.exit(1);
});
