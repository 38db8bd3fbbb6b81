// Command go-client is the Go client of the recorded session (see
// ../session.js): gorilla/websocket over crypto/tls, writing the TLS
// secrets to a key log with tls.Config.KeyLogWriter. It lives in its own
// module so that wscap itself does not depend on gorilla/websocket.
//
//	go-client URL [KEYLOG]
//
// URL is ws:// or wss://wscap.test:PORT/...; the connection is made to
// 127.0.0.1:PORT with Host and SNI wscap.test. scripts/record-chromium.sh
// runs it through drive.js, which starts the server first.
package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

type message struct {
	kind int
	data []byte
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: go-client URL [KEYLOG]")
		os.Exit(2)
	}
	if err := run(os.Args[1], keylogPath()); err != nil {
		fmt.Fprintf(os.Stderr, "go-client: %v\n", err)
		os.Exit(1)
	}
}

func keylogPath() string {
	if len(os.Args) > 2 {
		return os.Args[2]
	}
	return ""
}

// bigJSON returns a JSON text of about size bytes, mostly random base64
// keys, so the compressed message is still large (like session.js's).
func bigJSON(seed uint64, size int) []byte {
	const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	r := rand.New(rand.NewPCG(seed, seed))
	words := strings.Fields("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima ça très déjà 🙂 👋")
	rand64 := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = b64[r.IntN(64)]
		}
		return string(b)
	}
	type record struct {
		ID    int      `json:"id"`
		Key   string   `json:"key"`
		User  string   `json:"user"`
		Text  string   `json:"text"`
		Score float64  `json:"score"`
		Tags  []string `json:"tags"`
	}
	var recs []record
	for n := 30; n < size; {
		var ws []string
		for range 6 {
			ws = append(ws, words[r.IntN(len(words))])
		}
		rec := record{len(recs), rand64(400), fmt.Sprintf("user%d", r.IntN(50)), strings.Join(ws, " "),
			float64(r.IntN(100000000)) / 100, []string{rand64(8), rand64(8)}}
		b, _ := json.Marshal(rec)
		n += len(b) + 1
		recs = append(recs, rec)
	}
	b, _ := json.Marshal(map[string]any{"type": "bulk", "seed": seed, "records": recs})
	return b
}

func run(rawURL, keylog string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse url: %w", err)
	}
	tlsConf := &tls.Config{InsecureSkipVerify: true} // the recorder's self-signed certificate
	if keylog != "" && u.Scheme == "wss" {
		f, err := os.OpenFile(keylog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return fmt.Errorf("open key log: %w", err)
		}
		defer f.Close()
		tlsConf.KeyLogWriter = f
	}
	dialer := websocket.Dialer{
		NetDial: func(network, addr string) (net.Conn, error) {
			_, port, _ := net.SplitHostPort(addr)
			return net.Dial(network, net.JoinHostPort("127.0.0.1", port))
		},
		TLSClientConfig:   tlsConf,
		HandshakeTimeout:  10 * time.Second,
		Subprotocols:      []string{"wscap.v1", "chat"},
		EnableCompression: true,
	}
	hdr := http.Header{"User-Agent": {"wscap-recorder go gorilla/websocket"}}
	c, resp, err := dialer.Dial(rawURL, hdr)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer c.Close()
	fmt.Fprintf(os.Stderr, "go-client: open, protocol=%s extensions=%s\n", c.Subprotocol(), resp.Header.Get("Sec-WebSocket-Extensions"))

	msgs := make(chan message, 16)
	readErr := make(chan error, 1)
	pongs := make(chan string, 1)
	c.SetPongHandler(func(s string) error {
		pongs <- s
		return nil
	})
	go func() {
		for {
			kind, data, err := c.ReadMessage()
			if err != nil {
				readErr <- err
				close(msgs)
				return
			}
			msgs <- message{kind, data}
		}
	}()
	expect := func(n int) error {
		for range n {
			select {
			case m, ok := <-msgs:
				if !ok {
					return fmt.Errorf("read: %w", <-readErr)
				}
				s := string(m.data)
				if m.kind == websocket.BinaryMessage {
					s = fmt.Sprintf("binary %d bytes", len(m.data))
				} else if len(s) > 80 {
					s = s[:80] + "…"
				}
				fmt.Printf("received %s\n", s)
			case <-time.After(10 * time.Second):
				return fmt.Errorf("timed out waiting for a message")
			}
		}
		return nil
	}
	chat := `{"type":"chat","text":"The quick brown fox jumps over the lazy dog. Ça va ? Très bien 🙂"}`
	bin := make([]byte, 1024)
	for i := range bin {
		bin[i] = byte(i*7 + 3)
	}
	steps := []struct {
		kind   int
		data   []byte
		expect int
	}{
		{websocket.TextMessage, []byte(`{"type":"hello","client":"go","text":"Hello from the wscap recorder 👋"}`), 1},
		{websocket.TextMessage, []byte(chat), 1},
		{websocket.TextMessage, []byte(chat), 1},
		{websocket.TextMessage, nil, 1},
		{websocket.BinaryMessage, bin, 1},
		{websocket.TextMessage, bigJSON(1, 200*1024), 2},
		{websocket.TextMessage, []byte(`{"type":"fragmented"}`), 2},
		{websocket.TextMessage, []byte(`{"type":"ping"}`), 1},
	}
	for _, s := range steps {
		if err := c.WriteMessage(s.kind, s.data); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		if err := expect(s.expect); err != nil {
			return err
		}
	}
	// A ping of our own: the server's ws answers with a pong.
	if err := c.WriteControl(websocket.PingMessage, []byte("are you there?"), time.Now().Add(5*time.Second)); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	select {
	case p := <-pongs:
		fmt.Printf("pong %q\n", p)
	case <-time.After(5 * time.Second):
		return fmt.Errorf("no pong")
	}
	if err := c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, "done, bye")); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	for range msgs {
		// drain until the server's close frame ends the reader
	}
	err = <-readErr
	if ce, ok := err.(*websocket.CloseError); ok {
		fmt.Printf("close %d %q\n", ce.Code, ce.Text)
		return nil
	}
	if err == io.EOF {
		return nil
	}
	return fmt.Errorf("read after close: %w", err)
}
