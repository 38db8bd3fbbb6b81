// Package truth checks wscap's JSON Lines output against the ground truth
// that the wsgen workload generator writes next to a capture
// (OUT.truth.jsonl: the sha256 of every message after unmasking,
// reassembly and inflation; OUT.conns.jsonl: the endpoints of each
// connection).
package truth

import (
	"bufio"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// Result is the outcome of a check.
type Result struct {
	Matched, Total int      // truth messages wscap decoded identically / all truth messages
	Extra          int      // messages wscap reported that the truth does not have
	Mismatches     []string // the first few differences, for humans
}

func (r Result) String() string {
	return fmt.Sprintf("%d/%d messages match the truth file (%d extra)", r.Matched, r.Total, r.Extra)
}

type key struct {
	client, server, dir string
}

type msg struct {
	opcode int
	length int
	sum    string
}

// Check reads the wsgen sidecars of capture (capture+".truth.jsonl" and
// capture+".conns.jsonl") and compares them with wscap --json output.
func Check(capture string, events io.Reader) (Result, error) {
	var res Result
	conns := map[int][2]string{}
	if err := eachLine(capture+".conns.jsonl", func(b []byte) error {
		var c struct {
			Conn           int
			Client, Server string
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return err
		}
		conns[c.Conn] = [2]string{c.Client, c.Server}
		return nil
	}); err != nil {
		return res, err
	}
	want := map[key][]msg{}
	if err := eachLine(capture+".truth.jsonl", func(b []byte) error {
		var t struct {
			Conn   int
			Dir    string
			Opcode int
			Len    int
			Sha256 string
		}
		if err := json.Unmarshal(b, &t); err != nil {
			return err
		}
		ep := conns[t.Conn]
		k := key{ep[0], ep[1], t.Dir}
		want[k] = append(want[k], msg{t.Opcode, t.Len, t.Sha256})
		res.Total++
		return nil
	}); err != nil {
		return res, err
	}

	got := map[key][]msg{}
	endpoints := map[int][2]string{}
	sc := bufio.NewScanner(events)
	sc.Buffer(make([]byte, 1<<20), 256<<20)
	for sc.Scan() {
		var e struct {
			Type, From, Opcode string
			Conn               int
			Client, Server     string
			Text, Data         *string
			CloseCode          *int   `json:"close_code"`
			CloseReason        string `json:"close_reason"`
			Len                int
			Truncated          bool
			DecodeError        string `json:"decode_error"`
		}
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return res, fmt.Errorf("parse wscap output: %w", err)
		}
		var payload []byte
		op := 0
		switch {
		case e.Type == "conn":
			endpoints[e.Conn] = [2]string{e.Client, e.Server}
			continue
		case e.Type == "message":
			op = map[string]int{"text": 1, "binary": 2}[e.Opcode]
			if e.Text != nil {
				payload = []byte(*e.Text)
			} else if e.Data != nil {
				payload, _ = base64.StdEncoding.DecodeString(*e.Data)
			}
		case e.Type == "frame" && (e.Opcode == "ping" || e.Opcode == "pong"):
			op = map[string]int{"ping": 9, "pong": 10}[e.Opcode]
			if e.Data != nil {
				payload, _ = base64.StdEncoding.DecodeString(*e.Data)
			}
		case e.Type == "frame" && e.Opcode == "close":
			op = 8
			if e.CloseCode != nil {
				payload = binary.BigEndian.AppendUint16(nil, uint16(*e.CloseCode))
				payload = append(payload, e.CloseReason...)
			}
		default:
			continue
		}
		dir := "c2s"
		if e.From == "server" {
			dir = "s2c"
		}
		ep := endpoints[e.Conn]
		k := key{ep[0], ep[1], dir}
		sum := sha256.Sum256(payload)
		s := hex.EncodeToString(sum[:])
		if e.Truncated || e.DecodeError != "" {
			s = "not decoded: " + e.DecodeError
		}
		got[k] = append(got[k], msg{op, len(payload), s})
	}
	if err := sc.Err(); err != nil {
		return res, fmt.Errorf("read wscap output: %w", err)
	}
	for k, w := range want {
		g := got[k]
		for i, m := range w {
			if i < len(g) && g[i] == m {
				res.Matched++
			} else if len(res.Mismatches) < 10 {
				gs := "missing"
				if i < len(g) {
					gs = fmt.Sprintf("%+v", g[i])
				}
				res.Mismatches = append(res.Mismatches, fmt.Sprintf("%s->%s %s #%d: want %+v, got %s", k.client, k.server, k.dir, i, m, gs))
			}
		}
		if len(g) > len(w) {
			res.Extra += len(g) - len(w)
		}
		delete(got, k)
	}
	for _, g := range got {
		res.Extra += len(g)
	}
	return res, nil
}

func eachLine(path string, fn func([]byte) error) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		if err := fn(sc.Bytes()); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return sc.Err()
}
