package flowgen

import (
	"bytes"
	"testing"
)

// TestDrain checks that draining a capture in batches gives the same
// packets, byte for byte and with the same times, as serialising it whole.
func TestDrain(t *testing.T) {
	build := func(drain func(*Capture)) *Capture {
		c := NewCapture()
		k := c.NewConn(ap("192.0.2.1:50000"), ap("192.0.2.2:80"))
		k.Open()
		drain(c)
		k.Client([]byte("hello"), Every(2))
		c.Pause(5e9)
		drain(c)
		k.Server(bytes.Repeat([]byte("x"), 3000))
		k.Close()
		return c
	}
	whole, err := build(func(*Capture) {}).Packets()
	if err != nil {
		t.Fatal(err)
	}
	var got []Packet
	c := build(func(c *Capture) {
		p, err := c.Drain()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p...)
	})
	rest, err := c.Drain()
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, rest...)
	if c.Len() != 0 {
		t.Errorf("Len after Drain = %d, want 0", c.Len())
	}
	if len(got) != len(whole) {
		t.Fatalf("drained %d packets, whole capture has %d", len(got), len(whole))
	}
	for i := range whole {
		if !bytes.Equal(got[i].Data, whole[i].Data) || !got[i].Info.Timestamp.Equal(whole[i].Info.Timestamp) {
			t.Errorf("packet %d: drained %v %x, whole %v %x", i+1, got[i].Info.Timestamp, got[i].Data, whole[i].Info.Timestamp, whole[i].Data)
		}
	}
}
