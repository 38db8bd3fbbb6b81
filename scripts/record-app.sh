#!/usr/bin/env bash
# record-app.sh: record real captures of application protocols over
# WebSocket, spoken by the protocols' own npm libraries on loopback, into
# testdata/real/app/ (for wscap's application layer):
#
#   NAME.pcapng       tcpdump -i lo, the scenario's port only, snaplen 0
#   NAME.truth.jsonl  what the applications logged through the libraries'
#                     own hooks, one line per unit (format: the app layer's
#                     contract; testdata/real/app/README.md)
#
# Scenarios (port; node script under scripts/app/):
#   socketio-v4               18801  socketio.js  socket.io 4 server + client, WebSocket only
#   socketio-polling-upgrade  18802  socketio.js  socket.io 4, HTTP long-polling then upgrade
#   socketio-v2               18803  socketio.js  socket.io 2 server + client (EIO=3)
#   mqtt-v311                 18804  mqttws.js    aedes broker + two mqtt.js clients, MQTT 3.1.1
#   mqtt-v5                   18805  mqttws.js    mqtt5broker.js (mqtt-packet) + two mqtt.js clients, MQTT 5.0
#   stomp                     18806  stomp.js     @stomp/stompjs against stompbroker.js (STOMP 1.2 on ws)
#   graphql-ws                18807  graphql.js   graphql-ws server + client
#   subscriptions-transport-ws 18808 graphql.js  subscriptions-transport-ws server + client
#
# The npm packages are installed, at the versions pinned below, into a
# temporary directory from the npm registry (socket.io 2.x into one of its
# own). testdata/real/app/README.md says what each session does.
#
# Needs: root (or CAP_NET_RAW) for tcpdump; node (20) + npm; tcpdump and
# editcap (Wireshark); tshark for the check at the end (optional). Without
# them it says so and exits 2. Network: loopback only, besides npm.
#
# Usage: scripts/record-app.sh [SCENARIO...]   (default: all)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/testdata/real/app"
helpers="$root/scripts/app"

# The pinned versions (npm, 2026-12).
main_pkgs=(
	socket.io@4.8.4 socket.io-client@4.8.4
	aedes@1.2.0 mqtt@5.16.0
	@stomp/stompjs@7.5.0
	graphql@16.15.0 graphql-ws@6.4.2 subscriptions-transport-ws@0.11.0
	ws@8.23.1
)
v2_pkgs=(socket.io@2.5.1 socket.io-client@2.5.0)

declare -A port=(
	[socketio-v4]=18801 [socketio-polling-upgrade]=18802 [socketio-v2]=18803
	[mqtt-v311]=18804 [mqtt-v5]=18805 [stomp]=18806 [graphql-ws]=18807
	[subscriptions-transport-ws]=18808
)
declare -A script=(
	[socketio-v4]=socketio.js [socketio-polling-upgrade]=socketio.js [socketio-v2]=socketio.js
	[mqtt-v311]=mqttws.js [mqtt-v5]=mqttws.js [stomp]=stomp.js [graphql-ws]=graphql.js
	[subscriptions-transport-ws]=graphql.js
)
all="socketio-v4 socketio-polling-upgrade socketio-v2 mqtt-v311 mqtt-v5 stomp graphql-ws subscriptions-transport-ws"

if [ "$(id -u)" != 0 ]; then
	echo "record-app: not root: tcpdump needs root (or CAP_NET_RAW); nothing recorded" >&2
	exit 2
fi
for tool in node npm tcpdump editcap; do
	command -v "$tool" >/dev/null || {
		echo "record-app: $tool not found; nothing recorded" >&2
		exit 2
	}
done

names=("$@")
[ ${#names[@]} -eq 0 ] && read -r -a names <<<"$all"
for n in "${names[@]}"; do
	[ -n "${port[$n]:-}" ] || {
		echo "record-app: unknown scenario $n (known: $all)" >&2
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

# install DIR PKG...: npm install the packages into DIR.
install() {
	local dir=$1
	shift
	mkdir -p "$dir"
	echo "record-app: installing $* into $dir" >&2
	(cd "$dir" && npm init -y >/dev/null 2>&1 &&
		npm install --no-audit --no-fund --silent "$@" >"$dir/npm.log" 2>&1)
}
install "$tmp/main" "${main_pkgs[@]}" || {
	cat "$tmp/main/npm.log" >&2
	echo "record-app: npm install failed" >&2
	exit 1
}
v2=
case " ${names[*]} " in *" socketio-v2 "*)
	if install "$tmp/v2" "${v2_pkgs[@]}"; then
		v2=1
	else
		echo "record-app: socket.io 2.x did not install: socketio-v2 is not recorded" >&2
	fi
	;;
esac

mkdir -p "$out"

# count RAW FILTER: how many packets of the raw capture RAW match FILTER.
count() {
	tcpdump -r "$1" -n "$2" 2>/dev/null | wc -l
}

# capture NAME: run the scenario's node script under tcpdump into
# $tmp/NAME.pcap, its truth into $tmp/NAME.truth.jsonl.
capture() {
	local name=$1 p=${port[$1]} modules=$tmp/main/node_modules
	[ "$name" = socketio-v2 ] && modules=$tmp/v2/node_modules
	tcpdump -i lo -s 0 -B 65536 --immediate-mode -U -n --time-stamp-precision=nano \
		-w "$tmp/$name.pcap" "tcp port $p" 2>"$tmp/tcpdump.err" &
	tcpdump_pid=$!
	for _ in $(seq 50); do
		grep -q "listening on" "$tmp/tcpdump.err" 2>/dev/null && break
		sleep 0.1
	done
	kill -0 "$tcpdump_pid" 2>/dev/null || {
		cat "$tmp/tcpdump.err" >&2
		echo "record-app: tcpdump did not start" >&2
		exit 1
	}
	sleep 0.2
	local rc=0
	NODE_PATH="$modules" node "$helpers/${script[$name]}" --scenario "$name" --port "$p" \
		--truth "$tmp/$name.truth.jsonl" 2>"$tmp/$name.log" || rc=$?
	sleep 1 # let the last FIN/ACK reach the capture
	kill -INT "$tcpdump_pid"
	wait "$tcpdump_pid" || true
	tcpdump_pid=
	if [ "$rc" != 0 ]; then
		cat "$tmp/$name.log" >&2
		echo "record-app: $name failed" >&2
		return 1
	fi
	cat "$tmp/$name.log" >&2
}

# record NAME: capture NAME into $out/NAME.pcapng and $out/NAME.truth.jsonl,
# trying again (3 times) when the kernel dropped packets or a SYN or FIN
# is missing.
record() {
	local name=$1 p=${port[$1]} raw="$tmp/$1.pcap" try
	for try in 1 2 3; do
		capture "$name" || exit 1
		if grep -q "^0 packets dropped by kernel" "$tmp/tcpdump.err" &&
			[ "$(count "$raw" "tcp dst port $p and tcp[tcpflags] & tcp-syn != 0")" -ge 1 ] &&
			[ "$(count "$raw" "tcp[tcpflags] & (tcp-fin|tcp-rst) != 0")" -ge 1 ]; then
			break
		fi
		echo "record-app: $name: the capture is incomplete or dropped packets (try $try of 3)" >&2
		[ "$try" = 3 ] && exit 1
	done
	editcap -F pcapng "$raw" "$out/$name.pcapng"
	cp "$tmp/$name.truth.jsonl" "$out/$name.truth.jsonl"
	echo "record-app: wrote $out/$name.pcapng ($(wc -c <"$out/$name.pcapng") bytes, $(grep -E "packets (captured|dropped)" "$tmp/tcpdump.err" | paste -sd, -)), $(wc -l <"$out/$name.truth.jsonl") truth lines" >&2
}

for n in "${names[@]}"; do
	if [ "$n" = socketio-v2 ] && [ -z "$v2" ]; then continue; fi
	record "$n"
done

# Cross-check: tshark's count of WebSocket frames in each capture.
if command -v tshark >/dev/null; then
	for n in "${names[@]}"; do
		[ -f "$out/$n.pcapng" ] || continue
		c=$(tshark -r "$out/$n.pcapng" -d "tcp.port==${port[$n]},http" -Y websocket 2>/dev/null | wc -l)
		echo "record-app: tshark: $n.pcapng: $c packets with WebSocket frames" >&2
	done
fi

versions() {
	node -e 'const [dir, ...pkgs] = process.argv.slice(1); for (const p of pkgs) { const n = p.replace(/(.)@[^@]*$/, "$1"); const v = JSON.parse(require("fs").readFileSync(`${dir}/node_modules/${n}/package.json`)).version; process.stdout.write(`${n} ${v}, `) }' "$@"
}
echo "record-app: node $(node --version), npm $(npm --version), $(versions "$tmp/main" "${main_pkgs[@]}")$([ -n "$v2" ] && versions "$tmp/v2" "${v2_pkgs[@]}")$(tcpdump --version 2>&1 | head -1), $(editcap --version 2>&1 | head -1)" >&2
