// Package tlstest runs TLS sessions in memory between a crypto/tls client
// and server and records the bytes each side writes plus the NSS key log.
// Package tlsdec tests itself with it, and fixture generators use it to put
// WebSocket-over-TLS into capture files.
//
// The bytes depend on crypto/rand. For byte-identical output, call
// testing/cryptotest.SetGlobalRandom in the test that calls Session.
package tlstest

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// Step is one application write of the script: the sender writes Data and
// the peer reads exactly len(Data) bytes.
type Step struct {
	FromServer bool
	Data       []byte
}

// Config describes the sessions to run.
type Config struct {
	// Client and Server are templates (cloned, never modified). Unset
	// fields get defaults: the server certificate, the client's
	// ServerName "example.test", InsecureSkipVerify, a fixed Time, and a
	// session cache when Conns > 1. The key log is always the client's.
	Client, Server *tls.Config
	ECDSA          bool   // serve the ECDSA P-256 certificate instead of RSA 2048
	Steps          []Step // application data exchanged after the handshake
	// Conns is how many connections run one after another with a shared
	// client session cache, so that the later ones resume (default 1).
	// TLS 1.3 tickets reach the client only if Steps has a server write.
	Conns int
}

// Write is one Write call on a side's TCP connection: a flight of records.
type Write struct {
	FromServer bool
	Data       []byte
}

// Conn is the transcript of one connection.
type Conn struct {
	Writes []Write             // every write of both sides, in the order they happened
	State  tls.ConnectionState // the client's view after the handshake
}

// Stream returns the writes of one side.
func (c *Conn) Stream(fromServer bool) [][]byte {
	var out [][]byte
	for _, w := range c.Writes {
		if w.FromServer == fromServer {
			out = append(out, w.Data)
		}
	}
	return out
}

// Result is what Session recorded.
type Result struct {
	Conns  []Conn
	KeyLog []byte // NSS key log lines of all connections
}

// Time is the clock both sides use (tickets and their ages depend on it).
var Time = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// Session runs the connections that cfg describes. After the script the
// client closes (close_notify) and the server answers with its own.
func Session(cfg Config) (*Result, error) {
	var keylog lockedBuffer
	ccfg, scfg := &tls.Config{}, &tls.Config{}
	if cfg.Client != nil {
		ccfg = cfg.Client.Clone()
	}
	if cfg.Server != nil {
		scfg = cfg.Server.Clone()
	}
	if ccfg.ServerName == "" {
		ccfg.ServerName = "example.test"
	}
	ccfg.InsecureSkipVerify = true
	ccfg.KeyLogWriter = &keylog
	if ccfg.ClientSessionCache == nil && cfg.Conns > 1 {
		ccfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	}
	fixed := func() time.Time { return Time }
	if ccfg.Time == nil {
		ccfg.Time = fixed
	}
	if scfg.Time == nil {
		scfg.Time = fixed
	}
	if len(scfg.Certificates) == 0 {
		certPEM, keyPEM := rsaCertPEM, rsaKeyPEM
		if cfg.ECDSA {
			certPEM, keyPEM = ecdsaCertPEM, ecdsaKeyPEM
		}
		cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
		if err != nil {
			return nil, fmt.Errorf("load test certificate: %w", err)
		}
		scfg.Certificates = []tls.Certificate{cert}
	}
	res := &Result{}
	for i := 0; i < max(cfg.Conns, 1); i++ {
		c, err := run(ccfg, scfg, cfg.Steps)
		if err != nil {
			return nil, fmt.Errorf("run connection %d: %w", i+1, err)
		}
		res.Conns = append(res.Conns, c)
	}
	res.KeyLog = keylog.Bytes()
	return res, nil
}

func run(ccfg, scfg *tls.Config, steps []Step) (Conn, error) {
	rec := &recorder{}
	a, b := &pipe{}, &pipe{}
	cend := &end{in: b, out: a, rec: rec}
	send := &end{in: a, out: b, rec: rec, server: true}
	errc := make(chan error, 1)
	go func() {
		srv := tls.Server(send, scfg)
		err := talk(srv, steps, true)
		if err == nil {
			_, err = io.Copy(io.Discard, srv) // until the client's close_notify
		}
		srv.Close()
		errc <- err
	}()
	cl := tls.Client(cend, ccfg)
	err := talk(cl, steps, false)
	state := cl.ConnectionState()
	cl.Close()
	if serr := <-errc; err == nil && serr != nil {
		err = fmt.Errorf("server: %w", serr)
	}
	return Conn{Writes: rec.writes, State: state}, err
}

func talk(c *tls.Conn, steps []Step, server bool) error {
	if err := c.Handshake(); err != nil {
		return fmt.Errorf("handshake: %w", err)
	}
	for i, s := range steps {
		if s.FromServer == server {
			if _, err := c.Write(s.Data); err != nil {
				return fmt.Errorf("step %d: write: %w", i, err)
			}
			continue
		}
		buf := make([]byte, len(s.Data))
		if _, err := io.ReadFull(c, buf); err != nil {
			return fmt.Errorf("step %d: read: %w", i, err)
		}
		if !bytes.Equal(buf, s.Data) {
			return fmt.Errorf("step %d: read other bytes than were written", i)
		}
	}
	return nil
}

type recorder struct {
	mu     sync.Mutex
	writes []Write
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

// pipe is one direction of an in-memory connection with an unbounded
// buffer, so that writes never block (net.Pipe's do, which deadlocks TLS
// flights written while the peer is writing too).
type pipe struct {
	mu     sync.Mutex
	cond   *sync.Cond
	buf    []byte
	closed bool
}

func (p *pipe) lock() {
	p.mu.Lock()
	if p.cond == nil {
		p.cond = sync.NewCond(&p.mu)
	}
}

func (p *pipe) close() {
	p.lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
}

// end is one side of the connection.
type end struct {
	in, out *pipe
	rec     *recorder
	server  bool
}

var errClosed = errors.New("tlstest: connection closed")

func (e *end) Read(b []byte) (int, error) {
	p := e.in
	p.lock()
	defer p.mu.Unlock()
	for len(p.buf) == 0 && !p.closed {
		p.cond.Wait()
	}
	if len(p.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(b, p.buf)
	p.buf = p.buf[n:]
	return n, nil
}

func (e *end) Write(b []byte) (int, error) {
	e.rec.mu.Lock()
	e.rec.writes = append(e.rec.writes, Write{FromServer: e.server, Data: bytes.Clone(b)})
	e.rec.mu.Unlock()
	p := e.out
	p.lock()
	defer p.mu.Unlock()
	if p.closed {
		return 0, errClosed
	}
	p.buf = append(p.buf, b...)
	p.cond.Broadcast()
	return len(b), nil
}

func (e *end) Close() error {
	e.out.close()
	e.in.close()
	return nil
}

type addr struct{}

func (addr) Network() string { return "memory" }
func (addr) String() string  { return "memory" }

func (e *end) LocalAddr() net.Addr              { return addr{} }
func (e *end) RemoteAddr() net.Addr             { return addr{} }
func (e *end) SetDeadline(time.Time) error      { return nil }
func (e *end) SetReadDeadline(time.Time) error  { return nil }
func (e *end) SetWriteDeadline(time.Time) error { return nil }
