package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

// harLog is the part of a HAR file the tests read.
type harLog struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name string `json:"name"`
		} `json:"creator"`
		Entries []struct {
			ResourceType string `json:"_resourceType"`
			Request      struct {
				URL string `json:"url"`
			} `json:"request"`
			Response struct {
				Status int `json:"status"`
			} `json:"response"`
			Messages []struct {
				Type   string  `json:"type"`
				Time   float64 `json:"time"`
				Opcode int     `json:"opcode"`
				Data   string  `json:"data"`
				Wscap  struct {
					Encoding string `json:"encoding"`
				} `json:"_wscap"`
			} `json:"_webSocketMessages"`
			Wscap struct {
				Conn     int    `json:"conn"`
				H2Stream uint32 `json:"h2_stream"`
			} `json:"_wscap"`
		} `json:"entries"`
	} `json:"log"`
}

// harMsg is one data message as both outputs carry it, to compare them.
type harMsg struct {
	conn   int
	stream uint32
	from   string
	opcode int
	data   string // the payload bytes
}

// harRecordings are the real captures whose HAR is checked: every one
// with WebSockets, wss with its key log.
func harRecordings(t *testing.T) [][]string {
	var runs [][]string
	for _, pat := range []string{"testdata/real/*.pcapng", "testdata/real/h2/*.pcapng", "testdata/real/app/*.pcapng"} {
		caps, _ := filepath.Glob(pat)
		for _, in := range caps {
			args := []string{"-r", in}
			if k := strings.TrimSuffix(in, ".pcapng") + ".keys"; fileExists(k) {
				args = append(args, "--keylog", k)
			}
			runs = append(runs, args)
		}
	}
	if len(runs) == 0 {
		t.Fatal("no recordings in testdata/real")
	}
	return runs
}

// TestHARMessagesEqualJSON: the HAR of every real recording carries the
// data messages of the JSON Lines output, in order, with the same
// direction, opcode and payload; the HARs are valid against the HAR 1.2
// schema (har-validator, when installed), and the demo's matches its
// golden file.
func TestHARMessagesEqualJSON(t *testing.T) {
	dir := t.TempDir()
	var written []string
	for _, args := range harRecordings(t) {
		name := filepath.Base(args[1])
		t.Run(name, func(t *testing.T) {
			har := filepath.Join(dir, strings.TrimSuffix(name, ".pcapng")+".har")
			var out, errb bytes.Buffer
			a := append(append([]string{}, args...), "--json", "--har", har)
			if err := run(context.Background(), a, &out, &errb); err != nil {
				t.Fatalf("wscap %v: %v\n%s", a, err, errb.String())
			}
			written = append(written, har)
			want := jsonMessages(t, out.Bytes())
			got := harMessages(t, har)
			if len(got) != len(want) {
				t.Fatalf("HAR has %d messages, JSON Lines %d", len(got), len(want))
			}
			if len(want) == 0 {
				t.Fatal("no messages: the recording should have some")
			}
			for i := range want {
				if got[i] != want[i] {
					t.Fatalf("message %d: HAR %+v, JSON %+v", i, got[i], want[i])
				}
			}
			if strings.HasSuffix(args[1], "testdata/real/demo.pcapng") {
				b, _ := os.ReadFile(har)
				checkGolden(t, "testdata/real/demo.har.golden", b)
			}
		})
	}
	t.Run("har-validator", func(t *testing.T) { validateHAR(t, written...) })
}

// jsonMessages are the message events of JSON Lines output, per
// WebSocket in order, the WebSockets in the order of their first event.
func jsonMessages(t *testing.T, out []byte) []harMsg {
	t.Helper()
	var order []struct {
		conn   int
		stream uint32
	}
	byWS := map[[2]int][]harMsg{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Type     string  `json:"type"`
			Conn     int     `json:"conn"`
			H2Stream uint32  `json:"h2_stream"`
			From     string  `json:"from"`
			Opcode   string  `json:"opcode"`
			Text     *string `json:"text"`
			Data     string  `json:"data"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if ev.Type != "message" {
			continue
		}
		k := [2]int{ev.Conn, int(ev.H2Stream)}
		if _, ok := byWS[k]; !ok {
			order = append(order, struct {
				conn   int
				stream uint32
			}{ev.Conn, ev.H2Stream})
		}
		m := harMsg{conn: ev.Conn, stream: ev.H2Stream, from: ev.From, opcode: 2}
		if ev.Opcode == "text" {
			m.opcode = 1
		}
		if ev.Text != nil {
			m.data = *ev.Text
		} else {
			p, err := base64.StdEncoding.DecodeString(ev.Data)
			if err != nil {
				t.Fatal(err)
			}
			m.data = string(p)
		}
		byWS[k] = append(byWS[k], m)
	}
	var all []harMsg
	for _, o := range order {
		all = append(all, byWS[[2]int{o.conn, int(o.stream)}]...)
	}
	return all
}

// harMessages are the _webSocketMessages of a HAR file, the entries in
// the order of their first message (as jsonMessages orders them).
func harMessages(t *testing.T, path string) []harMsg {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var h harLog
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if h.Log.Version != "1.2" || h.Log.Creator.Name != "wscap" {
		t.Fatalf("log version %q creator %q", h.Log.Version, h.Log.Creator.Name)
	}
	type ws struct {
		first float64
		msgs  []harMsg
	}
	var list []ws
	for _, e := range h.Log.Entries {
		if e.ResourceType != "websocket" {
			t.Fatalf("_resourceType %q", e.ResourceType)
		}
		if !strings.HasPrefix(e.Request.URL, "ws://") && !strings.HasPrefix(e.Request.URL, "wss://") {
			t.Fatalf("url %q", e.Request.URL)
		}
		var w ws
		for i, m := range e.Messages {
			from := map[string]string{"send": "client", "receive": "server"}[m.Type]
			if from == "" {
				t.Fatalf("message type %q", m.Type)
			}
			data := m.Data
			switch {
			case m.Opcode == 2:
				p, err := base64.StdEncoding.DecodeString(m.Data)
				if err != nil {
					t.Fatal(err)
				}
				data = string(p)
			case m.Wscap.Encoding == "latin1":
				var p []byte
				for _, r := range m.Data {
					p = append(p, byte(r))
				}
				data = string(p)
			case !utf8.ValidString(m.Data):
				t.Fatalf("text message not UTF-8")
			}
			if i == 0 {
				w.first = m.Time
			}
			w.msgs = append(w.msgs, harMsg{conn: e.Wscap.Conn, stream: e.Wscap.H2Stream, from: from, opcode: m.Opcode, data: data})
		}
		if len(w.msgs) > 0 {
			list = append(list, w)
		}
	}
	// Entries are sorted by startedDateTime; JSON Lines by first message.
	for i := 1; i < len(list); i++ {
		for j := i; j > 0 && list[j].first < list[j-1].first; j-- {
			list[j], list[j-1] = list[j-1], list[j]
		}
	}
	var all []harMsg
	for _, w := range list {
		all = append(all, w.msgs...)
	}
	return all
}

// harValidatorDir is where .ci/run installs har-validator (npm).
func harValidatorDir() string {
	if d := os.Getenv("WSCAP_NPM_DIR"); d != "" {
		return filepath.Join(d, "node_modules")
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".cache", "wscap-npm", "node_modules")
}

// validateHAR checks the files against the HAR 1.2 schema with
// har-validator; skips when node or the package is missing.
func validateHAR(t *testing.T, files ...string) {
	t.Helper()
	mods := harValidatorDir()
	node, err := exec.LookPath("node")
	if err != nil || !fileExists(filepath.Join(mods, "har-validator")) {
		t.Skipf("har-validator not installed (node and npm install har-validator@5.1.5 in %s; .ci/run does it)", filepath.Dir(mods))
	}
	cmd := exec.Command(node, append([]string{"scripts/har/validate.js"}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+mods)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("har-validator: %v\n%s", err, out)
	}
	if n := strings.Count(string(out), "ok "); n != len(files) {
		t.Fatalf("har-validator checked %d of %d files:\n%s", n, len(files), out)
	}
}

// TestHARFlag: --har's checks, and -Y: the HAR's messages are the
// message events --json prints with the same filter.
func TestHARFlag(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-r", "testdata/real/demo.pcapng", "--har", "-"}, "--har - is not supported"},
		{[]string{"-r", "testdata/real/demo.pcapng", "--har", "testdata/real/demo.pcapng"}, "would overwrite"},
		{[]string{"-r", "testdata/real/demo.pcapng", "--har", "a.har", "--har", "b.har"}, "given twice"},
	} {
		var out, errb bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), tt.want) || exitCode(err, &errb) != 2 {
			t.Errorf("wscap %v: %v, want a usage error with %q", tt.args, err, tt.want)
		}
	}
	for _, filter := range []string{`from == "server"`, `conn == 1 and opcode == "binary"`, `text contains "bob"`} {
		har := filepath.Join(dir, "f.har")
		var out, errb bytes.Buffer
		args := []string{"-r", "testdata/real/demo.pcapng", "--json", "-Y", filter, "--har", har}
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("wscap %v: %v\n%s", args, err, errb.String())
		}
		want, got := jsonMessages(t, out.Bytes()), harMessages(t, har)
		if len(want) == 0 || len(got) != len(want) {
			t.Fatalf("-Y %s: HAR %d messages, JSON %d", filter, len(got), len(want))
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("-Y %s: message %d: HAR %+v, JSON %+v", filter, i, got[i], want[i])
			}
		}
	}
}
