package output

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
)

// appEvents is one connection whose messages carry what the application
// said: an MQTT CONNECT split over two messages (the first partial), two
// PUBLISH packets batched in one message, and a message with a name that
// would drive a terminal.
func appEvents() []decode.Event {
	var b builder
	C, S, N := decode.RoleClient, decode.RoleServer, decode.RoleNone
	cli := netip.MustParseAddrPort("10.0.0.2:51512")
	srv := netip.MustParseAddrPort("10.0.0.1:1883")
	b.add(1, 1, 100, N, decode.Event{Kind: decode.KindConn, Info: &decode.ConnInfo{Client: cli, Server: srv}})
	bin := func(n int, p string) decode.Message {
		m := textMsg(n, p)
		m.Opcode, m.UTF8Valid = decode.OpBinary, false
		return m
	}
	b.add(1, 2, 200, C, decode.Event{Kind: decode.KindMessage, Message: bin(1, "\x10\x10"),
		App: decode.NewAppInfo(nil, 0, true)})
	b.add(1, 3, 300, C, decode.Event{Kind: decode.KindMessage, Message: bin(2, "\x00\x04MQTT\x04\x02\x00\x3c\x00\x04abcd"),
		App: decode.NewAppInfo([]decode.AppUnit{{Proto: "mqtt", Type: "CONNECT", ID: nil, Info: `client_id="abcd" keep_alive=60`,
			Fields: []decode.AppField{{Key: "client_id", Value: []byte(`"abcd"`)}, {Key: "keep_alive", Value: []byte("60")}}}}, 0, false)})
	pub := func(topic string, qos int, id string) decode.AppUnit {
		return decode.AppUnit{Proto: "mqtt", Type: "PUBLISH", Name: topic, HasName: true, ID: []byte(id),
			Info:   `"` + topic + `" qos=` + string(rune('0'+qos)),
			Fields: []decode.AppField{{Key: "qos", Value: []byte{byte('0' + qos)}}, {Key: "payload", Value: []byte(`"21.5"`)}, {Key: "type", Value: []byte(`"shadowed"`)}}}
	}
	b.add(1, 4, 400, S, decode.Event{Kind: decode.KindMessage, Message: bin(1, "batched"),
		App: decode.NewAppInfo([]decode.AppUnit{pub("sensors/t1", 0, "null"), pub("sensors/t2", 1, "7")}, 0, false)})
	b.add(1, 5, 500, S, decode.Event{Kind: decode.KindMessage, Message: bin(2, "evil"),
		App: decode.NewAppInfo([]decode.AppUnit{{Proto: "mqtt", Type: "PUBLISH", Name: "a\x1b[31mred", HasName: true, Info: "\"a\x1b[31mred\""}}, 0, false)})
	return b.evs
}

func TestAppJSON(t *testing.T) {
	out := render(t, func(b *bytes.Buffer) Renderer { return NewJSON(b, Options{Summary: true}) }, appEvents())
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var msgs []map[string]any
	var summary map[string]any
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		switch m["type"] {
		case "message":
			msgs = append(msgs, m)
		case "summary":
			summary = m
		}
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages", len(msgs))
	}
	if msgs[0]["app_partial"] != true || msgs[0]["app"] != nil {
		t.Errorf("partial message: %v", msgs[0])
	}
	app := msgs[1]["app"].(map[string]any)
	if app["proto"] != "mqtt" || app["type"] != "CONNECT" || app["name"] != nil || app["client_id"] != "abcd" || app["keep_alive"] != 60.0 {
		t.Errorf("CONNECT: %v", app)
	}
	if _, ok := app["id"]; ok {
		t.Errorf("CONNECT has an id: %v", app)
	}
	if _, ok := msgs[1]["app_units"]; ok {
		t.Errorf("one unit, but app_units: %v", msgs[1])
	}
	units, _ := msgs[2]["app_units"].([]any)
	if len(units) != 2 || units[1].(map[string]any)["id"] != 7.0 || msgs[2]["app"].(map[string]any)["name"] != "sensors/t1" {
		t.Errorf("batched: %v", msgs[2])
	}
	if msgs[2]["app"].(map[string]any)["type"] != "PUBLISH" {
		t.Errorf("a protocol field named like a core key replaced the core: %v", msgs[2]["app"])
	}
	sa, _ := summary["app"].(map[string]any)
	if sa == nil || sa["proto"] != "mqtt" || len(sa["types"].([]any)) != 2 {
		t.Fatalf("summary app: %v", summary["app"])
	}
	if c := sa["types"].([]any)[1].(map[string]any); c["type"] != "PUBLISH" || c["count"] != 3.0 {
		t.Errorf("summary count: %v", c)
	}
}

func TestAppText(t *testing.T) {
	t.Setenv("RUNEWIDTH_EASTASIAN", "0")
	out := string(render(t, func(b *bytes.Buffer) Renderer {
		return NewText(b, Options{Timeline: true, Summary: true, Verbose: true})
	}, appEvents()))
	checkASCII(t, []byte(out))
	for _, want := range []string{
		`[partial] "\x10\x10"`,
		`mqtt CONNECT client_id="abcd" keep_alive=60`,
		`mqtt PUBLISH "sensors/t1" qos=0 (+1 more)`,
		`app.proto: mqtt`,
		`app_units[1].id: 7`,
		`app.qos: 0`,
		`app_partial: 1`,
		`mqtt: CONNECT 1, PUBLISH 3`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "\x1b") {
		t.Error("an application name reached the terminal unescaped")
	}
	follow := string(render(t, func(b *bytes.Buffer) Renderer {
		return NewText(b, Options{Follow: &Follow{All: true}})
	}, appEvents()))
	for _, want := range []string{"    mqtt PUBLISH \"sensors/t2\" qos=1\n", "(part of an application message that ends in a later one)"} {
		if !strings.Contains(follow, want) {
			t.Errorf("follow: no %q in\n%s", want, follow)
		}
	}
}
