//go:build linux

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/sys/unix"

	"github.com/wscap/wscap/capture"
)

// The live tests capture on the loopback device. They need CAP_NET_RAW
// (root in CI) and a filter compiler (tcpdump or a -tags pcap build), and
// skip without them. Every wait is bounded.

const liveWait = 10 * time.Second

// canCapture reports whether this process may open packet sockets.
func canCapture() error {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

func needCapture(t *testing.T) {
	t.Helper()
	if err := canCapture(); err != nil {
		t.Skipf("cannot open a packet socket (needs root or CAP_NET_RAW): %v", err)
	}
	if capture.Compiler() == "" {
		t.Skip("no filter compiler: neither tcpdump on PATH nor a -tags pcap build")
	}
}

// syncBuf is an io.Writer safe for a writer and a poller.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls until cond holds for the buffer's text or d has passed.
func (s *syncBuf) waitFor(d time.Duration, cond func(string) bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond(s.String()) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func contains(sub string) func(string) bool {
	return func(s string) bool { return strings.Contains(s, sub) }
}

// echoServer starts a WebSocket echo server (permessage-deflate enabled)
// on a random loopback port.
func echoServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up := websocket.Upgrader{EnableCompression: true}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			mt, data, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(mt, data); err != nil {
				return
			}
		}
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// wsClient is a gorilla client with a reader goroutine.
type wsClient struct {
	c      *websocket.Conn
	echoes chan []byte
	pongs  chan string
	done   chan error // the reader's final error
}

// dial connects with a 256-byte write buffer: longer messages go out in
// several frames.
func dial(t *testing.T, port int) *wsClient {
	t.Helper()
	d := websocket.Dialer{EnableCompression: true, WriteBufferSize: 256, HandshakeTimeout: liveWait}
	c, _, err := d.Dial(fmt.Sprintf("ws://127.0.0.1:%d/live?x=1", port), nil)
	if err != nil {
		t.Fatal(err)
	}
	w := &wsClient{c: c, echoes: make(chan []byte, 16), pongs: make(chan string, 4), done: make(chan error, 1)}
	c.SetPongHandler(func(s string) error { w.pongs <- s; return nil })
	go func() {
		for {
			_, data, err := c.ReadMessage()
			if err != nil {
				w.done <- err
				return
			}
			w.echoes <- data
		}
	}()
	t.Cleanup(func() { c.Close() })
	return w
}

func (w *wsClient) waitEcho(t *testing.T, want []byte) {
	t.Helper()
	select {
	case got := <-w.echoes:
		if !bytes.Equal(got, want) {
			t.Fatalf("echo differs: got %d bytes, want %d", len(got), len(want))
		}
	case err := <-w.done:
		t.Fatalf("connection ended: %v", err)
	case <-time.After(liveWait):
		t.Fatal("no echo")
	}
}

// sent is a message the client sent; the server echoes it.
type sent struct {
	opcode     string
	payload    []byte
	compressed bool
	fragmented bool
}

// exchange runs the test conversation: text, binary, fragmented,
// compressed (one frame and several), a ping and a close.
func exchange(t *testing.T, w *wsClient) []sent {
	t.Helper()
	c := w.c
	var msgs []sent
	send := func(m sent, write func() error) {
		t.Helper()
		c.EnableWriteCompression(m.compressed)
		if err := write(); err != nil {
			t.Fatal(err)
		}
		w.waitEcho(t, m.payload)
		msgs = append(msgs, m)
	}
	simple := func(m sent) {
		mt := websocket.TextMessage
		if m.opcode == "binary" {
			mt = websocket.BinaryMessage
		}
		send(m, func() error { return c.WriteMessage(mt, m.payload) })
	}

	simple(sent{opcode: "text", payload: []byte("hello live")})
	bin := make([]byte, 200)
	for i := range bin {
		bin[i] = byte(i)
	}
	simple(sent{opcode: "binary", payload: bin})

	// Three writes of 300 bytes through a 256-byte buffer: 4 frames.
	part := strings.Repeat("fragment ", 34)[:300]
	frag := sent{opcode: "text", payload: []byte(part + part + part), fragmented: true}
	send(frag, func() error {
		wr, err := c.NextWriter(websocket.TextMessage)
		if err != nil {
			return err
		}
		for range 3 {
			if _, err := wr.Write([]byte(part)); err != nil {
				return err
			}
		}
		return wr.Close()
	})

	simple(sent{opcode: "text", payload: []byte(strings.Repeat("compress me ", 100)), compressed: true})
	rnd := rand.New(rand.NewPCG(1, 2))
	letters := make([]byte, 3000)
	for i := range letters {
		letters[i] = 'a' + byte(rnd.IntN(26))
	}
	simple(sent{opcode: "text", payload: letters, compressed: true, fragmented: true})

	if err := c.WriteControl(websocket.PingMessage, []byte("ping-1"), time.Now().Add(liveWait)); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-w.pongs:
		if p != "ping-1" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(liveWait):
		t.Fatal("no pong")
	}

	if err := c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "bye"), time.Now().Add(liveWait)); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.done:
		if !websocket.IsCloseError(err, 1000) {
			t.Fatalf("close: %v", err)
		}
	case <-time.After(liveWait):
		t.Fatal("no close from the server")
	}
	c.Close()
	return msgs
}

// event is the part of a JSON Lines event the live tests look at.
type event struct {
	Type        string `json:"type"`
	Conn        int    `json:"conn"`
	From        string `json:"from"`
	Opcode      string `json:"opcode"`
	Text        string `json:"text"`
	Data        string `json:"data"`
	Frames      int    `json:"frames"`
	Compressed  bool   `json:"compressed"`
	Truncated   bool   `json:"truncated"`
	LostBytes   int    `json:"lost_bytes"`
	DecodeError string `json:"decode_error"`
	CloseCode   int    `json:"close_code"`
	CloseReason string `json:"close_reason"`
	Server      string `json:"server"`
	AcceptValid bool   `json:"accept_valid"`
	Extensions  string `json:"extensions"`
	Severity    string `json:"severity"`
	Code        string `json:"code"`
}

func parseEvents(t *testing.T, out string) []event {
	t.Helper()
	var evs []event
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		evs = append(evs, e)
	}
	return evs
}

func (e event) payload(t *testing.T) []byte {
	if e.Data == "" {
		return []byte(e.Text)
	}
	b, err := base64.StdEncoding.DecodeString(e.Data)
	if err != nil {
		t.Fatalf("bad base64 %q", e.Data)
	}
	return b
}

// checkEvents checks that every message the client sent, and every echo,
// was decoded exactly once and in order, with the ping, pong and closes.
func checkEvents(t *testing.T, out string, port int, msgs []sent) {
	t.Helper()
	evs := parseEvents(t, out)
	got := map[string][]event{}
	var conns, pings, pongs, closes int
	for _, e := range evs {
		switch e.Type {
		case "conn":
			conns++
			if !strings.HasSuffix(e.Server, fmt.Sprintf(":%d", port)) {
				t.Errorf("conn server %s, want port %d", e.Server, port)
			}
		case "handshake":
			if !e.AcceptValid || !strings.Contains(e.Extensions, "permessage-deflate") {
				t.Errorf("handshake: accept_valid=%v extensions=%q", e.AcceptValid, e.Extensions)
			}
		case "message":
			got[e.From] = append(got[e.From], e)
		case "frame":
			switch e.Opcode {
			case "ping":
				pings++
				if e.From != "client" || string(e.payload(t)) != "ping-1" {
					t.Errorf("ping from %s with %q", e.From, e.payload(t))
				}
			case "pong":
				pongs++
				if e.From != "server" || string(e.payload(t)) != "ping-1" {
					t.Errorf("pong from %s with %q", e.From, e.payload(t))
				}
			case "close":
				closes++
				if e.CloseCode != 1000 || e.From == "client" && e.CloseReason != "bye" {
					t.Errorf("close from %s: %d %q", e.From, e.CloseCode, e.CloseReason)
				}
			}
		case "anomaly":
			if e.Severity == "error" {
				t.Errorf("anomaly %s (%s)", e.Code, e.Severity)
			}
		}
	}
	if conns != 1 || pings != 1 || pongs != 1 || closes != 2 {
		t.Errorf("%d conns, %d pings, %d pongs, %d closes; want 1, 1, 1, 2", conns, pings, pongs, closes)
	}
	for _, from := range []string{"client", "server"} {
		if len(got[from]) != len(msgs) {
			t.Errorf("%d messages from the %s, want %d", len(got[from]), from, len(msgs))
			continue
		}
		for i, m := range msgs {
			e := got[from][i]
			if e.Opcode != m.opcode || !bytes.Equal(e.payload(t), m.payload) || e.Truncated || e.LostBytes != 0 || e.DecodeError != "" {
				t.Errorf("%s message %d: %s %d bytes (truncated=%v lost=%d error=%q), want %s %d bytes",
					from, i+1, e.Opcode, len(e.payload(t)), e.Truncated, e.LostBytes, e.DecodeError, m.opcode, len(m.payload))
			}
			if from == "client" && (e.Compressed != m.compressed || (e.Frames > 1) != m.fragmented) {
				t.Errorf("client message %d: compressed=%v frames=%d, want compressed=%v fragmented=%v",
					i+1, e.Compressed, e.Frames, m.compressed, m.fragmented)
			}
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out)
	}
}

// TestLiveLoopback captures a real WebSocket conversation on lo with run(),
// stops it by cancelling the context (what SIGINT does), and checks the
// events; then that the -w file decodes to the same output.
func TestLiveLoopback(t *testing.T) {
	needCapture(t)
	port := echoServer(t)
	pcap := filepath.Join(t.TempDir(), "live.pcapng")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuf
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-i", "lo", "-f", fmt.Sprintf("tcp port %d", port), "--json", "-w", pcap}, &stdout, &stderr)
	}()
	if !stderr.waitFor(liveWait, contains("listening on lo")) {
		cancel()
		t.Fatalf("capture did not start: %v\nstderr: %s", <-errc, stderr.String())
	}

	msgs := exchange(t, dial(t, port))

	// Events are flushed as they happen (--json): wait for the end of the
	// connection before stopping.
	if !stdout.waitFor(liveWait, func(s string) bool { return strings.Count(s, `"type":"end"`) >= 2 }) {
		t.Errorf("no end event within %v", liveWait)
	}
	cancel()
	select {
	case err := <-errc:
		if code := exitCode(err, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(liveWait):
		t.Fatal("run did not return after cancel")
	}
	if !strings.Contains(stderr.String(), "0 dropped by kernel") {
		t.Errorf("stderr lacks the statistics: %s", stderr.String())
	}
	live := stdout.String()
	checkEvents(t, live, port, msgs)

	code, fromFile, errOut := runCLI("-r", pcap, "--json")
	if code != 0 || errOut != "" {
		t.Fatalf("-r %s: exit %d: %s", pcap, code, errOut)
	}
	if fromFile != live {
		t.Errorf("-r of the -w file differs from the live output\nlive:\n%s\nfile:\n%s", live, fromFile)
	}
	if tshark, err := exec.LookPath("tshark"); err == nil {
		out, err := exec.Command(tshark, "-r", pcap, "-T", "fields", "-e", "frame.number").Output()
		if n := strings.Count(string(out), "\n"); err != nil || n == 0 {
			t.Errorf("tshark -r %s: %v (%d packets)", pcap, err, n)
		}
	}
}

// TestLiveText checks the default timeline and summary live, with -c.
func TestLiveText(t *testing.T) {
	needCapture(t)
	port := echoServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuf
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, []string{"-i", "lo", "-f", fmt.Sprintf("tcp port %d", port), "--duration", "20s"}, &stdout, &stderr)
	}()
	if !stderr.waitFor(liveWait, contains("listening on lo")) {
		cancel()
		t.Fatalf("capture did not start: %v\nstderr: %s", <-errc, stderr.String())
	}
	w := dial(t, port)
	w.c.WriteMessage(websocket.TextMessage, []byte("timeline row"))
	w.waitEcho(t, []byte("timeline row"))
	time.Sleep(200 * time.Millisecond) // let the last packets reach the ring
	cancel()                           // the connection stays open: flushed at the stop
	select {
	case err := <-errc:
		if code := exitCode(err, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(liveWait):
		t.Fatal("run did not return after cancel")
	}
	out := stdout.String()
	for _, want := range []string{"HANDSHAKE", `"timeline row"`, "C>S TEXT", "S>C TEXT"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// buildWscap builds the wscap binary (pure Go) into a directory every user
// can read.
func buildWscap(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		os.Chmod(d, 0o755)
	}
	bin := filepath.Join(dir, "wscap")
	cmd := exec.Command(goTool, "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestLiveBinary runs a built wscap: SIGINT stops the capture with a full
// flush and exit status 0; and, as root, the message when the user may not
// capture.
func TestLiveBinary(t *testing.T) {
	needCapture(t)
	bin := buildWscap(t)

	t.Run("sigint", func(t *testing.T) {
		port := echoServer(t)
		pcap := filepath.Join(t.TempDir(), "sigint.pcapng")
		var stdout, stderr syncBuf
		cmd := exec.Command(bin, "-i", "lo", "-f", fmt.Sprintf("tcp port %d", port), "--json", "-w", pcap)
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		defer cmd.Process.Kill()
		if !stderr.waitFor(liveWait, contains("listening on lo")) {
			t.Fatalf("capture did not start; stderr: %s", stderr.String())
		}
		w := dial(t, port)
		w.c.WriteMessage(websocket.TextMessage, []byte("before sigint"))
		w.waitEcho(t, []byte("before sigint"))
		// --json output reaches a pipe while the capture runs.
		if !stdout.waitFor(liveWait, func(s string) bool { return strings.Count(s, "before sigint") == 2 }) {
			t.Fatalf("events not flushed live; stdout so far:\n%s", stdout.String())
		}
		if err := cmd.Process.Signal(os.Interrupt); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("wscap after SIGINT: %v\nstderr: %s", err, stderr.String())
			}
		case <-time.After(liveWait):
			t.Fatal("wscap did not exit after SIGINT")
		}
		if !strings.Contains(stderr.String(), "packets captured") {
			t.Errorf("no statistics on stderr: %s", stderr.String())
		}
		// The connection was still open: the stop flushed it.
		if !strings.Contains(stdout.String(), `"type":"end"`) {
			t.Errorf("open connection not flushed at the stop:\n%s", stdout.String())
		}
		code, fromFile, errOut := runCLI("-r", pcap, "--json")
		if code != 0 || fromFile != stdout.String() {
			t.Errorf("-r of the -w file: exit %d %s\nlive:\n%s\nfile:\n%s", code, errOut, stdout.String(), fromFile)
		}
	})

	t.Run("permission", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to run wscap as another user")
		}
		cmd := exec.Command(bin, "-i", "lo")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Skipf("cannot run wscap as nobody: %v", err)
		}
		if ee == nil || ee.ExitCode() != 1 {
			t.Fatalf("wscap as nobody: %v, want exit status 1; stderr: %s", err, stderr.String())
		}
		const want = "wscap: capture on lo: permission denied: run as root or: setcap cap_net_raw,cap_net_admin+ep $(which wscap)\n"
		if stderr.String() != want {
			t.Errorf("stderr %q\nwant   %q", stderr.String(), want)
		}
	})
}

// TestLiveErrors checks the errors that need no capture rights.
func TestLiveErrors(t *testing.T) {
	t.Run("unknown interface", func(t *testing.T) {
		code, _, stderr := runCLI("-i", "nosuch0")
		if code != 1 || !strings.HasPrefix(stderr, "wscap: capture on nosuch0: no such interface: existing interfaces: ") ||
			!strings.Contains(stderr, "lo") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("no permission", func(t *testing.T) {
		if canCapture() == nil {
			t.Skip("this process may capture (TestLiveBinary checks the message as another user)")
		}
		code, _, stderr := runCLI("-i", "lo")
		want := "wscap: capture on lo: permission denied: run as root or: setcap cap_net_raw,cap_net_admin+ep $(which wscap)\n"
		if code != 1 || stderr != want {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("bad filter", func(t *testing.T) {
		if capture.Compiler() == "" {
			t.Skip("no filter compiler")
		}
		// The filter is compiled before the socket is opened: this
		// needs no rights.
		code, _, stderr := runCLI("-i", "lo", "-f", "tcp prot 80")
		if code != 2 || !strings.HasPrefix(stderr, `wscap: invalid filter "tcp prot 80": `) || !strings.Contains(stderr, "syntax error") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
	t.Run("no compiler", func(t *testing.T) {
		if capture.Compiler() == "libpcap" {
			t.Skip("built with libpcap")
		}
		t.Setenv("PATH", t.TempDir())
		code, _, stderr := runCLI("-i", "lo", "-f", "tcp port 80")
		if code != 1 || !strings.Contains(stderr, `cannot compile filter "tcp port 80"`) ||
			!strings.Contains(stderr, "install tcpdump") || !strings.Contains(stderr, "-tags pcap") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
	})
}
