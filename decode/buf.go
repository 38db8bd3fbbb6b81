package decode

import (
	"math/bits"
	"sync"
)

// Message payloads and compressed messages are built in buffers from a
// pool shared by every Conn (and goroutine): a connection holds a buffer
// only while a message is open, so memory follows the messages in flight,
// not the number of connections, and steady-state decoding allocates
// nothing. A finished message's buffer is lent to its event and comes back
// to the pool at the Conn's next method call (events are only valid until
// then).

// Buffer size classes: 256 bytes << i. They start small so that a
// message left open (thousands of connections may each have one) holds
// about its bytes, not a page.
const (
	minBufShift = 8
	bufClasses  = 16 // up to 8 MiB; larger buffers are not pooled
)

// pbuf is a pooled buffer (a pointer, so that pooling it does not
// allocate).
type pbuf struct{ b []byte }

var bufPools [bufClasses]sync.Pool

// bufClass returns the class whose buffers hold n bytes.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	return bits.Len(uint(n-1)) - minBufShift
}

// getBuf returns an empty buffer of capacity at least n.
func getBuf(n int) *pbuf {
	k := bufClass(n)
	if k >= bufClasses {
		return &pbuf{b: make([]byte, 0, n)}
	}
	if p, _ := bufPools[k].Get().(*pbuf); p != nil {
		return p
	}
	return &pbuf{b: make([]byte, 0, 1<<(minBufShift+k))}
}

// putBuf returns p to the pool.
func putBuf(p *pbuf) {
	if p == nil {
		return
	}
	c := cap(p.b)
	k := bufClass(c)
	if k >= bufClasses || c != 1<<(minBufShift+k) {
		return
	}
	p.b = p.b[:0]
	bufPools[k].Put(p)
}

// growBuf makes room for n more bytes in *pp (getting a buffer if it is
// nil) and returns its bytes. The buffer doubles, but not past most (the
// most it can hold by the lengths already known, e.g. the rest of the
// frame within the payload limit; 0: no bound): a 100 MB message ends in
// a buffer of about 100 MB, not 128 MiB. Doubling stays bounded by the
// bytes that arrived, never by a declared length alone.
func growBuf(pp **pbuf, n, most int) []byte {
	p := *pp
	if p == nil {
		p = getBuf(n)
		*pp = p
		return p.b
	}
	if cap(p.b)-len(p.b) >= n {
		return p.b
	}
	size := 2 * cap(p.b)
	if most > 0 && size > most && cap(p.b) >= 1<<(minBufShift+bufClasses-1) {
		size = most // only for unpooled sizes: pooled ones keep their class
	}
	q := getBuf(max(len(p.b)+n, size))
	q.b = append(q.b, p.b...)
	putBuf(p)
	*pp = q
	return q.b
}
