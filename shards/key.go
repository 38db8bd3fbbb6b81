// Package shards defines the JSON Lines of a run that decodes one shard
// of a capture (wscap --shard I/N) and merges the files of the N shards
// into the output of one unsharded run (wscap --merge).
//
// # A shard file
//
// A shard file is the --json output of a sharded run: a "shard" line
// ([Header]), the run's lines, each starting with an "ord" member (its
// [Key]), and a "shard_end" line ([Trailer]):
//
//	{"type":"shard","shard":0,"shards":4,"version":"v1.2.0","options":"--summary","memcap":536870912}
//	{"ord":[3,0,0,0],"type":"conn","conn":1,...}
//	...
//	{"ord":[0,4,0,1],"type":"summary","conn":1,...}
//	{"type":"shard_end","shard":0,"shards":4,"packets":50,"bytes":9127,"crc32c":"1c2f0e4b","lines":40,...}
//
// # The key
//
// Where a line goes in the unsharded output cannot be told from its other
// fields: the events an idle flush or the end of the capture emits carry
// their connection's last packet as pkt, which is earlier than the packet
// after which they were emitted. The key is that position, the merge key
// of wscap's parallel pipeline: [N, PHASE, TICK, CONN] (see [Key]).
// Within a file keys never decrease; lines of one shard with equal keys
// keep their order; two shards never have equal keys.
package shards

import (
	"errors"
	"strconv"
)

// Phases of a key: what emitted a line, in the order a run emits them for
// one packet number.
const (
	Packet  uint8 = iota // a packet
	Tick                 // an idle flush after it
	EOF                  // data behind holes at the end of the capture
	Close                // connections closed at the end of the capture
	Summary              // the summary lines (--summary)
)

// A Key is where a line of a sharded run goes in the output of the
// unsharded run:
//
//   - N, the number of the packet after which it was emitted (0 in the
//     phases after the last packet: EOF, Close, Summary);
//   - Phase, one of Packet, Tick, EOF, Close, Summary;
//   - Tick, the number of the idle flush that emitted it (Tick; else 0);
//   - Conn, its connection (0 in Packet: the lines of one packet are all
//     of its connection, so of one shard).
//
// Lines are ordered by (Phase >= EOF, N, Phase, Tick, Conn).
type Key struct {
	N     int64
	Phase uint8
	Tick  int64
	Conn  int64
}

// Compare returns -1, 0 or +1 as k is before, at or after o.
func (k Key) Compare(o Key) int {
	if a, b := k.Phase >= EOF, o.Phase >= EOF; a != b {
		if a {
			return 1
		}
		return -1
	}
	for _, d := range [...][2]int64{{k.N, o.N}, {int64(k.Phase), int64(o.Phase)}, {k.Tick, o.Tick}, {k.Conn, o.Conn}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}

// valid reports whether k is a key a run writes.
func (k Key) valid() bool {
	switch k.Phase {
	case Packet:
		return k.N >= 1 && k.Tick == 0 && k.Conn == 0
	case Tick:
		return k.N >= 1 && k.Tick >= 1 && k.Conn >= 1
	case EOF, Close, Summary:
		return k.N == 0 && k.Tick == 0 && k.Conn >= 1
	}
	return false
}

// Prefix is how every line of a sharded run but the first and the last
// starts.
const Prefix = `{"ord":[`

// AppendKey appends the start of a line of a sharded run, the "ord"
// member and the comma after it: `{"ord":[N,PHASE,TICK,CONN],`. What
// follows is the line's object without its '{'.
func AppendKey(b []byte, k Key) []byte {
	b = append(b, Prefix...)
	b = strconv.AppendInt(b, k.N, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, int64(k.Phase), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, k.Tick, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, k.Conn, 10)
	return append(b, ']', ',')
}

// ParseLine splits a line of a sharded run (without its newline) into its
// key and the rest of the line after the "ord" member's comma: the line
// of the unsharded run is '{' followed by rest. The key must be one a run
// writes (canonical numbers, a valid phase, zeros where the phase has
// none), and rest must look like the rest of an object.
func ParseLine(line []byte) (k Key, rest []byte, err error) {
	if len(line) < len(Prefix) || string(line[:len(Prefix)]) != Prefix {
		return k, nil, errNoKey
	}
	p := line[len(Prefix):]
	var v [4]int64
	for i := range v {
		n := 0
		for n < len(p) && p[n] >= '0' && p[n] <= '9' {
			n++
		}
		if n == 0 || n > 18 || n > 1 && p[0] == '0' {
			return k, nil, errBadKey
		}
		v[i], _ = strconv.ParseInt(string(p[:n]), 10, 64) // 18 digits fit
		p = p[n:]
		sep := byte(',')
		if i == len(v)-1 {
			sep = ']'
		}
		if len(p) == 0 || p[0] != sep {
			return k, nil, errBadKey
		}
		p = p[1:]
	}
	if v[1] > int64(Summary) {
		return k, nil, errBadKey
	}
	k = Key{N: v[0], Phase: uint8(v[1]), Tick: v[2], Conn: v[3]}
	if !k.valid() {
		return Key{}, nil, errBadKey
	}
	if len(p) < 3 || p[0] != ',' || p[1] != '"' || p[len(p)-1] != '}' {
		return Key{}, nil, errBadRest
	}
	return k, p[1:], nil
}

var (
	errNoKey   = errors.New(`no "ord" member first (not a line of a --shard --json run)`)
	errBadKey  = errors.New(`malformed "ord" member`)
	errBadRest = errors.New(`no JSON object after the "ord" member`)
)
