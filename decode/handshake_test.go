package decode

import (
	"reflect"
	"strings"
	"testing"
)

func TestComputeAccept(t *testing.T) {
	tests := []struct{ key, accept string }{
		{"dGhlIHNhbXBsZSBub25jZQ==", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="}, // RFC 6455 §1.3
		{"x3JJHMbDL1EzLkh9GBhXDw==", "HSmrc0sMlYUkAGmm5OPpG2HaGWk="}, // suricata websocket-ping.pcap
		{"9DK5Qa8Nb//lGsRttQVZGw==", "KA+iNH73kJ2gjF1BePnHgJVT0DY="}, // onewesong websocket.pcap
		{"VMueuJIhu60C0hDKL+vS6g==", "N8ntNYkX6Qerw4tK3s/CYzpSZNc="}, // zeek wrong-accept-header.pcap (expected value)
	}
	for _, tt := range tests {
		if got := computeAccept(tt.key); got != tt.accept {
			t.Errorf("computeAccept(%q) = %q, want %q", tt.key, got, tt.accept)
		}
	}
}

// corpusHeads are Upgrade exchanges copied byte for byte from the captures
// in /work/shared/corpus (see its MANIFEST.md).
var corpusHeads = []struct {
	name      string
	req, resp string
}{
	{
		name: "suricataCompressed", // suricata-verify/websocket-compressed-example_websocket.pcap
		req: "GET /toggle HTTP/1.1\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Sec-WebSocket-Key: LEGNx4vqrDoGmLhKgqpnPQ==\r\n" +
			"Connection: Upgrade\r\n" +
			"Upgrade: websocket\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
			"Host: app:5000\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 \r\n" +
			"Upgrade: WebSocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: i4oXpC5vHj6jwN+8p9vJ9t7eXpw=\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=15\r\n" +
			"\r\n",
	},
	{
		name: "zeekWrongAccept", // zeek/wrong-accept-header.pcap
		req: "GET / HTTP/1.1\r\n" +
			"Host: localhost:8080\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Key: VMueuJIhu60C0hDKL+vS6g==\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
			"Sec-WebSocket-Protocol: v1\r\n" +
			"User-Agent: Python/3.10 websockets/12.0\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"connection: upgrade\r\n" +
			"upgrade: websocket\r\n" +
			"sec-websocket-accept: N8ntNYkX6Qerw4tK3s/CYzpSZNc=-wrong\r\n" +
			"sec-websocket-protocol: v1\r\n" +
			"\r\n",
	},
	{
		name: "zeekKaazing", // zeek/http-websocket.pcap
		req: "GET /echo?.kl=Y HTTP/1.1\r\n" +
			"Host: sandbox.kaazing.net\r\n" +
			"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10.12; rv:54.0) Gecko/20100101 Firefox/54.0\r\n" +
			"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\n" +
			"Accept-Encoding: gzip, deflate\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Origin: http://kaazing.org\r\n" +
			"Sec-WebSocket-Protocol: x-kaazing-handshake\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate\r\n" +
			"Sec-WebSocket-Key: vf3bSlxjI9R5oosJfwM/8Q==\r\n" +
			"Connection: keep-alive, Upgrade\r\n" +
			"Pragma: no-cache\r\n" +
			"Cache-Control: no-cache\r\n" +
			"Upgrade: websocket\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Web Socket Protocol Handshake\r\n" +
			"Access-Control-Allow-Credentials: true\r\n" +
			"Access-Control-Allow-Headers: content-type\r\n" +
			"Access-Control-Allow-Headers: authorization\r\n" +
			"Access-Control-Allow-Headers: x-websocket-extensions\r\n" +
			"Access-Control-Allow-Headers: x-websocket-version\r\n" +
			"Access-Control-Allow-Headers: x-websocket-protocol\r\n" +
			"Access-Control-Allow-Origin: http://kaazing.org\r\n" +
			"Connection: Upgrade\r\n" +
			"Date: Thu, 03 Aug 2017 14:37:12 GMT\r\n" +
			"Sec-WebSocket-Accept: 0Zl6vr6NCtorAnmvFsy68nbStvE=\r\n" +
			"Sec-WebSocket-Protocol: x-kaazing-handshake\r\n" +
			"Server: Kaazing Gateway\r\n" +
			"Upgrade: websocket\r\n" +
			"\r\n",
	},
	{
		name: "susamWsapp", // susam-lab/wsapp.pcap
		req: "GET /time HTTP/1.1\r\n" +
			"Host: 172.105.253.239:8000\r\n" +
			"User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:89.0) Gecko/20100101 Firefox/89.0\r\n" +
			"Accept: */*\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\n" +
			"Accept-Encoding: gzip, deflate\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Origin: http://172.105.253.239:8000\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate\r\n" +
			"Sec-WebSocket-Key: W+pQUnxtfyImglCepUIxdw==\r\n" +
			"Connection: keep-alive, Upgrade\r\n" +
			"Pragma: no-cache\r\n" +
			"Cache-Control: no-cache\r\n" +
			"Upgrade: websocket\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: jvz8rJ0yJN/A4J0kiZQLiifpQO8=\r\n" +
			"\r\n",
	},
	{
		name: "suricataControlFrag", // suricata-verify/websocket-control-frag.pcap
		req: "GET /chat HTTP/1.1\r\n" +
			"Host: example.com\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Key: c3VyaWNhdGEtdGVzdC1rZXkh\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: i/Zf3S99/cVt3n5lmMrHSsr5Kqk=\r\n" +
			"\r\n",
	},
	{
		name: "deepred", // usenix-woot/deepred-websocket.pcap
		req: "GET / HTTP/1.1\r\n" +
			"Host: 10.11.54.137:5000\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Key: ZT6oOY1pnAtz1c+MCMx3Zw==\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
			"User-Agent: Python/3.11 websockets/15.0\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: IiX24HmbrFyAjZuGPHV2XteLYPA=\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=12; client_max_window_bits=12\r\n" +
			"Date: Fri, 28 Feb 2025 14:41:09 GMT\r\n" +
			"Server: Python/3.11 websockets/11.0.3\r\n" +
			"\r\n",
	},
	{
		name: "zeekWstunnel", // zeek/wstunnel-http.pcap
		req: "GET /v1/events HTTP/1.1\r\n" +
			"host: localhost:8888\r\n" +
			"upgrade: websocket\r\n" +
			"connection: upgrade\r\n" +
			"sec-websocket-key: FdRecb4tsolqJgO+HrbUfg==\r\n" +
			"sec-websocket-version: 13\r\n" +
			"sec-websocket-protocol: v1, authorization.bearer.eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJpZCI6IjAxOGNmZWFiLWY5OWQtNzBmNy05NmFmLTBlOGJhNjk2YTFmNiIsInAiOiJUY3AiLCJyIjoiemVlay5vcmciLCJycCI6ODB9.FsquetBp_jsIDzBslWyyTPlS2hcMprVuWmbT2r57N0A\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"connection: upgrade\r\n" +
			"upgrade: websocket\r\n" +
			"sec-websocket-accept: PbXiEPoL5O2wxc6/MdNHnSOXy+c=\r\n" +
			"sec-websocket-protocol: v1\r\n" +
			"date: Fri, 12 Jan 2024 17:15:32 GMT\r\n" +
			"\r\n",
	},
	{
		name: "arkimeWebsocket", // arkime/websocket.pcap
		req: "GET / HTTP/1.1\r\n" +
			"Host: 192.168.43.135:12345\r\n" +
			"Connection: Upgrade\r\n" +
			"Pragma: no-cache\r\n" +
			"Cache-Control: no-cache\r\n" +
			"Upgrade: websocket\r\n" +
			"Origin: file://\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"User-Agent: Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36\r\n" +
			"Accept-Encoding: gzip, deflate, sdch\r\n" +
			"Accept-Language: zh-CN,zh;q=0.8,en-US;q=0.6,en;q=0.4\r\n" +
			"Sec-WebSocket-Key: bKdPyn3u98cTfZJSh4TNeQ==\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: 4EaeSCkuOGBy+rjOSJSMV+VMoC0=\r\n" +
			"WebSocket-Origin: file://\r\n" +
			"WebSocket-Location: ws://192.168.43.135:12345/\r\n" +
			"\r\n",
	},
	{
		name: "suricataPing", // suricata-verify/websocket-ping.pcap
		req: "GET / HTTP/1.1\r\n" +
			"Host: dev.deltamktgresearch.com\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Origin: http://www.websocket.org\r\n" +
			"Pragma: no-cache\r\n" +
			"Cache-Control: no-cache\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n" +
			"\r\n",
	},
	{
		name: "zeekJupyter", // zeek/jupyter-websocket.pcap
		req: "GET /user/christian/api/kernels/f8645ecd-0a76-4bb1-9e6e-cb464276bc69/channels?session_id=deeecee7-efc2-42a1-a7c1-e1c0569436e3 HTTP/1.1\r\n" +
			"Host: 192.168.122.182\r\n" +
			"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/118.0\r\n" +
			"Accept: */*\r\n" +
			"Accept-Encoding: gzip, deflate\r\n" +
			"Accept-Language: en-US,en;q=0.5\r\n" +
			"Cache-Control: no-cache\r\n" +
			"Connection: Upgrade\r\n" +
			"Cookie: _xsrf=2|8b336cae|f65d8cdbd66b807cf0cb4ec007a97e9b|1696029484; jupyterhub-user-christian=2|1:0|10:1696029879|25:jupyterhub-user-christian|40:eXVBckNsSG5KWFZ4UTY0dEJUTFBHM1Fid1R2UUNR|576e1ecf00599ded4c9e5983dda6cf6cfc04298b1aec9346d02031b02dab8911; jupyterhub-session-id=b7af84db6264410798c8aeeb8c9fc547\r\n" +
			"Dnt: 1\r\n" +
			"Origin: http://192.168.122.182\r\n" +
			"Pragma: no-cache\r\n" +
			"Sec-WebSocket-Extensions: permessage-deflate\r\n" +
			"Sec-WebSocket-Key: 7K5Qx7HwJUsja5KzBhGvfQ==\r\n" +
			"Sec-WebSocket-Protocol: v1.kernel.websocket.jupyter.org\r\n" +
			"Sec-WebSocket-Version: 13\r\n" +
			"Upgrade: websocket\r\n" +
			"X-Forwarded-For: 192.168.122.1\r\n" +
			"X-Forwarded-Host: 192.168.122.182\r\n" +
			"X-Forwarded-Port: 80\r\n" +
			"X-Forwarded-Proto: ws\r\n" +
			"X-Forwarded-Server: ubuntu2204\r\n" +
			"X-Real-Ip: 192.168.122.1\r\n" +
			"\r\n",
		resp: "HTTP/1.1 101 Switching Protocols\r\n" +
			"Server: TornadoServer/6.3.3\r\n" +
			"Date: Fri, 29 Sep 2023 23:25:04 GMT\r\n" +
			"Sec-Websocket-Protocol: v1.kernel.websocket.jupyter.org\r\n" +
			"Upgrade: websocket\r\n" +
			"Connection: Upgrade\r\n" +
			"Sec-Websocket-Accept: USseDip1PofjB67M6I5CNkbYbp0=\r\n" +
			"\r\n",
	},
}

func TestHandshakeCorpus(t *testing.T) {
	type want struct {
		reqCodes, respCodes []Code
		hs                  Handshake // compared field by field below, only the ones set
	}
	wants := map[string]want{
		"suricataCompressed": {hs: Handshake{Method: "GET", Path: "/toggle", Host: "app:5000", Status: 101, Reason: "",
			Extensions: "permessage-deflate; client_max_window_bits=15",
			Deflate:    &DeflateParams{ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}}},
		"zeekWrongAccept": {respCodes: []Code{CodeAcceptMismatch}, hs: Handshake{Protocol: "v1", Status: 101,
			OfferedProtocols: []string{"v1"}, UserAgent: "Python/3.10 websockets/12.0"}},
		"zeekKaazing": {hs: Handshake{Origin: "http://kaazing.org", Protocol: "x-kaazing-handshake", Reason: "Web Socket Protocol Handshake",
			OfferedExtensions: "permessage-deflate"}},
		"susamWsapp":          {hs: Handshake{Path: "/time", Origin: "http://172.105.253.239:8000"}},
		"suricataControlFrag": {reqCodes: []Code{CodeKeyInvalid}, hs: Handshake{Key: "c3VyaWNhdGEtdGVzdC1rZXkh"}},
		"deepred": {hs: Handshake{Deflate: &DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12},
			Extensions: "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"}},
		"zeekWstunnel": {hs: Handshake{Protocol: "v1", Path: "/v1/events"}},
		"arkimeWebsocket": {hs: Handshake{Origin: "file://",
			OfferedExtensions: "permessage-deflate; client_max_window_bits"}},
		"suricataPing": {hs: Handshake{Key: "x3JJHMbDL1EzLkh9GBhXDw==", Accept: "HSmrc0sMlYUkAGmm5OPpG2HaGWk=", Version: "13"}},
		"zeekJupyter":  {hs: Handshake{Protocol: "v1.kernel.websocket.jupyter.org", OfferedProtocols: []string{"v1.kernel.websocket.jupyter.org"}}},
	}
	for _, c := range corpusHeads {
		t.Run(c.name, func(t *testing.T) {
			w, ok := wants[c.name]
			if !ok {
				t.Fatalf("no expectation for %s", c.name)
			}
			req, resp := mustParse(t, c.req), mustParse(t, c.resp)
			if !isWebSocketRequest(&req) {
				t.Fatal("not a WebSocket request")
			}
			var hs Handshake
			if got := anomalyCodes(fillRequest(&hs, &req)); !reflect.DeepEqual(got, w.reqCodes) {
				t.Errorf("request anomalies = %v, want %v", got, w.reqCodes)
			}
			if got := anomalyCodes(fillResponse(&hs, &resp)); !reflect.DeepEqual(got, w.respCodes) {
				t.Errorf("response anomalies = %v, want %v", got, w.respCodes)
			}
			if !hs.Upgraded {
				t.Error("not upgraded")
			}
			if hs.AcceptValid != (c.name != "zeekWrongAccept") {
				t.Errorf("AcceptValid = %v", hs.AcceptValid)
			}
			if len(hs.Request) == 0 || len(hs.Response) == 0 {
				t.Error("header fields not kept")
			}
			// Compare the fields the expectation sets.
			gv, wv := reflect.ValueOf(hs), reflect.ValueOf(w.hs)
			for i := 0; i < wv.NumField(); i++ {
				if wv.Field(i).IsZero() {
					continue
				}
				if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
					t.Errorf("%s = %#v, want %#v", wv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
				}
			}
		})
	}
}

func anomalyCodes(as []Anomaly) []Code {
	var out []Code
	for _, a := range as {
		out = append(out, a.Code)
	}
	return out
}

// The RFC 6455 §1.2 example handshake: clean.
const (
	rfcRequest = "GET /chat HTTP/1.1\r\n" +
		"Host: server.example.com\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
		"Origin: http://example.com\r\n" +
		"Sec-WebSocket-Protocol: chat, superchat\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"\r\n"
	rfcResponse = "HTTP/1.1 101 Switching Protocols\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" +
		"Sec-WebSocket-Protocol: chat\r\n" +
		"\r\n"
)

// edit returns head with the header lines named in drop removed and the
// lines in add appended; a drop entry "Name: value" removes only that exact
// line. The start line can be replaced with a "!" entry in add.
func editHead(head string, drop []string, add ...string) string {
	lines := strings.Split(strings.TrimSuffix(head, "\r\n\r\n"), "\r\n")
	var out []string
	for i, l := range lines {
		keep := true
		for _, d := range drop {
			if i > 0 && (l == d || strings.HasPrefix(strings.ToLower(l), strings.ToLower(d)+":")) {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	for _, a := range add {
		if strings.HasPrefix(a, "!") {
			out[0] = a[1:]
			continue
		}
		out = append(out, a)
	}
	return strings.Join(out, "\r\n") + "\r\n\r\n"
}

// lowerNames lower-cases the header names of head.
func lowerNames(head string) string {
	lines := strings.Split(head, "\r\n")
	for i := 1; i < len(lines); i++ {
		if name, value, ok := strings.Cut(lines[i], ":"); ok {
			lines[i] = strings.ToLower(name) + ":" + value
		}
	}
	return strings.Join(lines, "\r\n")
}

func TestFillRequest(t *testing.T) {
	tests := []struct {
		name   string
		req    string
		want   []Code
		detail string // detail of the first anomaly, when set
	}{
		{name: "clean", req: rfcRequest},
		{name: "clean, header names in lower case", req: lowerNames(rfcRequest)},
		{name: "POST", req: editHead(rfcRequest, nil, "!POST /chat HTTP/1.1"), want: []Code{CodeRequestNotGet},
			detail: `the Upgrade request's method is "POST", expected GET`},
		{name: "get in lower case", req: editHead(rfcRequest, nil, "!get /chat HTTP/1.1"), want: []Code{CodeRequestNotGet}},
		{name: "HTTP/1.0", req: editHead(rfcRequest, nil, "!GET /chat HTTP/1.0"), want: []Code{CodeRequestHTTPVersion},
			detail: "the Upgrade request is HTTP/1.0, expected HTTP/1.1 or later"},
		{name: "HTTP/0.9", req: editHead(rfcRequest, nil, "!GET /chat HTTP/0.9"), want: []Code{CodeRequestHTTPVersion}},
		{name: "HTTP/1.2 is fine", req: editHead(rfcRequest, nil, "!GET /chat HTTP/1.2")},
		{name: "no Host", req: editHead(rfcRequest, []string{"Host"}), want: []Code{CodeHostMissing}},
		{name: "empty Host is present", req: editHead(rfcRequest, []string{"Host"}, "Host:")},
		{name: "no Upgrade", req: editHead(rfcRequest, []string{"Upgrade"}), want: []Code{CodeRequestUpgradeMissing},
			detail: "the request has no Upgrade header, expected Upgrade: websocket"},
		{name: "Upgrade h2c", req: editHead(rfcRequest, []string{"Upgrade"}, "Upgrade: h2c"), want: []Code{CodeRequestUpgradeMissing},
			detail: `Upgrade is "h2c", expected a "websocket" token`},
		{name: "Upgrade WebSocket mixed case", req: editHead(rfcRequest, []string{"Upgrade"}, "Upgrade: WebSocket")},
		{name: "Upgrade list", req: editHead(rfcRequest, []string{"Upgrade"}, "Upgrade: h2c, websocket")},
		{name: "no Connection", req: editHead(rfcRequest, []string{"Connection"}), want: []Code{CodeRequestConnMissing},
			detail: "the request has no Connection header, expected Connection: Upgrade"},
		{name: "Connection keep-alive", req: editHead(rfcRequest, []string{"Connection"}, "Connection: keep-alive"), want: []Code{CodeRequestConnMissing},
			detail: `Connection is "keep-alive", expected an "Upgrade" token`},
		{name: "Connection list", req: editHead(rfcRequest, []string{"Connection"}, "Connection: keep-alive, upgrade")},
		{name: "Connection repeated", req: editHead(rfcRequest, []string{"Connection"}, "Connection: keep-alive", "connection: Upgrade")},
		{name: "no key", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}), want: []Code{CodeKeyMissing}},
		{name: "key twice", req: editHead(rfcRequest, nil, "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="), want: []Code{CodeKeyRepeated},
			detail: "Sec-WebSocket-Key appears 2 times"},
		{name: "key not base64", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: not base64!"), want: []Code{CodeKeyInvalid},
			detail: `Sec-WebSocket-Key "not base64!" is not base64`},
		{name: "key of 18 bytes", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: c3VyaWNhdGEtdGVzdC1rZXkh"), want: []Code{CodeKeyInvalid},
			detail: `Sec-WebSocket-Key "c3VyaWNhdGEtdGVzdC1rZXkh" decodes to 18 bytes, expected 16`},
		{name: "key without padding", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ"), want: []Code{CodeKeyInvalid}},
		{name: "key non-canonical", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZR=="), want: []Code{CodeKeyInvalid}},
		{name: "key with spaces around is fine", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}, "Sec-WebSocket-Key:   dGhlIHNhbXBsZSBub25jZQ==  ")},
		{name: "no version", req: editHead(rfcRequest, []string{"Sec-WebSocket-Version"}), want: []Code{CodeVersionInvalid},
			detail: "the request has no Sec-WebSocket-Version, expected 13"},
		{name: "version 8", req: editHead(rfcRequest, []string{"Sec-WebSocket-Version"}, "Sec-WebSocket-Version: 8"), want: []Code{CodeVersionInvalid},
			detail: `Sec-WebSocket-Version is "8", expected 13`},
		{name: "version twice", req: editHead(rfcRequest, nil, "Sec-WebSocket-Version: 13"), want: []Code{CodeVersionInvalid},
			detail: `Sec-WebSocket-Version is "13, 13", expected 13`},
		{name: "bad deflate offer", req: editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16"),
			want: []Code{CodeDeflateParamInvalid}},
		{name: "everything wrong", req: "POST / HTTP/1.0\r\nSec-WebSocket-Key: a\r\nSec-WebSocket-Key: b\r\n\r\n",
			want: []Code{CodeRequestNotGet, CodeRequestHTTPVersion, CodeHostMissing, CodeRequestUpgradeMissing, CodeRequestConnMissing,
				CodeKeyRepeated, CodeKeyInvalid, CodeKeyInvalid, CodeVersionInvalid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := mustParse(t, tt.req)
			var hs Handshake
			as := fillRequest(&hs, &h)
			if got := anomalyCodes(as); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("anomalies = %v, want %v (%+v)", got, tt.want, as)
			}
			if tt.detail != "" && as[0].Detail != tt.detail {
				t.Errorf("detail = %q, want %q", as[0].Detail, tt.detail)
			}
			for _, a := range as {
				if sev, ref, _, ok := a.Code.Info(); !ok || a.Severity != sev || a.Ref != ref || a.Detail == "" {
					t.Errorf("anomaly %+v does not match the catalogue", a)
				}
			}
		})
	}
}

func TestFillRequestFields(t *testing.T) {
	h := mustParse(t, "GET /ws?x=1 HTTP/1.1\r\n"+
		"host: example.com:8080\r\n"+
		"upgrade: websocket\r\n"+
		"connection: Upgrade\r\n"+
		"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n"+
		"sec-websocket-version: 13\r\n"+
		"Sec-WebSocket-Protocol: chat, , superchat\r\n"+
		"Sec-WebSocket-Protocol: v2.chat\r\n"+
		"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"+
		"Sec-WebSocket-Extensions:\r\n"+
		"Sec-WebSocket-Extensions: x-webkit-deflate-frame\r\n"+
		"User-Agent: test/1\r\n"+
		"Origin: https://example.com\r\n"+
		"\r\n")
	var hs Handshake
	if as := fillRequest(&hs, &h); len(as) != 0 {
		t.Fatalf("anomalies: %+v", as)
	}
	want := Handshake{
		Method: "GET", Path: "/ws?x=1", Proto: "HTTP/1.1",
		Host: "example.com:8080", Origin: "https://example.com", UserAgent: "test/1",
		Key: "dGhlIHNhbXBsZSBub25jZQ==", Version: "13",
		OfferedProtocols:  []string{"chat", "superchat", "v2.chat"},
		OfferedExtensions: "permessage-deflate; client_max_window_bits, x-webkit-deflate-frame",
		Request:           h.fields,
	}
	if !reflect.DeepEqual(hs, want) {
		t.Errorf("got  %+v\nwant %+v", hs, want)
	}
}

func TestFillResponse(t *testing.T) {
	tests := []struct {
		name     string
		req      string // rfcRequest when empty
		resp     string
		want     []Code
		detail   string // detail of the first anomaly, when set
		upgraded bool
		valid    bool
	}{
		{name: "clean", resp: rfcResponse, upgraded: true, valid: true},
		{name: "names in lower case", resp: lowerNames(rfcResponse), upgraded: true, valid: true},
		{name: "empty reason", resp: editHead(rfcResponse, nil, "!HTTP/1.1 101 "), upgraded: true, valid: true},
		{name: "no accept", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Accept"}), want: []Code{CodeAcceptMissing}, upgraded: true},
		{name: "accept twice", resp: editHead(rfcResponse, nil, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
			want: []Code{CodeAcceptRepeated}, upgraded: true, valid: true},
		{name: "wrong accept", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Accept"}, "Sec-WebSocket-Accept: x"),
			want: []Code{CodeAcceptMismatch}, detail: `expected "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", found "x"`, upgraded: true},
		{name: "accept of another key", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Accept"}, "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk="),
			want: []Code{CodeAcceptMismatch}, upgraded: true},
		{name: "accept with spaces is fine", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Accept"}, "Sec-WebSocket-Accept:  s3pPLMBiTxaQ9kYGzzhZRbK+xOo= "),
			upgraded: true, valid: true},
		{name: "accept answers the second of two keys", req: editHead(rfcRequest, nil, "Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw=="),
			resp: editHead(rfcResponse, []string{"Sec-WebSocket-Accept"}, "Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk="), upgraded: true, valid: true},
		{name: "no key in the request", req: editHead(rfcRequest, []string{"Sec-WebSocket-Key"}), resp: rfcResponse, upgraded: true},
		{name: "no Upgrade", resp: editHead(rfcResponse, []string{"Upgrade"}), want: []Code{CodeResponseUpgradeMissing},
			upgraded: true, valid: true},
		{name: "Upgrade WebSocket", resp: editHead(rfcResponse, []string{"Upgrade"}, "Upgrade: WebSocket"), upgraded: true, valid: true},
		{name: "101 to h2c", resp: editHead(rfcResponse, []string{"Upgrade"}, "Upgrade: h2c"), want: []Code{CodeHandshakeRejected},
			detail: `server answered 101 Switching Protocols switching to "h2c", not WebSocket`},
		{name: "no Connection", resp: editHead(rfcResponse, []string{"Connection"}), want: []Code{CodeResponseConnMissing},
			upgraded: true, valid: true},
		{name: "Connection close", resp: editHead(rfcResponse, []string{"Connection"}, "Connection: close"), want: []Code{CodeResponseConnMissing},
			detail: `Connection is "close", expected an "Upgrade" token`, upgraded: true, valid: true},
		{name: "no protocol selected", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Protocol"}), upgraded: true, valid: true},
		{name: "protocol not offered", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Protocol"}, "Sec-WebSocket-Protocol: mqtt"),
			want: []Code{CodeProtocolNotOffered}, detail: `the server selected subprotocol "mqtt", not one of the offered "chat, superchat"`,
			upgraded: true, valid: true},
		{name: "protocol case differs", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Protocol"}, "Sec-WebSocket-Protocol: Chat"),
			want: []Code{CodeProtocolNotOffered}, upgraded: true, valid: true},
		{name: "protocol with nothing offered", req: editHead(rfcRequest, []string{"Sec-WebSocket-Protocol"}), resp: rfcResponse,
			want: []Code{CodeProtocolNotOffered}, detail: `the server selected subprotocol "chat" but the client offered none`,
			upgraded: true, valid: true},
		{name: "protocol twice", resp: editHead(rfcResponse, nil, "Sec-WebSocket-Protocol: superchat"),
			want: []Code{CodeProtocolRepeated}, upgraded: true, valid: true},
		{name: "protocol list", resp: editHead(rfcResponse, []string{"Sec-WebSocket-Protocol"}, "Sec-WebSocket-Protocol: chat, superchat"),
			want: []Code{CodeProtocolRepeated}, upgraded: true, valid: true},
		{name: "extension not offered", resp: editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate"),
			want: []Code{CodeExtensionNotOffered}, detail: `the server accepted extension "permessage-deflate", which the client did not offer`,
			upgraded: true, valid: true},
		{name: "extension offered", req: editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
			resp: editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10"), upgraded: true, valid: true},
		{name: "extensions header twice in the response",
			req:  editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: x-webkit-deflate-frame"),
			resp: editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate", "Sec-WebSocket-Extensions: permessage-deflate"),
			want: []Code{CodeExtensionsRepeated, CodeExtensionRepeated}, detail: "the response has 2 Sec-WebSocket-Extensions header fields",
			upgraded: true, valid: true},
		{name: "extensions header twice in the request",
			req:  editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: x-webkit-deflate-frame", "Sec-WebSocket-Extensions: permessage-deflate"),
			resp: editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate"), upgraded: true, valid: true},
		{name: "extension answer invalid", req: editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
			resp: editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"),
			want: []Code{CodeDeflateParamInvalid}, upgraded: true, valid: true},
		{name: "400", resp: "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", want: []Code{CodeHandshakeRejected},
			detail: "server answered 400 Bad Request"},
		{name: "401", resp: "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\n\r\n", want: []Code{CodeHandshakeRejected},
			detail: "server answered 401 Unauthorized"},
		{name: "403 no reason", resp: "HTTP/1.1 403\r\n\r\n", want: []Code{CodeHandshakeRejected},
			detail: "server answered 403"},
		{name: "426", resp: "HTTP/1.1 426 Upgrade Required\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Version: 8, 7\r\n\r\n",
			want: []Code{CodeHandshakeRejected}, detail: "server answered 426 Upgrade Required (Sec-WebSocket-Version: 13, 8, 7)"},
		{name: "200", resp: "HTTP/1.0 200 OK\r\n\r\n", want: []Code{CodeHandshakeRejected}, detail: "server answered 200 OK"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqText := tt.req
			if reqText == "" {
				reqText = rfcRequest
			}
			req, resp := mustParse(t, reqText), mustParse(t, tt.resp)
			var hs Handshake
			fillRequest(&hs, &req)
			as := fillResponse(&hs, &resp)
			if got := anomalyCodes(as); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("anomalies = %v, want %v (%+v)", got, tt.want, as)
			}
			if tt.detail != "" && as[0].Detail != tt.detail {
				t.Errorf("detail = %q, want %q", as[0].Detail, tt.detail)
			}
			if hs.Upgraded != tt.upgraded || hs.AcceptValid != tt.valid {
				t.Errorf("Upgraded, AcceptValid = %v, %v, want %v, %v", hs.Upgraded, hs.AcceptValid, tt.upgraded, tt.valid)
			}
			if hs.Status != resp.status || hs.Reason != resp.reason || !reflect.DeepEqual(hs.Response, resp.fields) {
				t.Errorf("status line or fields not copied: %+v", hs)
			}
			for _, a := range as {
				if sev, ref, _, ok := a.Code.Info(); !ok || a.Severity != sev || a.Ref != ref || a.Detail == "" {
					t.Errorf("anomaly %+v does not match the catalogue", a)
				}
			}
		})
	}
}

func TestFillResponseDeflate(t *testing.T) {
	req := mustParse(t, editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-webkit-deflate-frame"))
	tests := []struct {
		ext   string
		p     *DeflateParams
		frame bool
	}{
		{"", nil, false},
		{"permessage-deflate; server_max_window_bits=12; client_max_window_bits=12", &DeflateParams{ServerMaxWindowBits: 12, ClientMaxWindowBits: 12}, false},
		{"permessage-deflate; server_no_context_takeover; client_no_context_takeover",
			&DeflateParams{ServerNoContextTakeover: true, ClientNoContextTakeover: true, ServerMaxWindowBits: 15, ClientMaxWindowBits: 15}, false},
		{"x-webkit-deflate-frame", nil, true},
	}
	for _, tt := range tests {
		var hs Handshake
		fillRequest(&hs, &req)
		resp := mustParse(t, editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: "+tt.ext))
		if as := fillResponse(&hs, &resp); len(as) != 0 {
			t.Errorf("%q: anomalies %+v", tt.ext, as)
		}
		if !reflect.DeepEqual(hs.Deflate, tt.p) || hs.DeflateFrame != tt.frame || hs.Extensions != tt.ext {
			t.Errorf("%q: Deflate %+v DeflateFrame %v Extensions %q", tt.ext, hs.Deflate, hs.DeflateFrame, hs.Extensions)
		}
	}
	// A refused handshake agrees on nothing.
	var hs Handshake
	fillRequest(&hs, &req)
	resp := mustParse(t, "HTTP/1.1 403 Forbidden\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n")
	fillResponse(&hs, &resp)
	if hs.Deflate != nil || hs.Upgraded {
		t.Errorf("403: Deflate %+v Upgraded %v", hs.Deflate, hs.Upgraded)
	}
}
