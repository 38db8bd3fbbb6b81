#!/usr/bin/env bash
# Would `wscap --parquet DIR` be worth adding? Measures, for one capture:
# the size of its JSON Lines, of the same compressed with zstd -3, and of
# Parquet (zstd) written by DuckDB from them (one file, and one file per
# event type); the time of that conversion; and DuckDB's time for a typical
# query (messages and message bytes per connection and direction) on each.
#
#   docs/analytics/parquet-measure.sh [CAPTURE]     (default /tmp/wsbench/medium.pcap)
#
# Needs go, zstd, node and @duckdb/node-api in ${WSCAP_NPM_DIR:-~/.cache/wscap-npm}
# (npm install --prefix ~/.cache/wscap-npm @duckdb/node-api@1.5.6-r.1).
# WSCAP_ARGS adds wscap flags (e.g. "--max-payload 64": metadata without the
# payloads). THREADS (default 2) sets DuckDB's threads, RUNS (default 3) how often each
# query runs (the best time is reported). The files go to a temporary
# directory under ${TMPDIR:-/tmp}, removed at the end (KEEP=1 keeps them).
set -euo pipefail
cd "$(dirname "$0")/../.."

pcap=${1:-/tmp/wsbench/medium.pcap}
threads=${THREADS:-2}
runs=${RUNS:-3}
export NODE_PATH="${WSCAP_NPM_DIR:-$HOME/.cache/wscap-npm}/node_modules"
[ -f "$NODE_PATH/@duckdb/node-api/package.json" ] || {
	echo "@duckdb/node-api not found in $NODE_PATH" >&2; exit 2; }
command -v zstd >/dev/null || { echo "zstd not found (apt-get install zstd)" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/wscap-parquet.XXXXXX")
[ "${KEEP:-0}" = 1 ] || trap 'rm -rf "$work"' EXIT

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
size() { du -sb "$1" | cut -f1; }
mb() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }

go build -o "$work/wscap" .
j=$work/events.jsonl
t0=$(now)
# shellcheck disable=SC2086
"$work/wscap" -r "$pcap" --json --summary --no-progress ${WSCAP_ARGS:-} >"$j"
t_wscap=$(secs "$t0" "$(now)")
lines=$(wc -l <"$j")

t0=$(now)
zstd -3 -T1 -q -k "$j" -o "$j.zst"
t_zstd=$(secs "$t0" "$(now)")

duck() { node docs/analytics/duckdb.js --threads "$threads" --timing "$@" 2>"$work/ms" >"$work/out"; }

# JSON Lines -> Parquet, as a user would convert them.
src="read_json('$j', format = 'newline_delimited', sample_size = -1)"
duck "COPY (SELECT * FROM $src) TO '$work/events.parquet' (FORMAT parquet, COMPRESSION zstd)"
t_pq=$(awk '{ printf "%.2f", $2 / 1000 }' "$work/ms")
duck "COPY (SELECT * FROM $src) TO '$work/by_type' (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (type))"
t_pqt=$(awk '{ printf "%.2f", $2 / 1000 }' "$work/ms")

# The query, on each form; every form must give the same rows.
query() { echo "SELECT conn, \"from\", count(*) AS messages, sum(len) AS bytes FROM $1 WHERE type = 'message' GROUP BY ALL ORDER BY ALL"; }
cols="columns = {type: 'VARCHAR', conn: 'BIGINT', \"from\": 'VARCHAR', len: 'UBIGINT'}"
declare -A forms=(
	[jsonl]="read_json('$j', format = 'newline_delimited')"
	[jsonl_columns]="read_json('$j', format = 'newline_delimited', $cols)"
	[jsonl_zst]="read_json('$j.zst', format = 'newline_delimited', $cols)"
	[parquet]="read_parquet('$work/events.parquet')"
	[parquet_by_type]="read_parquet('$work/by_type/*/*.parquet', hive_partitioning = true)"
)
order="jsonl jsonl_columns jsonl_zst parquet parquet_by_type"
declare -A best
ref=""
for f in $order; do
	args=()
	for _ in $(seq "$runs"); do args+=("$(query "${forms[$f]}")"); done
	duck "${args[@]}"
	best[$f]=$(sort -n -k2 "$work/ms" | head -1 | awk '{ printf "%.2f", $2 / 1000 }')
	sum=$(head -1 "$work/out" | sha256sum | cut -c1-16)
	rows=$(head -1 "$work/out" | grep -o '"conn"' | wc -l)
	if [ -z "$ref" ]; then ref=$sum; elif [ "$sum" != "$ref" ]; then
		echo "the query on $f gives other rows than on jsonl" >&2; exit 1
	fi
done

s_j=$(size "$j"); s_z=$(size "$j.zst"); s_p=$(size "$work/events.parquet"); s_t=$(size "$work/by_type")
cat <<EOF
capture: $pcap ($(mb "$(size "$pcap")") MB), wscap --json --summary ${WSCAP_ARGS:-}: $lines events, query result: $rows rows
DuckDB $(node docs/analytics/duckdb.js "SELECT version() AS v" | sed 's/.*"v":"\([^"]*\)".*/\1/'), $threads threads; $(nproc) cores; best of $runs runs

| form | size (MB) | vs JSON Lines | made in (s) | query (s) |
|---|---:|---:|---:|---:|
| JSON Lines (\`wscap --json --summary\`) | $(mb "$s_j") | 1.00 | $t_wscap (wscap) | ${best[jsonl]} (auto-detected columns), ${best[jsonl_columns]} (the query's 4 columns given) |
| JSON Lines + \`zstd -3\` | $(mb "$s_z") | $(awk -v a="$s_z" -v b="$s_j" 'BEGIN { printf "%.3f", a / b }') | +$t_zstd | ${best[jsonl_zst]} (4 columns given) |
| Parquet, zstd, one file | $(mb "$s_p") | $(awk -v a="$s_p" -v b="$s_j" 'BEGIN { printf "%.3f", a / b }') | +$t_pq (DuckDB COPY) | ${best[parquet]} |
| Parquet, zstd, a file per type | $(mb "$s_t") | $(awk -v a="$s_t" -v b="$s_j" 'BEGIN { printf "%.3f", a / b }') | +$t_pqt (DuckDB COPY) | ${best[parquet_by_type]} |
EOF
