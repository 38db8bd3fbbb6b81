#!/usr/bin/env bash
# record-chromium.sh: record real WebSocket captures on loopback, with
# headless Chromium (and, for wss://, a Node `ws` client and a Go
# gorilla/websocket client) against a Node `ws` server, into testdata/real/:
#
#   chromium-deflate.pcapng              ws://, permessage-deflate, context takeover
#   chromium-deflate-no-takeover.pcapng  ws://, server_ and client_no_context_takeover
#   chromium-wss-tls13.pcapng + .keys    wss://, TLS 1.3 AES-256-GCM, Chromium's SSLKEYLOGFILE
#   chromium-wss-tls12.pcapng + .keys    wss://, TLS 1.2 ECDHE-RSA-AES128-GCM-SHA256,
#                                        max_window_bits=10 both ways
#   chromium-wss-tls13-dsb.pcapng        the TLS 1.3 capture with its key log
#                                        embedded (editcap --inject-secrets)
#   node-wss.pcapng + .keys              wss://, TLS 1.3 CHACHA20-POLY1305, ws client
#                                        (the TLS socket's 'keylog' event)
#   go-wss.pcapng + .keys                wss://, TLS 1.3 AES-128-GCM, gorilla/websocket
#                                        client (tls.Config.KeyLogWriter); it offers
#                                        no_context_takeover both ways
#
# The session (scripts/chromium/session.js, the server in server.js, driven
# by drive.js): text both ways, a repeated message, empty messages, binary,
# a ~200 KB JSON message each way (64-bit lengths), a message the server
# sends in 3 compressed frames, one it sends uncompressed, a ping from the
# server (Node and Go clients: one of their own too), close 1000.
# testdata/real/README.md lists every message.
#
# Needs: root (or CAP_NET_RAW) for tcpdump; node + npm (ws@8 and
# playwright-core are installed into a temporary directory from the npm
# registry); /usr/bin/chromium (Debian package chromium); go (builds
# scripts/chromium/go-client, which fetches gorilla/websocket through the
# module proxy); openssl (a throwaway self-signed certificate); tcpdump and
# editcap (Wireshark); tshark for the decryption check at the end (optional).
# Network: loopback only, besides the package downloads.
#
# Usage: scripts/record-chromium.sh [PORT]   (default 18780; the page is
# served on PORT+1, which is not captured)
# Set TRUTH_DIR=DIR to keep, for each capture, DIR/NAME.truth.jsonl: every
# message in order with its length and sha256, as the server saw it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata/real"
port="${1:-18780}"
helpers="$root/scripts/chromium"

for tool in node npm tcpdump editcap openssl go /usr/bin/chromium; do
	command -v "$tool" >/dev/null || {
		echo "record-chromium: $tool not found" >&2
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

echo "record-chromium: installing ws@8 and playwright-core into $tmp" >&2
(cd "$tmp" && npm init -y >/dev/null 2>&1 &&
	npm install --no-audit --no-fund --silent ws@8 playwright-core@1 >/dev/null 2>&1)
export NODE_PATH="$tmp/node_modules"
versions="node $(node --version), ws $(node -p 'require("ws/package.json").version'), playwright-core $(node -p 'require("playwright-core/package.json").version')"

echo "record-chromium: building the Go client" >&2
(cd "$helpers/go-client" && go build -o "$tmp/go-client" .)

# A throwaway self-signed RSA certificate (RSA: the TLS 1.2 capture uses an
# ECDHE-RSA cipher suite).
mkdir -p "$tmp/cert"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wscap.test \
	-addext subjectAltName=DNS:wscap.test \
	-keyout "$tmp/cert/key.pem" -out "$tmp/cert/cert.pem" 2>/dev/null

mkdir -p "$out"

# count RAW FILTER: how many packets of the raw capture RAW match FILTER.
count() {
	tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l
}

# capture NAME DRIVE-ARGS...: run one session under tcpdump into
# $tmp/NAME.pcap.
capture() {
	local name=$1
	shift
	# -s 0: whole packets; -B: a 64 MiB kernel buffer (with the default
	# 2 MiB, tcpdump reported drops here: loopback packets are up to 64 KiB);
	# --immediate-mode: libpcap hands over each packet at once; -U: write
	# each packet at once; nanosecond stamps.
	tcpdump -i lo -s 0 -B 65536 --immediate-mode -U -n --time-stamp-precision=nano -w "$tmp/$name.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
	tcpdump_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	kill -0 "$tcpdump_pid" 2>/dev/null || {
		cat "$tmp/tcpdump.err" >&2
		echo "record-chromium: tcpdump did not start (run as root)" >&2
		exit 1
	}
	sleep 0.2
	node "$helpers/drive.js" --port "$port" --truth "$tmp/$name.truth.jsonl" "$@" 2>"$tmp/$name.log" || {
		cat "$tmp/$name.log" >&2
		echo "record-chromium: $name failed" >&2
		exit 1
	}
	grep '^server: connection' "$tmp/$name.log" >&2 || true
	sleep 1 # let the last FIN/ACK reach the capture
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
}

# record NAME DRIVE-ARGS...: capture one session into $out/NAME.pcapng; with
# --tls in the arguments, the client's key log goes to $out/NAME.keys.
record() {
	local name=$1
	shift
	local raw="$tmp/$name.pcap" keys=() tls= try
	case " $* " in *" --tls "*)
		tls=1
		keys=(--cert "$tmp/cert" --keylog "$tmp/$name.keys" --server-keylog "$tmp/$name.server.keys")
		;;
	esac
	# A capture must have no packet dropped by the kernel, and hold the
	# client's SYN and FIN, and the server's FIN or an RST (the Go client
	# resets the connection when the server's TLS close_notify comes after
	# its FIN); else it is recorded again.
	for try in 1 2 3; do
		rm -f "$tmp/$name.keys" "$tmp/$name.server.keys"
		capture "$name" "${keys[@]}" "$@"
		if grep -q "^0 packets dropped by kernel" "$tmp/tcpdump.err" &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & tcp-syn != 0")" -ge 1 ] &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & tcp-fin != 0")" -ge 1 ] &&
			[ "$(count "$raw" "(tcp src port $port and tcp[tcpflags] & tcp-fin != 0) or tcp[tcpflags] & tcp-rst != 0")" -ge 1 ]; then
			break
		fi
		echo "record-chromium: $name: the capture is incomplete or dropped packets (try $try of 3)" >&2
		[ "$try" = 3 ] && exit 1
	done
	editcap -F pcapng "$raw" "$out/$name.pcapng"
	if [ -n "$tls" ]; then
		cp "$tmp/$name.keys" "$out/$name.keys"
		# Every secret the server logged must be in the client's key log
		# (but EXPORTER_SECRET, which Go does not log; nothing needs it).
		grep -v '^EXPORTER_SECRET ' "$tmp/$name.server.keys" | sort >"$tmp/server.keys.sorted"
		if ! sort "$tmp/$name.keys" | comm -13 - "$tmp/server.keys.sorted" | grep -q .; then
			echo "record-chromium: $name.keys has all $(wc -l <"$tmp/server.keys.sorted") traffic secrets the server logged" >&2
		else
			echo "record-chromium: WARNING: $name.keys lacks secrets the server logged" >&2
		fi
	fi
	if [ -n "${TRUTH_DIR:-}" ]; then
		mkdir -p "$TRUTH_DIR"
		cp "$tmp/$name.truth.jsonl" "$TRUTH_DIR/"
	fi
	echo "record-chromium: wrote $out/$name.pcapng ($(wc -c <"$out/$name.pcapng") bytes, $(grep -E "packets (captured|received|dropped)" "$tmp/tcpdump.err" | paste -sd, -))" >&2
}

record chromium-deflate --client chromium
record chromium-deflate-no-takeover --client chromium --no-context-takeover
record chromium-wss-tls13 --client chromium --tls 1.3
record chromium-wss-tls12 --client chromium --tls 1.2 --window-bits 10
record node-wss --client node --tls 1.3 --cipher TLS_CHACHA20_POLY1305_SHA256
record go-wss --client exec --tls 1.3 --cipher TLS_AES_128_GCM_SHA256 -- "$tmp/go-client"

# The TLS 1.3 capture again, with its key log in a Decryption Secrets Block.
editcap --inject-secrets "tls,$out/chromium-wss-tls13.keys" \
	"$out/chromium-wss-tls13.pcapng" "$out/chromium-wss-tls13-dsb.pcapng"
echo "record-chromium: wrote $out/chromium-wss-tls13-dsb.pcapng ($(wc -c <"$out/chromium-wss-tls13-dsb.pcapng") bytes)" >&2

# Cross-check: tshark must find (and, for wss, decrypt) the WebSocket frames.
if command -v tshark >/dev/null; then
	for f in chromium-deflate chromium-deflate-no-takeover chromium-wss-tls13 chromium-wss-tls12 chromium-wss-tls13-dsb node-wss go-wss; do
		opt=()
		[ -f "$out/$f.keys" ] && opt=(-o "tls.keylog_file:$out/$f.keys")
		n=$(tshark -r "$out/$f.pcapng" "${opt[@]}" -Y websocket -T fields -e websocket.opcode 2>/dev/null |
			tr ',' '\n' | grep -c . || true)
		echo "record-chromium: tshark decodes $n WebSocket frames in $f.pcapng" >&2
	done
fi

echo "record-chromium: $versions, $(/usr/bin/chromium --version 2>/dev/null | head -1), go $(go env GOVERSION), gorilla/websocket $(cd "$helpers/go-client" && go list -m -f '{{.Version}}' github.com/gorilla/websocket), $(openssl version), $(tcpdump --version 2>&1 | head -1), $(editcap --version 2>&1 | head -1)" >&2
