package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// appTruth is one line of testdata/real/app/NAME.truth.jsonl: a unit the
// applications logged (see testdata/real/app/README.md).
type appTruth struct {
	WS     int                        `json:"ws"`
	From   string                     `json:"from"`
	Proto  string                     `json:"proto"`
	Type   string                     `json:"type"`
	Name   *string                    `json:"name"`
	ID     json.RawMessage            `json:"id"`
	Fields map[string]json.RawMessage `json:"fields"`
}

// appUnitOut is a unit as wscap --json wrote it.
type appUnitOut map[string]json.RawMessage

// TestAppRecordings decodes every recording of an application protocol
// in testdata/real/app (scripts/record-app.sh, record-app2.sh) and checks
// that what the applications logged appears, per WebSocket and direction
// and in order, among the units wscap reports: same protocol, type, name,
// id and every field the truth gives. NAME.args, when present, holds extra
// arguments (one per line), e.g. --proto for a protobuf recording.
func TestAppRecordings(t *testing.T) {
	truths, _ := filepath.Glob(filepath.Join("testdata", "real", "app", "*.truth.jsonl"))
	if len(truths) == 0 {
		t.Fatal("no recordings in testdata/real/app")
	}
	for _, tf := range truths {
		name := strings.TrimSuffix(filepath.Base(tf), ".truth.jsonl")
		t.Run(name, func(t *testing.T) {
			base := strings.TrimSuffix(tf, ".truth.jsonl")
			args := []string{"-r", base + ".pcapng", "--json", "--summary"}
			if b, err := os.ReadFile(base + ".args"); err == nil {
				args = append(args, strings.Fields(string(b))...)
			}
			code, out, errOut := runCLI(args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			units, anomalies := appUnitsOf(t, out)
			if len(anomalies) > 0 {
				t.Errorf("anomalies: %s", strings.Join(anomalies, "\n"))
			}
			want := readAppTruth(t, tf)
			matched := 0
			for key, lines := range want {
				got := units[key]
				j := 0
				for _, w := range lines {
					for j < len(got) && !unitMatches(w, got[j]) {
						j++
					}
					if j == len(got) {
						t.Errorf("ws %d %s: %s %s %s not found in order among wscap's %d units; from the last match on:\n%s",
							key.ws, key.from, w.Proto, w.Type, strOrNull(w.Name), len(got), describeUnits(got, w))
						break
					}
					j++
					matched++
				}
			}
			t.Logf("%d truth lines matched", matched)
		})
	}
}

type wsDir struct {
	ws   int
	from string
}

// appUnitsOf returns wscap's units by WebSocket (numbered in the order of
// their handshakes) and direction, and the anomalies it reported.
func appUnitsOf(t *testing.T, out string) (map[wsDir][]appUnitOut, []string) {
	type wsKey struct{ conn, stream int }
	order := map[wsKey]int{}
	units := map[wsDir][]appUnitOut{}
	var anomalies []string
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		var ev struct {
			Type     string       `json:"type"`
			Conn     int          `json:"conn"`
			Stream   int          `json:"h2_stream"`
			From     string       `json:"from"`
			App      appUnitOut   `json:"app"`
			AppUnits []appUnitOut `json:"app_units"`
			Code     string       `json:"code"`
			Detail   string       `json:"detail"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		k := wsKey{ev.Conn, ev.Stream}
		switch ev.Type {
		case "handshake":
			if _, ok := order[k]; !ok {
				order[k] = len(order) + 1
			}
		case "anomaly":
			anomalies = append(anomalies, fmt.Sprintf("#%d %s: %s", ev.Conn, ev.Code, ev.Detail))
		case "message":
			d := wsDir{order[k], ev.From}
			switch {
			case ev.AppUnits != nil:
				units[d] = append(units[d], ev.AppUnits...)
			case ev.App != nil:
				units[d] = append(units[d], ev.App)
			}
		}
	}
	return units, anomalies
}

func readAppTruth(t *testing.T, path string) map[wsDir][]appTruth {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[wsDir][]appTruth{}
	for i, l := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var w appTruth
		if err := json.Unmarshal(l, &w); err != nil || w.WS < 1 || w.Proto == "" || w.Type == "" {
			t.Fatalf("%s:%d: bad truth line (%v): %s", path, i+1, err, l)
		}
		k := wsDir{w.WS, w.From}
		out[k] = append(out[k], w)
	}
	return out
}

func unitMatches(w appTruth, u appUnitOut) bool {
	// The protobuf recording's truth is protobufjs' decoding: type
	// "message" and the value as "decoded", with float fields widened to
	// float64 (protojson writes the shortest float32).
	pb := w.Proto == "protobuf"
	if !jsonEq(u["proto"], jsonOf(w.Proto)) || !(pb && w.Type == "message") && !jsonEq(u["type"], jsonOf(w.Type)) {
		return false
	}
	name := json.RawMessage("null")
	if w.Name != nil {
		name = jsonOf(*w.Name)
	}
	if !jsonEq(u["name"], name) {
		return false
	}
	if w.ID != nil && !jsonEq(u["id"], w.ID) {
		return false
	}
	for k, v := range w.Fields {
		if pb && k == "decoded" {
			if !jsonEqFloat32(u["value"], v) {
				return false
			}
			continue
		}
		if !jsonEq(u[k], v) {
			return false
		}
	}
	return true
}

// jsonEqFloat32 is jsonEq with numbers compared as float32.
func jsonEqFloat32(a, b json.RawMessage) bool {
	var x, y any
	if a == nil || b == nil || json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	var eq func(x, y any) bool
	eq = func(x, y any) bool {
		switch x := x.(type) {
		case float64:
			y, ok := y.(float64)
			return ok && float32(x) == float32(y)
		case []any:
			y, ok := y.([]any)
			if !ok || len(x) != len(y) {
				return false
			}
			for i := range x {
				if !eq(x[i], y[i]) {
					return false
				}
			}
			return true
		case map[string]any:
			y, ok := y.(map[string]any)
			if !ok || len(x) != len(y) {
				return false
			}
			for k := range x {
				if !eq(x[k], y[k]) {
					return false
				}
			}
			return true
		}
		return reflect.DeepEqual(x, y)
	}
	return eq(x, y)
}

func jsonOf(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

func jsonEq(a, b json.RawMessage) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func strOrNull(s *string) string {
	if s == nil {
		return "null"
	}
	return fmt.Sprintf("%q", *s)
}

// describeUnits lists wscap's units of the same type as w (or the first
// few), to show why w did not match.
func describeUnits(got []appUnitOut, w appTruth) string {
	var b strings.Builder
	n := 0
	for _, u := range got {
		if !jsonEq(u["type"], jsonOf(w.Type)) {
			continue
		}
		keys := make([]string, 0, len(u))
		for k := range u {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s=%s ", k, u[k])
		}
		b.WriteString("\n")
		if n++; n == 5 {
			break
		}
	}
	wb, _ := json.Marshal(w)
	return b.String() + "want " + string(wb)
}
