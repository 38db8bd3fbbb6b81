package communityid

import (
	"net/netip"
	"testing"
)

// vectors are every TCP (and, for the protocol byte, UDP and SCTP) flow of
// the specification's baseline (community-id-spec/baseline/baseline_deflt.json
// and baseline_seed1.json) and of the btest of Zeek's community_id_v1
// function, each in both directions.
var vectors = []struct {
	seed       uint16
	proto      uint8
	src, dst   string
	want       string
	whereFound string
}{
	// baseline_deflt.json (seed 0)
	{0, TCP, "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25", "1:/qFaeAR+gFe1KYjMzVDsMv+wgU4=", "spec baseline"},
	{0, TCP, "128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg=", "spec baseline"},
	{0, UDP, "192.168.1.52:54585", "8.8.8.8:53", "1:d/FP5EW3wiY1vCndhwleRRKHowQ=", "spec baseline"},
	{0, SCTP, "192.168.170.8:7", "192.168.170.56:7", "1:MP2EtRCAUIZvTw6MxJHLV7N7JDs=", "spec baseline"},
	// baseline_seed1.json (seed 1)
	{1, TCP, "[2001:470:e5bf:dead:4957:2174:e82c:4887]:63943", "[2607:f8b0:400c:c03::1a]:25", "1:eJYTW6AOzFLlSUoESovMjnu7rMw=", "spec baseline"},
	{1, TCP, "128.232.110.120:34855", "66.35.250.204:80", "1:3V71V58M3Ksw/yuFALMcW0LAHvc=", "spec baseline"},
	{1, UDP, "192.168.1.52:54585", "8.8.8.8:53", "1:Q9We8WO3piVF8yEQBNJF4uiSVrI=", "spec baseline"},
	{1, SCTP, "192.168.170.8:7", "192.168.170.56:7", "1:5w3ZRjeKBzqT3zsaEECDGjUbYeg=", "spec baseline"},
	// Zeek's bif test
	{0, TCP, "1.2.3.4:1122", "5.6.7.8:3344", "1:wCb3OG7yAFWelaUydu0D+125CLM=", "zeek"},
	{0, UDP, "1.2.3.4:1122", "5.6.7.8:3344", "1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=", "zeek"},
	{1, TCP, "1.2.3.4:1122", "5.6.7.8:3344", "1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=", "zeek"},
	{1, UDP, "1.2.3.4:1122", "5.6.7.8:3344", "1:OShq+iKDAMVouh/4bMxB9Sz4amw=", "zeek"},
}

func TestV1Vectors(t *testing.T) {
	for _, v := range vectors {
		a, b := netip.MustParseAddrPort(v.src), netip.MustParseAddrPort(v.dst)
		if got := V1(v.seed, a, b, v.proto); got != v.want {
			t.Errorf("%s: V1(%d, %v, %v, %d) = %q, want %q", v.whereFound, v.seed, a, b, v.proto, got, v.want)
		}
		if got := V1(v.seed, b, a, v.proto); got != v.want {
			t.Errorf("%s: V1(%d, %v, %v, %d) (reversed) = %q, want %q", v.whereFound, v.seed, b, a, v.proto, got, v.want)
		}
	}
}

func TestV1Ordering(t *testing.T) {
	// Equal addresses: the smaller port goes first, in both directions.
	a := netip.MustParseAddrPort("10.0.0.1:80")
	b := netip.MustParseAddrPort("10.0.0.1:50000")
	if x, y := V1(0, a, b, TCP), V1(0, b, a, TCP); x != y || x == "" {
		t.Errorf("same host: %q and %q", x, y)
	}
	// The seed and the protocol are hashed.
	c := netip.MustParseAddrPort("10.0.0.2:80")
	if V1(0, a, c, TCP) == V1(1, a, c, TCP) || V1(0, a, c, TCP) == V1(0, a, c, UDP) {
		t.Error("seed or protocol not hashed")
	}
	// Swapping only the ports gives another flow.
	d, e := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:2")
	f, g := netip.MustParseAddrPort("10.0.0.1:2"), netip.MustParseAddrPort("10.0.0.2:1")
	if V1(0, d, e, TCP) == V1(0, f, g, TCP) {
		t.Error("ports not tied to their addresses")
	}
}

func TestV1Unmapped(t *testing.T) {
	v4 := V1(0, netip.MustParseAddrPort("128.232.110.120:34855"), netip.MustParseAddrPort("66.35.250.204:80"), TCP)
	mapped := V1(0, netip.MustParseAddrPort("[::ffff:128.232.110.120]:34855"), netip.MustParseAddrPort("[::ffff:66.35.250.204]:80"), TCP)
	if v4 != mapped {
		t.Errorf("4in6 %q, IPv4 %q", mapped, v4)
	}
	zoned := V1(0, netip.MustParseAddrPort("[fe80::1%eth0]:1"), netip.MustParseAddrPort("[fe80::2]:2"), TCP)
	if plain := V1(0, netip.MustParseAddrPort("[fe80::1]:1"), netip.MustParseAddrPort("[fe80::2]:2"), TCP); zoned != plain {
		t.Errorf("zone hashed: %q vs %q", zoned, plain)
	}
}

func TestV1Undefined(t *testing.T) {
	v4 := netip.MustParseAddrPort("1.2.3.4:1")
	v6 := netip.MustParseAddrPort("[2001:db8::1]:2")
	for _, tc := range []struct {
		name  string
		a, b  netip.AddrPort
		proto uint8
	}{
		{"mixed families", v4, v6, TCP},
		{"invalid endpoint", v4, netip.AddrPort{}, TCP},
		{"both invalid", netip.AddrPort{}, netip.AddrPort{}, TCP},
		{"portless protocol", v4, netip.MustParseAddrPort("5.6.7.8:0"), 46},
		{"icmp (type and code are not ports)", v4, netip.MustParseAddrPort("5.6.7.8:0"), 1},
	} {
		if got := V1(0, tc.a, tc.b, tc.proto); got != "" {
			t.Errorf("%s: %q, want \"\"", tc.name, got)
		}
		if got := AppendV1([]byte("x"), 0, tc.a, tc.b, tc.proto); string(got) != "x" {
			t.Errorf("%s: AppendV1 appended: %q", tc.name, got)
		}
	}
}

func TestAppendV1(t *testing.T) {
	a, b := netip.MustParseAddrPort("1.2.3.4:1122"), netip.MustParseAddrPort("5.6.7.8:3344")
	got := AppendV1([]byte(`"`), 0, a, b, TCP)
	if string(got) != `"1:wCb3OG7yAFWelaUydu0D+125CLM=` {
		t.Errorf("got %q", got)
	}
	if n := testing.AllocsPerRun(100, func() { got = AppendV1(got[:0], 0, a, b, TCP) }); n != 0 {
		t.Errorf("AppendV1 into room: %v allocations", n)
	}
}
