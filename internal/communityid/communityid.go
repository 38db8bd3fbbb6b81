// Package communityid computes the Community ID (version 1) of a flow, the
// flow hash of Corelight's specification
// (https://github.com/corelight/community-id-spec) that Zeek, Suricata,
// Arkime, Elastic and others write, so that records of several tools about
// one connection can be joined.
//
// Version 1 is "1:" followed by the base64 of the SHA-1 of
//
//	seed (2 bytes, big endian) . saddr . daddr . proto (1 byte) . 0 (1 byte) . sport (2 bytes) . dport (2 bytes)
//
// where the endpoints are ordered so that both directions of a flow get the
// same ID: the smaller address first, and for equal addresses the smaller
// port first. Addresses are 4 bytes for IPv4 and 16 for IPv6, in network
// order; ports in network order.
package communityid

import (
	"crypto/sha1"
	"encoding/base64"
	"net/netip"
)

// IP protocol numbers of the port-based transports this package hashes.
const (
	TCP  uint8 = 6
	UDP  uint8 = 17
	SCTP uint8 = 132
)

// V1 returns the Community ID v1 of the flow between a and b over proto, one
// of [TCP], [UDP] or [SCTP] (protocols whose flows the specification
// identifies by their ports), with seed. The direction does not matter:
// V1(s, a, b, p) == V1(s, b, a, p). IPv4-mapped IPv6 addresses are hashed as
// the IPv4 addresses they map (as a capture's IPv4 header carries them). It
// returns "" when an endpoint is not valid, when the two addresses are of
// different families (the specification defines no such flow) or for
// another protocol.
func V1(seed uint16, a, b netip.AddrPort, proto uint8) string {
	var buf [len("1:") + 28]byte
	return string(AppendV1(buf[:0], seed, a, b, proto))
}

// AppendV1 appends the Community ID v1 of the flow (see [V1]) to dst and
// returns the extended slice; dst is returned unchanged where V1 returns "".
func AppendV1(dst []byte, seed uint16, a, b netip.AddrPort, proto uint8) []byte {
	sum, ok := Sum(seed, a, b, proto)
	if !ok {
		return dst
	}
	dst = append(dst, '1', ':')
	return base64.StdEncoding.AppendEncode(dst, sum[:])
}

// Sum returns the SHA-1 digest that the Community ID v1 of the flow
// encodes in base64 (see [V1]), and false where V1 returns "". Its bytes
// are the same on every platform and Go release: wscap's --shard picks a
// connection's shard from them.
func Sum(seed uint16, a, b netip.AddrPort, proto uint8) ([sha1.Size]byte, bool) {
	switch proto {
	case TCP, UDP, SCTP:
	default:
		return [sha1.Size]byte{}, false
	}
	if !a.IsValid() || !b.IsValid() {
		return [sha1.Size]byte{}, false
	}
	sa, sb := a.Addr().Unmap().WithZone(""), b.Addr().Unmap().WithZone("")
	if sa.Is4() != sb.Is4() {
		return [sha1.Size]byte{}, false
	}
	pa, pb := a.Port(), b.Port()
	// The ordering rule: the flow is written from the smaller endpoint
	// (address, then port) to the larger.
	if c := sa.Compare(sb); c > 0 || c == 0 && pa > pb {
		sa, sb, pa, pb = sb, sa, pb, pa
	}

	var in [2 + 16 + 16 + 2 + 4]byte
	in[0], in[1] = byte(seed>>8), byte(seed)
	n := 2
	if sa.Is4() {
		x, y := sa.As4(), sb.As4()
		n += copy(in[n:], x[:])
		n += copy(in[n:], y[:])
	} else {
		x, y := sa.As16(), sb.As16()
		n += copy(in[n:], x[:])
		n += copy(in[n:], y[:])
	}
	in[n], in[n+1] = proto, 0 // the protocol and one byte of padding
	in[n+2], in[n+3] = byte(pa>>8), byte(pa)
	in[n+4], in[n+5] = byte(pb>>8), byte(pb)
	n += 6

	return sha1.Sum(in[:n]), true
}
