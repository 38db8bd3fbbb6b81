#!/usr/bin/env bash
# record-demo.sh: record real WebSocket captures on loopback with a
# third-party implementation (Node's `ws` package, server and client) and
# tcpdump, into testdata/real/:
#
#   demo.pcapng                     permessage-deflate with context takeover
#   demo-no-context-takeover.pcapng server_ and client_no_context_takeover
#
# The session is scripted in scripts/record-demo.js: subprotocol chat.v2,
# JSON chat messages both ways (compressed, and uncompressed below 32
# bytes), a repeated message, a binary message, a fragmented compressed
# message, pings both ways with automatic pongs, close 1000 "bye".
#
# Needs: root (or CAP_NET_RAW) for tcpdump, node + npm (ws@8 is installed
# into a temporary directory from the npm registry), editcap (Wireshark)
# to write pcapng. On Debian: apt-get install tcpdump tshark nodejs npm.
#
# Usage: scripts/record-demo.sh [PORT]   (default 18765)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata/real"
port="${1:-18765}"

for tool in node npm tcpdump editcap; do
	command -v "$tool" >/dev/null || {
		echo "record-demo: $tool not found" >&2
		exit 1
	}
done

tmp=$(mktemp -d)
tcpdump_pid=
cleanup() {
	if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "record-demo: installing ws@8 into $tmp" >&2
(cd "$tmp" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --silent ws@8 >/dev/null 2>&1)
ws_version=$(cd "$tmp" && node -p 'require("ws/package.json").version')

# record NAME [no-context-takeover]
record() {
	local name=$1 mode=${2:-}
	local raw="$tmp/$name.pcap"
	# -s 0: whole packets; -U: write each packet at once; nanosecond stamps.
	tcpdump -i lo -s 0 -U -n --time-stamp-precision=nano -w "$raw" "tcp port $port" 2>"$tmp/tcpdump.err" &
	tcpdump_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	NODE_PATH="$tmp/node_modules" node "$root/scripts/record-demo.js" "$port" $mode
	sleep 0.5 # let the last FIN/ACK reach the capture
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
	mkdir -p "$out"
	editcap -F pcapng "$raw" "$out/$name.pcapng"
	echo "record-demo: wrote $out/$name.pcapng ($(wc -c <"$out/$name.pcapng") bytes, $(grep -o '[0-9]* packets captured' "$tmp/tcpdump.err"))" >&2
}

record demo
record demo-no-context-takeover no-context-takeover

echo "record-demo: node $(node --version), ws $ws_version, $(tcpdump --version 2>&1 | head -1), $(editcap --version 2>&1 | head -1)" >&2
