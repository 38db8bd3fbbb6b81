#!/usr/bin/env bash
# record-app2.sh: record real captures of application protocols over
# WebSocket, made by the protocols' own npm libraries on loopback, into
# testdata/real/app/ (issue 14; scripts/record-app.sh records socket.io,
# MQTT, STOMP and GraphQL):
#
#   jsonrpc             rpc-websockets Server + Client (and a raw ws client
#                       for a batch)                               port 18811
#   ocpp16, ocpp201     ocpp-rpc RPCServer + RPCClient, subprotocols
#                       ocpp1.6 and ocpp2.0.1                      18812, 18813
#   signalr-json,       @microsoft/signalr HubConnection (JSON, and
#   signalr-msgpack     @microsoft/signalr-protocol-msgpack) against the
#                       hub server in scripts/app2/signalr.js      18814, 18815
#   phoenix-v2,         the `phoenix` client (Socket, Channel) against the
#   phoenix-v1          channels server in scripts/app2/phoenix.js 18816, 18817
#   wamp                two autobahn sessions against the fox-wamp
#                       router (subprotocol wamp.2.json)           18818
#   sip                 JsSIP UA against the SIP registrar/UA in
#                       scripts/app2/sip.js (subprotocol sip)      18819
#   formats-msgpack,    a ws server and client exchanging
#   formats-cbor,       @msgpack/msgpack, cbor-x and protobufjs
#   formats-protobuf    (testdata/real/app/formats.proto) messages 18820
#
# For each NAME: NAME.pcapng (tcpdump -i lo -s 0 on the scenario's port,
# converted to pcapng by editcap) and NAME.truth.jsonl: one line per unit
# the libraries sent, taken from the data each library handed to its
# WebSocket (scripts/app2/tap.js wraps `ws`'s send) and parsed with the
# library's own parser where it has one (the format is at the end of the
# app-layer contract; testdata/real/app/README-2.md lists every session).
#
# Needs: root (or CAP_NET_RAW) for tcpdump; node and npm (the packages
# below are installed, at these versions, into a temporary directory from
# the npm registry, with --ignore-scripts: fox-wamp depends on sqlite3,
# which it does not use here and which would otherwise compile from
# source; ws, rpc-websockets and cbor-x fall back to JavaScript without
# their optional native modules); tcpdump and editcap (Wireshark).
# Loopback only, besides npm.
#
# Usage: scripts/record-app2.sh [NAME...]   (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata/real/app"
helpers="$root/scripts/app2"

if [ "$(id -u)" != 0 ]; then
	echo "record-app2: run as root (tcpdump captures on lo)" >&2
	exit 2
fi
for tool in node npm tcpdump editcap; do
	command -v "$tool" >/dev/null || {
		echo "record-app2: $tool not found" >&2
		exit 2
	}
done

packages=(
	ws@8.23.1
	rpc-websockets@10.0.1
	ocpp-rpc@2.2.1
	@microsoft/signalr@10.0.11
	@microsoft/signalr-protocol-msgpack@10.0.11
	phoenix@1.8.16
	autobahn@22.11.1
	fox-wamp@0.7.28
	jssip@3.13.8
	@msgpack/msgpack@3.1.3
	cbor-x@1.6.9
	protobufjs@8.8.1
)

tmp=$(mktemp -d)
tcpdump_pid=
cleanup() {
	if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

echo "record-app2: installing ${packages[*]} into $tmp" >&2
(cd "$tmp" && npm init -y >/dev/null 2>&1 &&
	npm install --no-audit --no-fund --ignore-scripts --silent "${packages[@]}" >/dev/null 2>&1) || {
	echo "record-app2: npm install failed" >&2
	exit 1
}
export NODE_PATH="$tmp/node_modules"
mkdir -p "$out"

count() {
	tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l
}

# capture NAME PORT SCRIPT ARGS...: run one scenario under tcpdump into
# $tmp/NAME.pcap.
capture() {
	local name=$1 port=$2 script=$3
	shift 3
	tcpdump -i lo -s 0 -B 65536 --immediate-mode -U -n --time-stamp-precision=nano -w "$tmp/$name.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
	tcpdump_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	kill -0 "$tcpdump_pid" 2>/dev/null || {
		cat "$tmp/tcpdump.err" >&2
		echo "record-app2: tcpdump did not start" >&2
		exit 1
	}
	sleep 0.2
	(cd "$helpers" && node "$script" --port "$port" --truth "$tmp/$name.truth.jsonl" "$@") 2>"$tmp/$name.log" || {
		cat "$tmp/$name.log" >&2
		echo "record-app2: $name failed" >&2
		exit 1
	}
	sed "s/^/record-app2: $name: /" "$tmp/$name.log" >&2
	sleep 1 # let the last FIN/ACK reach the capture
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
}

# record NAME PORT SCRIPT ARGS...: capture a scenario into $out/NAME.pcapng
# and $out/NAME.truth.jsonl; recorded again (up to 3 times) when the kernel
# dropped packets or a SYN or the FINs of both sides are missing.
record() {
	local name=$1 port=$2 try raw="$tmp/$1.pcap"
	for try in 1 2 3; do
		capture "$@"
		if grep -q "^0 packets dropped by kernel" "$tmp/tcpdump.err" &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & tcp-syn != 0")" -ge 1 ] &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & (tcp-fin|tcp-rst) != 0")" -ge 1 ] &&
			[ "$(count "$raw" "tcp src port $port and tcp[tcpflags] & (tcp-fin|tcp-rst) != 0")" -ge 1 ]; then
			break
		fi
		echo "record-app2: $name: the capture is incomplete or dropped packets (try $try of 3)" >&2
		[ "$try" = 3 ] && exit 1
	done
	editcap -F pcapng "$raw" "$out/$name.pcapng"
	cp "$tmp/$name.truth.jsonl" "$out/$name.truth.jsonl"
	echo "record-app2: wrote $out/$name.pcapng ($(wc -c <"$out/$name.pcapng") bytes, $(grep -E "packets (captured|received|dropped)" "$tmp/tcpdump.err" | paste -sd, -)), $(wc -l <"$out/$name.truth.jsonl") truth lines" >&2
}

want() {
	[ $# -eq 0 ] && return 0
	local n
	for n in "${selected[@]}"; do [ "$n" = "$1" ] && return 0; done
	return 1
}
selected=("$@")
one() {
	if [ ${#selected[@]} -eq 0 ] || want "$1"; then record "$@"; fi
}

one jsonrpc 18811 jsonrpc.js
one ocpp16 18812 ocpp.js --variant ocpp1.6
one ocpp201 18813 ocpp.js --variant ocpp2.0.1
one signalr-json 18814 signalr.js --variant json
one signalr-msgpack 18815 signalr.js --variant messagepack
one phoenix-v2 18816 phoenix.js --variant 2.0.0
one phoenix-v1 18817 phoenix.js --variant 1.0.0
one wamp 18818 wamp.js
one sip 18819 sip.js
one formats-msgpack 18820 formats.js --variant msgpack
one formats-cbor 18820 formats.js --variant cbor
one formats-protobuf 18820 formats.js --variant protobuf

versions="node $(node --version)"
for p in "${packages[@]}"; do
	n=${p%@*}
	versions="$versions, $n $(node -p "require('$tmp/node_modules/$n/package.json').version")"
done
echo "record-app2: $versions, $(tcpdump --version 2>&1 | head -1), $(editcap --version 2>&1 | head -1)" >&2
