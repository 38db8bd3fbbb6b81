package main

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wscap/wscap/internal/communityid"
)

// arkimeSession is what an Arkime session document (the upstream test
// files of the corpus: sessions3[].body) says of a flow.
type arkimeSession struct {
	Source struct {
		IP   string
		Port int
	} `json:"source"`
	Destination struct {
		IP   string
		Port int
	} `json:"destination"`
	Network struct {
		CommunityID string `json:"community_id"`
	} `json:"network"`
}

// TestCommunityIDArkime checks community_id against the value Arkime
// computed (its own test expectations, copied verbatim into the corpus)
// for the WebSocket sessions of the corpus' Arkime captures, on the conn
// and the summary event; ndpi/websocket.pcap is the same session cut to
// its frames (decoded mid-stream) and must get the same ID. None of the
// corpus' zeek/ or suricata-verify/ expectations carries a Community ID.
func TestCommunityIDArkime(t *testing.T) {
	dir := corpusDir(t)
	for _, tc := range []struct {
		capture, expected string
		args              []string
	}{
		{"arkime/websocket.pcap", "arkime/websocket.pcap.upstream-expected.test.json", nil},
		{"arkime/arkime_synthetic.pcap", "arkime/arkime_synthetic.pcap.upstream-expected.websocket-session-excerpt.json", nil},
		{"ndpi/websocket.pcap", "arkime/websocket.pcap.upstream-expected.test.json", []string{"-d", "12345"}},
	} {
		t.Run(tc.capture, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join(dir, tc.expected))
			if err != nil {
				t.Skip(err)
			}
			var doc struct {
				Sessions []struct {
					Body arkimeSession `json:"body"`
				} `json:"sessions3"`
			}
			if err := json.Unmarshal(raw, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.Sessions) == 0 {
				t.Fatal("no Arkime session in", tc.expected)
			}
			evs := runJSON(t, append([]string{"--summary", "-r", filepath.Join(dir, tc.capture)}, tc.args...)...)
			checked := 0
			for _, s := range doc.Sessions {
				a := s.Body
				if a.Network.CommunityID == "" {
					continue
				}
				src := ipPort(a.Source.IP, a.Source.Port)
				dst := ipPort(a.Destination.IP, a.Destination.Port)
				for _, typ := range []string{"conn", "summary"} {
					found := false
					for _, e := range ofType(evs, typ) {
						c, s := e.str("client"), e.str("server")
						if !(c == src && s == dst || c == dst && s == src) {
							continue
						}
						found = true
						if got := e.str("community_id"); got != a.Network.CommunityID {
							t.Errorf("%s %s <-> %s: community_id %q, Arkime %q", typ, src, dst, got, a.Network.CommunityID)
						}
						checked++
					}
					if !found {
						t.Errorf("no %s event for Arkime's session %s <-> %s", typ, src, dst)
					}
				}
			}
			if checked == 0 {
				t.Fatal("nothing compared")
			}
		})
	}
}

func ipPort(ip string, port int) string {
	return netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(port)).String()
}

// TestCommunityIDEvents checks community_id on every conn and summary event
// of a WebSocket-over-HTTP/2 recording (every stream carries its TCP
// connection's ID) and of an IPv6 and an HTTP/1.1 fixture, for the default
// seed and others, and the -Y field.
func TestCommunityIDEvents(t *testing.T) {
	for _, capture := range []string{
		"testdata/real/h2/node-h2c.pcapng",
		"testdata/chat.pcapng",
		"testdata/ipv6.pcapng",
	} {
		if _, err := os.Stat(capture); err != nil {
			t.Errorf("%s: %v", capture, err)
			continue
		}
		for _, seed := range []int{-1, 0, 1, 65535} {
			args := []string{"--summary", "-r", capture}
			want := uint16(0)
			if seed >= 0 {
				args = append(args, "--community-id-seed", strconv.Itoa(seed))
				want = uint16(seed)
			}
			evs := runJSON(t, args...)
			ids := map[string]string{} // client -> ID
			n := 0
			for _, e := range evs {
				typ := e.str("type")
				if typ != "conn" && typ != "summary" {
					if _, ok := e["community_id"]; ok {
						t.Errorf("%s: community_id on a %s event", capture, typ)
					}
					continue
				}
				c, s := netip.MustParseAddrPort(e.str("client")), netip.MustParseAddrPort(e.str("server"))
				exp := communityid.V1(want, c, s, communityid.TCP)
				if got := e.str("community_id"); got != exp || got == "" {
					t.Errorf("%s seed %d: %s conn %d: community_id %q, want %q", capture, want, typ, e.num("conn"), got, exp)
				}
				if prev, ok := ids[e.str("client")]; ok && prev != e.str("community_id") {
					t.Errorf("%s: two IDs for one TCP connection: %q and %q", capture, prev, e.str("community_id"))
				}
				ids[e.str("client")] = e.str("community_id")
				n++
			}
			if n == 0 {
				t.Errorf("%s: no conn or summary event", capture)
			}
			if seed != 0 {
				continue
			}
			// -Y community_id selects the flow's conn and handshake events.
			for _, cid := range ids {
				sel := runJSON(t, "-r", capture, "-Y", `community_id == "`+cid+`"`)
				if len(sel) == 0 {
					t.Errorf("%s: -Y community_id == %q selected nothing", capture, cid)
				}
				for _, e := range sel {
					if typ := e.str("type"); typ != "conn" && typ != "handshake" {
						t.Errorf("%s: -Y community_id selected a %s event", capture, typ)
					}
				}
			}
		}
	}
}

func TestCommunityIDSeedFlag(t *testing.T) {
	for _, bad := range []string{"-1", "65536", "x"} {
		code, _, stderr := runCLI("-r", "testdata/chat.pcapng", "--json", "--community-id-seed", bad)
		if code != 2 || !strings.Contains(stderr, "community-id-seed") {
			t.Errorf("--community-id-seed %s: exit %d, stderr %q", bad, code, stderr)
		}
	}
}
