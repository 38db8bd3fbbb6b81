//go:build linux

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestOnSignals: signals within sameSignal of the first count as one (timeout
// signals the process group, so wscap may see SIGTERM twice); a later one
// exits at once with 130.
func TestOnSignals(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after []time.Duration // arrival of the signals after the first
		exit  int             // -1: none
	}{
		{"one", nil, -1},
		{"twice at once", []time.Duration{time.Millisecond}, -1},
		{"three within the window", []time.Duration{10 * time.Millisecond, 900 * time.Millisecond}, -1},
		{"second later", []time.Duration{1500 * time.Millisecond}, 130},
		{"burst then later", []time.Duration{time.Millisecond, 2 * time.Second}, 130},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sigs := make(chan os.Signal)
			t0 := time.Unix(1000, 0)
			var clock atomic.Int64 // nanoseconds after t0
			cancels, exit := 0, -1
			var stderr bytes.Buffer
			done := make(chan struct{})
			go func() {
				onSignals(sigs, func() { cancels++ }, func() time.Time { return t0.Add(time.Duration(clock.Load())) }, &stderr, func(c int) { exit = c })
				close(done)
			}()
			sigs <- syscall.SIGTERM
			for _, d := range tt.after {
				clock.Store(int64(d))
				select {
				case sigs <- syscall.SIGTERM:
				case <-done:
				}
			}
			close(sigs)
			<-done
			if cancels != 1 || exit != tt.exit {
				t.Errorf("%d cancels, exit %d; want 1, %d", cancels, exit, tt.exit)
			}
			if (exit == 130) != strings.Contains(stderr.String(), "interrupted again") {
				t.Errorf("stderr %q", stderr.String())
			}
		})
	}
}

// fifo makes a named pipe.
func fifo(t *testing.T) string {
	path := filepath.Join(t.TempDir(), "in.pcap")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	return path
}

// runAsync runs wscap with args on its own goroutine; the result comes on
// the channel.
func runAsync(ctx context.Context, out, errb *syncBuf, args ...string) chan error {
	ch := make(chan error, 1)
	go func() { ch <- run(ctx, args, out, errb) }()
	return ch
}

// TestStreamFIFO: reading a FIFO (or -r -), events are printed as the
// packets arrive, not at EOF, in every output mode.
func TestStreamFIFO(t *testing.T) {
	capture, err := os.ReadFile(writeCapture(t, session(false)))
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--json", "-j", "2"}, {"--json", "-j", "1"}, {"-j", "2"}, {"-j", "1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			path := fifo(t)
			var out, errb syncBuf
			res := runAsync(context.Background(), &out, &errb, append([]string{"-r", path}, args...)...)
			w, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(capture); err != nil {
				t.Fatal(err)
			}
			want := `"type":"frame"`
			if !strings.Contains(args[0], "json") {
				want = "TEXT"
			}
			if !out.waitFor(5*time.Second, contains(want)) {
				t.Errorf("nothing printed while the writer is open: %q", out.String())
			}
			w.Close()
			select {
			case err := <-res:
				if err != nil {
					t.Errorf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("run did not end after the writer closed")
			}
		})
	}
}

// TestStreamInterrupt: an interrupt ends reading a FIFO whose writer is
// quiet, and one that has no writer yet; what was decoded is printed.
func TestStreamInterrupt(t *testing.T) {
	capture, err := os.ReadFile(writeCapture(t, session(false)))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("quiet writer", func(t *testing.T) {
		path := fifo(t)
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb syncBuf
		res := runAsync(ctx, &out, &errb, "-r", path, "-j", "1")
		w, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		w.Write(capture)
		out.waitFor(5*time.Second, contains("TEXT"))
		cancel()
		select {
		case err := <-res:
			if err != nil || !strings.Contains(out.String(), "| Conn |") {
				t.Errorf("run: %v\n%s", err, out.String())
			}
		case <-time.After(3 * time.Second):
			t.Fatal("the interrupt was not noticed while the writer is quiet")
		}
	})
	t.Run("no writer", func(t *testing.T) {
		path := fifo(t)
		ctx, cancel := context.WithCancel(context.Background())
		var out, errb syncBuf
		res := runAsync(ctx, &out, &errb, "-r", path)
		time.Sleep(50 * time.Millisecond)
		cancel()
		select {
		case err := <-res:
			if err != nil {
				t.Errorf("run: %v", err)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("the interrupt was not noticed while waiting for a writer")
		}
	})
}
