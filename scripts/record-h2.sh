#!/usr/bin/env bash
# record-h2.sh: record real WebSocket-over-HTTP/2 captures (RFC 8441
# extended CONNECT) on loopback into testdata/real/:
#
#   chromium-h2-wss.pcapng + .keys  headless Chromium over TLS 1.3 (ALPN h2),
#                                   Chromium's SSLKEYLOGFILE
#   firefox-h2-wss.pcapng + .keys   headless Firefox ESR over TLS 1.3 (ALPN h2),
#                                   SSLKEYLOGFILE (when firefox-esr is installed)
#   node-h2c.pcapng                 Node's http2 client, h2c with prior
#                                   knowledge (no TLS)
#   node-h2-wss.pcapng + .keys      Node's http2 client over TLS 1.3 (ALPN h2),
#                                   the TLS socket's 'keylog' event
#
# and, for each, NAME.truth.jsonl: every WebSocket message of both
# directions, in the order the server saw them, with its h2 stream id,
# opcode, length and sha256 (after reassembly and inflation), and one close
# line per stream (the format of testdata/real/*.truth.jsonl, plus
# "h2_stream"). A subdirectory of its own: the tests that run over every
# testdata/real/*.pcapng (goldens, truth, -j) expect WebSockets over
# HTTP/1.1; move the files up once wscap decodes RFC 8441.
#
# The server (scripts/h2/server.js, run by scripts/h2/drive.js) is Node's
# http2 module with settings.enableConnectProtocol (SETTINGS_ENABLE_CONNECT_PROTOCOL=1),
# speaking RFC 6455 on each extended CONNECT stream with the `ws` package
# (scripts/h2/wsh2.js). On one h2 connection the client opens two
# WebSockets at once, /ws/a (subprotocol wscap.v1, permessage-deflate) and
# /ws/b (subprotocol chat, the server declines permessage-deflate), beside
# ordinary GET/POST streams, runs scripts/h2/session.js on both (text,
# a repeated text, binary, a server ping, a 3-frame server message, close
# 1000), and the server ends the connection with GOAWAY.
# testdata/real/README.md lists every message.
#
# Needs: root (or CAP_NET_RAW) for tcpdump; node + npm (ws@8.23.1 is
# installed into a temporary directory from the npm registry);
# /usr/bin/chromium (Debian package chromium); optionally firefox-esr and
# certutil (Debian packages firefox-esr, libnss3-tools); openssl (a throwaway
# CA and server certificate); tcpdump and editcap (Wireshark); tshark for the
# check at the end (optional). Network: loopback only, besides npm.
#
# Usage: scripts/record-h2.sh [PORT]   (default 18790)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata/real/h2"
port="${1:-18790}"
helpers="$root/scripts/h2"

for tool in node npm tcpdump editcap openssl /usr/bin/chromium; do
	command -v "$tool" >/dev/null || {
		echo "record-h2: $tool not found" >&2
		exit 1
	}
done
names="chromium-h2-wss node-h2c node-h2-wss"
# Firefox is optional (Debian packages firefox-esr and, for certutil,
# libnss3-tools).
firefox=
if command -v firefox-esr >/dev/null && command -v certutil >/dev/null; then
	firefox=1
else
	echo "record-h2: no firefox-esr or certutil: firefox-h2-wss is not recorded" >&2
fi

tmp=$(mktemp -d)
tcpdump_pid=
cleanup() {
	if [ -n "$tcpdump_pid" ]; then kill "$tcpdump_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

# Exactly this ws: wsh2.js uses its internal PerMessageDeflate and
# extension modules, whose API changed within 8.x.
echo "record-h2: installing ws@8.23.1 into $tmp" >&2
(cd "$tmp" && npm init -y >/dev/null 2>&1 &&
	npm install --no-audit --no-fund --silent ws@8.23.1 >/dev/null 2>&1)
export NODE_PATH="$tmp/node_modules"
versions="node $(node --version), ws $(node -p 'require("ws/package.json").version')"

# A throwaway CA and a server certificate for wscap.test signed by it:
# Firefox, which has no --ignore-certificate-errors, gets the CA in its
# profile (a self-signed server certificate with CA:TRUE, as `openssl req
# -x509` makes, is refused as a CA used as an end entity).
mkdir -p "$tmp/cert"
(
	cd "$tmp/cert"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=wscap test CA" \
		-keyout ca.key -out ca.pem 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -subj /CN=wscap.test -keyout key.pem -out leaf.csr 2>/dev/null
	printf 'subjectAltName=DNS:wscap.test\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >leaf.ext
	openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile leaf.ext -out cert.pem 2>/dev/null
)

mkdir -p "$out"

# count RAW FILTER: how many packets of the raw capture RAW match FILTER.
count() {
	tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l
}

# capture NAME DRIVE-ARGS...: run one session under tcpdump into
# $tmp/NAME.pcap (the options of record-chromium.sh).
capture() {
	local name=$1
	shift
	tcpdump -i lo -s 0 -B 65536 --immediate-mode -U -n --time-stamp-precision=nano -w "$tmp/$name.pcap" "tcp port $port" 2>"$tmp/tcpdump.err" &
	tcpdump_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	kill -0 "$tcpdump_pid" 2>/dev/null || {
		cat "$tmp/tcpdump.err" >&2
		echo "record-h2: tcpdump did not start (run as root)" >&2
		exit 1
	}
	sleep 0.2
	TMPDIR="$tmp" node "$helpers/drive.js" --port "$port" --truth "$tmp/$name.truth.jsonl" "$@" 2>"$tmp/$name.log" || {
		cat "$tmp/$name.log" >&2
		echo "record-h2: $name failed" >&2
		exit 1
	}
	grep -E "^(server|drive):" "$tmp/$name.log" >&2 || true
	sleep 1 # let the last FIN/ACK reach the capture
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
}

# record NAME DRIVE-ARGS...: capture one session into $out/NAME.pcapng and
# its truth into $out/NAME.truth.jsonl; with --tls, the client's key log
# goes to $out/NAME.keys.
record() {
	local name=$1
	shift
	local raw="$tmp/$name.pcap" keys=() tls= try
	case " $* " in *" --tls "*)
		tls=1
		keys=(--cert "$tmp/cert" --keylog "$tmp/$name.keys" --server-keylog "$tmp/$name.server.keys")
		;;
	esac
	# No packet dropped by the kernel, the client's SYN and FIN, and the
	# server's FIN or an RST (Chromium closes its connection as soon as the
	# server's GOAWAY comes, and answers the server's TLS close_notify that
	# follows with an RST); else it is recorded again.
	for try in 1 2 3; do
		rm -f "$tmp/$name.keys" "$tmp/$name.server.keys"
		capture "$name" "${keys[@]}" "$@"
		if grep -q "^0 packets dropped by kernel" "$tmp/tcpdump.err" &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & tcp-syn != 0")" -ge 1 ] &&
			[ "$(count "$raw" "tcp dst port $port and tcp[tcpflags] & tcp-fin != 0")" -ge 1 ] &&
			[ "$(count "$raw" "(tcp src port $port and tcp[tcpflags] & tcp-fin != 0) or tcp[tcpflags] & tcp-rst != 0")" -ge 1 ]; then
			break
		fi
		echo "record-h2: $name: the capture is incomplete or dropped packets (try $try of 3)" >&2
		[ "$try" = 3 ] && exit 1
	done
	editcap -F pcapng "$raw" "$out/$name.pcapng"
	cp "$tmp/$name.truth.jsonl" "$out/$name.truth.jsonl"
	if [ -n "$tls" ]; then
		cp "$tmp/$name.keys" "$out/$name.keys"
		# Every secret the server logged must be in the client's key log.
		sort "$tmp/$name.server.keys" >"$tmp/server.keys.sorted"
		if ! sort "$tmp/$name.keys" | comm -13 - "$tmp/server.keys.sorted" | grep -q .; then
			echo "record-h2: $name.keys has all $(wc -l <"$tmp/server.keys.sorted") secrets the server logged" >&2
		else
			echo "record-h2: WARNING: $name.keys lacks secrets the server logged" >&2
		fi
	fi
	echo "record-h2: wrote $out/$name.pcapng ($(wc -c <"$out/$name.pcapng") bytes, $(grep -E "packets (captured|received|dropped)" "$tmp/tcpdump.err" | paste -sd, -))" >&2
}

record chromium-h2-wss --client chromium --tls
if [ -n "$firefox" ]; then
	record firefox-h2-wss --client firefox --tls
	names="$names firefox-h2-wss"
fi
record node-h2c --client node
record node-h2-wss --client node --tls

# Cross-check: tshark must see the extended CONNECTs (HEADERS with
# :protocol websocket) and DATA frames on those streams. tshark 4.0 does not
# decode the WebSocket frames inside them.
if command -v tshark >/dev/null; then
	for f in $names; do
		opt=()
		[ -f "$out/$f.keys" ] && opt=(-o "tls.keylog_file:$out/$f.keys")
		# h2c on a port that is not 80: tell tshark it is HTTP/2.
		[ "$f" = node-h2c ] && opt=(-d "tcp.port==$port,http2")
		c=$(tshark -r "$out/$f.pcapng" "${opt[@]}" -Y 'http2.header.name == ":protocol"' -T fields -e http2.streamid 2>/dev/null | tr ',' '\n' | sort -un | paste -sd, -)
		d=$(tshark -r "$out/$f.pcapng" "${opt[@]}" -Y 'http2.type == 0' -T fields -e http2.type 2>/dev/null | tr ',' '\n' | grep -cx 0 || true)
		echo "record-h2: tshark: $f.pcapng: :protocol in the packets of streams $c; $d DATA frames in all" >&2
	done
fi

if [ -n "$firefox" ]; then
	versions="$versions, $(firefox-esr --version 2>/dev/null), certutil from $(dpkg-query -W -f 'libnss3-tools ${Version}' libnss3-tools 2>/dev/null || echo "libnss3-tools (version unknown)")"
fi
echo "record-h2: $versions, $(/usr/bin/chromium --version 2>/dev/null | head -1), $(openssl version), $(tcpdump --version 2>&1 | head -1), $(editcap --version 2>&1 | head -1)" >&2
