//go:build linux

package capture

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"golang.org/x/sys/unix"
)

func TestRingGeometry(t *testing.T) {
	for _, tt := range []struct{ size, snaplen, block, n int }{
		{8 << 20, 262144, 1 << 20, 8},
		{64 << 20, 262144, 1 << 20, 64},
		{1 << 20, 262144, 266240, 3},
		{64 << 10, 262144, 266240, 2},
		{256 << 10, 100, 65536, 4},
	} {
		b, n := ringGeometry(tt.size, tt.snaplen)
		if unix.Getpagesize() == 4096 && (b != tt.block || n != tt.n) {
			t.Errorf("ringGeometry(%d, %d) = %d, %d; want %d, %d", tt.size, tt.snaplen, b, n, tt.block, tt.n)
		}
		if b%unix.Getpagesize() != 0 || b < tt.snaplen || n < 2 {
			t.Errorf("ringGeometry(%d, %d) = %d, %d: not a valid ring", tt.size, tt.snaplen, b, n)
		}
	}
}

func needRaw(t *testing.T) {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Skipf("cannot open a packet socket (needs root or CAP_NET_RAW): %v", err)
	}
	unix.Close(fd)
	if Compiler() == "" {
		t.Skip("no filter compiler")
	}
}

// TestOpenLoopback captures a TCP exchange on lo with each backend: every
// segment once (the outgoing copies are dropped), cut to the snapshot
// length, only the filtered port, counted in the statistics.
func TestOpenLoopback(t *testing.T) {
	needRaw(t)
	for _, b := range backends {
		for _, ifname := range []string{"lo", Any} {
			if b.name == "socket" && ifname == Any {
				continue
			}
			t.Run(b.name+"/"+ifname, func(t *testing.T) {
				ln, err := net.Listen("tcp4", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				defer ln.Close()
				port := ln.Addr().(*net.TCPAddr).Port
				h, err := Open(Options{Interface: ifname, Filter: "tcp port " + strconv.Itoa(port), Snaplen: 200, Backend: b.name, Timeout: 50 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer h.Close()
				if h.Snaplen() != 200 || h.Interface() != ifname || h.Backend() != b.name {
					t.Errorf("handle: snaplen %d interface %s backend %s", h.Snaplen(), h.Interface(), h.Backend())
				}
				payload := bytes.Repeat([]byte("0123456789"), 100)
				go func() {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					c.Write(payload)
					c.Close()
				}()
				// Traffic on another port: the filter drops it.
				other, _ := net.Listen("tcp4", "127.0.0.1:0")
				if other != nil {
					defer other.Close()
					if c, err := net.Dial("tcp4", other.Addr().String()); err == nil {
						c.Close()
					}
				}
				c, err := net.Dial("tcp4", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				got := make([]byte, 0, len(payload))
				buf := make([]byte, 4096)
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err != nil {
						break
					}
				}
				c.Close()
				if !bytes.Equal(got, payload) {
					t.Fatalf("received %d bytes", len(got))
				}

				seen := map[string]int{}
				var dataPackets, packets int
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) {
					p, err := h.Next()
					if errors.Is(err, ErrTimeout) {
						if packets > 0 {
							break
						}
						continue
					}
					if err != nil {
						t.Fatal(err)
					}
					packets++
					if p.LinkType != h.LinkType() || p.CapLen != len(p.Data) || p.CapLen > 200 || p.Time.Location() != time.UTC {
						t.Errorf("packet: link %v caplen %d/%d time %v", p.LinkType, p.CapLen, len(p.Data), p.Time)
					}
					var tcp *layers.TCP
					pkt := gopacket.NewPacket(p.Data, layerOf(p.LinkType), gopacket.Default)
					if l, ok := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
						tcp = l
					}
					if tcp == nil {
						t.Errorf("not TCP: %v", pkt)
						continue
					}
					if int(tcp.SrcPort) != port && int(tcp.DstPort) != port {
						t.Errorf("packet of ports %d-%d passed the filter", tcp.SrcPort, tcp.DstPort)
					}
					key := tcp.SrcPort.String() + ">" + tcp.DstPort.String() + "/" + strconv.Itoa(int(tcp.Seq)) + "/" + strconv.Itoa(int(tcp.Ack)) + flags(tcp)
					seen[key]++
					if seen[key] > 1 {
						t.Errorf("segment %s seen twice", key)
					}
					if p.Len > p.CapLen {
						dataPackets++
					}
				}
				if packets < 5 || dataPackets == 0 {
					t.Errorf("%d packets, %d cut by the snapshot length", packets, dataPackets)
				}
				st, err := h.Stats()
				if err != nil {
					t.Fatal(err)
				}
				if st.Received < uint64(packets) || st.KernelDropped != 0 {
					t.Errorf("stats %+v for %d packets", st, packets)
				}
			})
		}
	}
}

func layerOf(lt layers.LinkType) gopacket.LayerType {
	switch lt {
	case layers.LinkTypeEthernet:
		return layers.LayerTypeEthernet
	case layers.LinkTypeLinuxSLL:
		return layers.LayerTypeLinuxSLL
	}
	return layers.LayerTypeIPv4
}

func flags(t *layers.TCP) string {
	s := ""
	for _, f := range []struct {
		on bool
		c  string
	}{{t.SYN, "S"}, {t.ACK, "A"}, {t.FIN, "F"}, {t.RST, "R"}, {t.PSH, "P"}} {
		if f.on {
			s += f.c
		}
	}
	return s + "/" + strconv.Itoa(len(t.Payload))
}
