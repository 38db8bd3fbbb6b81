// Command wsload is the load generator of bench/live: a minimal WebSocket
// server and clients on the loopback device, sending masked text messages
// at a fixed rate (RFC 6455 framing written by hand, so the generator needs
// no WebSocket library).
//
// Usage:
//
//	wsload -port 18080 -rate 10000 -duration 30s -conns 10 -size 100
//	wsload -port 18080 -rate 2000 -duration 10m -conns 20 -lifetime 5s   # connection churn
//
// Each message is "c<conn>-<n> " padded with 'x' to -size bytes. At the end
// it prints one JSON line: {"sent":N,"received":N,"connections":N,"seconds":S}.
package main

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func main() {
	port := flag.Int("port", 18080, "listen on 127.0.0.1:`PORT`")
	rate := flag.Float64("rate", 10000, "messages per second, all connections together")
	duration := flag.Duration("duration", 30*time.Second, "how long to send")
	conns := flag.Int("conns", 10, "concurrent connections")
	size := flag.Int("size", 100, "message size in bytes")
	lifetime := flag.Duration("lifetime", 0, "close each connection after this long and open a new one (0: keep them)")
	flag.Parse()
	if *size < 16 || *size > 65535 || *conns < 1 || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "wsload: bad flags")
		os.Exit(2)
	}

	ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "wsload:", err)
		os.Exit(1)
	}
	var received atomic.Int64
	go serve(ln, &received)

	var sent, opened atomic.Int64
	start := time.Now()
	end := start.Add(*duration)
	perConn := *rate / float64(*conns)
	var wg sync.WaitGroup
	for i := range *conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for gen := 0; time.Now().Before(end); gen++ {
				stop := end
				if *lifetime > 0 && time.Now().Add(*lifetime).Before(end) {
					stop = time.Now().Add(*lifetime)
				}
				id := fmt.Sprintf("%d.%d", i, gen)
				n, err := client(ln.Addr().String(), id, perConn, *size, stop)
				sent.Add(n)
				opened.Add(1)
				if err != nil {
					fmt.Fprintf(os.Stderr, "wsload: connection %s: %v\n", id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	// Let the server read what is in flight.
	for deadline := time.Now().Add(5 * time.Second); received.Load() < sent.Load() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	out, _ := json.Marshal(map[string]any{
		"sent": sent.Load(), "received": received.Load(), "connections": opened.Load(),
		"seconds": time.Since(start).Seconds(),
	})
	fmt.Println(string(out))
}

// client opens a WebSocket connection, sends messages at rate per second
// until stop, then closes it properly. It returns how many it sent.
func client(addr, id string, rate float64, size int, stop time.Time) (int64, error) {
	c, err := net.Dial("tcp4", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	var key [16]byte
	binary.LittleEndian.PutUint64(key[:], rand.Uint64())
	binary.LittleEndian.PutUint64(key[8:], rand.Uint64())
	k := base64.StdEncoding.EncodeToString(key[:])
	fmt.Fprintf(c, "GET /load/%s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n", id, addr, k)
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return 0, fmt.Errorf("handshake: %w", err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != accept(k) {
		return 0, fmt.Errorf("handshake: %s", resp.Status)
	}
	bw := bufio.NewWriterSize(c, 64<<10)
	payload := make([]byte, size)
	var n int64
	begin := time.Now()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for now := range tick.C {
		if !now.Before(stop) {
			break
		}
		due := int64(now.Sub(begin).Seconds() * rate)
		for ; n < due; n++ {
			msg := fmt.Appendf(payload[:0], "c%s-%d ", id, n)
			for len(msg) < size {
				msg = append(msg, 'x')
			}
			writeFrame(bw, 0x1, msg, true)
		}
		if err := bw.Flush(); err != nil {
			return n, err
		}
	}
	writeFrame(bw, 0x8, []byte{0x03, 0xe8}, true) // 1000: normal closure
	if err := bw.Flush(); err != nil {
		return n, err
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		op, _, err := readFrame(br)
		if err != nil {
			return n, fmt.Errorf("waiting for the close: %w", err)
		}
		if op == 0x8 {
			return n, nil
		}
	}
}

func accept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// serve accepts connections: handshake, then count the messages until a
// close, which it answers.
func serve(ln net.Listener, received *atomic.Int64) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			br := bufio.NewReaderSize(c, 64<<10)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			k := req.Header.Get("Sec-WebSocket-Key")
			fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept(k))
			for {
				op, _, err := readFrame(br)
				if err != nil {
					return
				}
				switch op {
				case 0x1, 0x2:
					received.Add(1)
				case 0x8:
					bw := bufio.NewWriter(c)
					writeFrame(bw, 0x8, []byte{0x03, 0xe8}, false)
					bw.Flush()
					return
				}
			}
		}()
	}
}

// writeFrame writes one FIN frame; client frames are masked.
func writeFrame(w *bufio.Writer, op byte, payload []byte, mask bool) {
	w.WriteByte(0x80 | op)
	m := byte(0)
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		w.WriteByte(m | byte(n))
	case n <= 0xffff:
		w.WriteByte(m | 126)
		w.WriteByte(byte(n >> 8))
		w.WriteByte(byte(n))
	}
	if !mask {
		w.Write(payload)
		return
	}
	var key [4]byte
	binary.LittleEndian.PutUint32(key[:], rand.Uint32())
	w.Write(key[:])
	for i, b := range payload {
		w.WriteByte(b ^ key[i&3])
	}
}

// readFrame reads one frame (payloads up to 64 KiB) and returns its opcode
// and unmasked payload.
func readFrame(r *bufio.Reader) (byte, []byte, error) {
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, err
		}
		n = int(binary.BigEndian.Uint16(b[:]))
	case 127:
		return 0, nil, errors.New("frame too long")
	}
	var key [4]byte
	if h[1]&0x80 != 0 {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		return 0, nil, err
	}
	if h[1]&0x80 != 0 {
		for i := range p {
			p[i] ^= key[i&3]
		}
	}
	return h[0] & 0x0f, p, nil
}
