package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	const (
		MB = 1000 * 1000
		GB = 1000 * MB
	)
	tests := []struct {
		name    string
		s       Stats
		elapsed time.Duration
		width   int
		want    string
	}{
		{"half way", Stats{Read: 100 * MB, Size: 200 * MB, Conns: 1234, Messages: 56789}, 2 * time.Second, 0,
			"wscap: 50.0%  100.0 / 200.0 MB  50.0 MB/s  ETA 0:02  1,234 WebSocket  56,789 messages"},
		{"start, nothing decoded", Stats{Read: 0, Size: 200 * MB}, 0, 0,
			"wscap: 0.0%  0.0 / 200.0 MB  0 B/s  ETA --:--  0 WebSocket  0 messages"},
		{"one of each", Stats{Read: 1, Size: 3, Conns: 1, Messages: 1}, time.Second, 0,
			"wscap: 33.3%  1 / 3 B  1 B/s  ETA 0:02  1 WebSocket  1 message"},
		{"done", Stats{Read: 5 * GB, Size: 5 * GB, Conns: 10, Messages: 1234567}, 10 * time.Second, 0,
			"wscap: 100.0%  5.00 / 5.00 GB  500.0 MB/s  ETA 0:00  10 WebSocket  1,234,567 messages"},
		{"grown past its size", Stats{Read: 7 * MB, Size: 5 * MB}, time.Second, 0,
			"wscap: 100.0%  5.0 / 5.0 MB  7.0 MB/s  ETA 0:00  0 WebSocket  0 messages"},
		{"kilobytes, slow", Stats{Read: 1500, Size: 900000}, 3 * time.Second, 0,
			"wscap: 0.2%  1.5 / 900.0 kB  500 B/s  ETA 29:57  0 WebSocket  0 messages"},
		{"hours left", Stats{Read: 1 * GB, Size: 2*GB + 500*MB}, 10000 * time.Second, 0,
			"wscap: 40.0%  1.00 / 2.50 GB  100.0 kB/s  ETA 4:10:00  0 WebSocket  0 messages"},
		{"days left", Stats{Read: 1, Size: 1 * GB}, time.Second, 0,
			"wscap: 0.0%  0.00 / 1.00 GB  1 B/s  ETA >99h  0 WebSocket  0 messages"},
		{"fast", Stats{Read: 3 * GB, Size: 4 * GB}, time.Second, 0,
			"wscap: 75.0%  3.00 / 4.00 GB  3.00 GB/s  ETA 0:01  0 WebSocket  0 messages"},
		{"size unknown", Stats{Read: 12 * MB, Size: -1, Conns: 2, Messages: 3}, 2 * time.Second, 0,
			"wscap: 12.0 MB  6.0 MB/s  2 WebSocket  3 messages"},
		// Narrow terminals: the messages go first, then the connections,
		// the rate, the bytes; the percentage and the time left stay.
		{"width exactly enough", Stats{Read: 100 * MB, Size: 200 * MB, Conns: 1234, Messages: 56789}, 2 * time.Second, 86,
			"wscap: 50.0%  100.0 / 200.0 MB  50.0 MB/s  ETA 0:02  1,234 WebSocket  56,789 messages"},
		{"width one short", Stats{Read: 100 * MB, Size: 200 * MB, Conns: 1234, Messages: 56789}, 2 * time.Second, 85,
			"wscap: 50.0%  100.0 / 200.0 MB  50.0 MB/s  ETA 0:02  1,234 WebSocket"},
		{"width 60", Stats{Read: 100 * MB, Size: 200 * MB, Conns: 1234, Messages: 56789}, 2 * time.Second, 60,
			"wscap: 50.0%  100.0 / 200.0 MB  50.0 MB/s  ETA 0:02"},
		{"width 42", Stats{Read: 100 * MB, Size: 200 * MB, Conns: 1234, Messages: 56789}, 2 * time.Second, 42,
			"wscap: 50.0%  100.0 / 200.0 MB  ETA 0:02"},
		{"width 40", Stats{Read: 100 * MB, Size: 200 * MB}, 2 * time.Second, 40,
			"wscap: 50.0%  ETA 0:02"},
		{"width 16", Stats{Read: 100 * MB, Size: 200 * MB}, 2 * time.Second, 16,
			"wscap: 50.0%"},
		{"width 10: cut", Stats{Read: 100 * MB, Size: 200 * MB}, 2 * time.Second, 10,
			"wscap: 50"},
		{"width 1", Stats{Read: 100 * MB, Size: 200 * MB}, 2 * time.Second, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Format(tt.s, tt.elapsed, tt.width)
			if got != tt.want {
				t.Errorf("Format\n got %q\nwant %q", got, tt.want)
			}
			if tt.width > 0 && len(got) > tt.width-1 {
				t.Errorf("%d columns, more than %d", len(got), tt.width-1)
			}
		})
	}
}

func TestDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"},
		{time.Millisecond, "0:01"}, // rounded up
		{59 * time.Second, "0:59"},
		{60 * time.Second, "1:00"},
		{59*time.Minute + 59*time.Second, "59:59"},
		{time.Hour, "1:00:00"},
		{26*time.Hour + 3*time.Minute + 4*time.Second, "26:03:04"},
		{99*time.Hour + 59*time.Minute + 59*time.Second, "99:59:59"},
		{100 * time.Hour, ">99h"},
	}
	for _, tt := range tests {
		if got := Duration(tt.d); got != tt.want {
			t.Errorf("Duration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestBytes(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{999949, "999.9 kB"},
		{1e6, "1.0 MB"},
		{123456789, "123.5 MB"},
		{1e9, "1.00 GB"},
		{2500e9, "2.50 TB"},
	}
	for _, tt := range tests {
		if got := Bytes(tt.n); got != tt.want {
			t.Errorf("Bytes(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}

// TestMeterTerminal checks the line on a terminal: nothing before the
// delay, redrawn in place at most every Every, erased before a guarded
// write and by Stop, and not drawn over a line a write left unfinished.
func TestMeterTerminal(t *testing.T) {
	var tty, out bytes.Buffer
	t0 := time.Unix(1000, 0)
	m := New(&tty, t0, Options{Terminal: true, Delay: 500 * time.Millisecond, Every: 100 * time.Millisecond, Width: func() int { return 40 }})
	s := Stats{Read: 50, Size: 100}
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	m.Draw(at(499), s)
	if tty.Len() != 0 {
		t.Fatalf("drawn before the delay: %q", tty.String())
	}
	if m.Due(at(499)) || !m.Due(at(500)) {
		t.Error("Due before the delay, or not at it")
	}
	m.Draw(at(500), s)
	want := "\r" + Format(s, 500*time.Millisecond, 40) + "\x1b[K"
	if tty.String() != want {
		t.Fatalf("first line %q, want %q", tty.String(), want)
	}
	if strings.Contains(tty.String(), "\n") {
		t.Error("the line scrolls")
	}
	tty.Reset()
	m.Draw(at(550), s) // too soon
	if tty.Len() != 0 {
		t.Errorf("redrawn within Every: %q", tty.String())
	}
	m.Draw(at(600), s)
	if !strings.HasPrefix(tty.String(), "\r") || tty.Len() == 0 {
		t.Errorf("not redrawn after Every: %q", tty.String())
	}

	// A guarded write (standard output on the same terminal) erases the
	// line first and passes its bytes on untouched.
	tty.Reset()
	stdout := m.Guard(&multi{&tty, &out})
	stdout.Write([]byte("row 1\nrow 2 unfinished"))
	if got, want := tty.String(), "\r\x1b[Krow 1\nrow 2 unfinished"; got != want {
		t.Errorf("terminal after a guarded write %q, want %q", got, want)
	}
	tty.Reset()
	m.Draw(at(800), s) // the row is unfinished: not drawn over it
	if tty.Len() != 0 {
		t.Errorf("drawn over an unfinished line: %q", tty.String())
	}
	stdout.Write([]byte(" finished\n"))
	tty.Reset()
	m.Draw(at(900), s)
	if tty.Len() == 0 {
		t.Error("not drawn after the line was finished")
	}
	if out.String() != "row 1\nrow 2 unfinished finished\n" {
		t.Errorf("guarded bytes changed: %q", out.String())
	}

	tty.Reset()
	m.Stop()
	if tty.String() != "\r\x1b[K" {
		t.Errorf("Stop wrote %q, want the erase", tty.String())
	}
	tty.Reset()
	m.Draw(at(5000), s)
	m.Stop()
	stdout.Write([]byte("summary\n"))
	if tty.String() != "summary\n" {
		t.Errorf("after Stop: %q", tty.String())
	}
}

// TestMeterPlain checks a meter off a terminal: whole lines, no control
// characters, at most every Every.
func TestMeterPlain(t *testing.T) {
	var log bytes.Buffer
	t0 := time.Unix(1000, 0)
	m := New(&log, t0, PlainDefaults)
	s := Stats{Read: 2e6, Size: 8e6, Conns: 3, Messages: 40}
	for ms := 0; ms <= 3500; ms += 50 {
		m.Draw(t0.Add(time.Duration(ms)*time.Millisecond), s)
	}
	m.Stop()
	lines := strings.Split(strings.TrimSuffix(log.String(), "\n"), "\n")
	if len(lines) != 3 { // at 1 s, 2 s, 3 s
		t.Fatalf("%d lines, want 3: %q", len(lines), log.String())
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "wscap: 25.0%  2.0 / 8.0 MB") || strings.ContainsAny(l, "\r\x1b") {
			t.Errorf("line %q", l)
		}
	}
	g := m.Guard(&log)
	log.Reset()
	g.Write([]byte("wscap: warning: x\n"))
	if log.String() != "wscap: warning: x\n" {
		t.Errorf("guarded write off a terminal: %q", log.String())
	}
}

// multi writes to both: what the terminal shows, and what was written.
type multi struct{ tty, out *bytes.Buffer }

func (m *multi) Write(p []byte) (int, error) {
	m.tty.Write(p)
	return m.out.Write(p)
}
