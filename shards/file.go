package shards

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"strconv"
)

// MaxShards is the most shards a capture may be split into.
const MaxShards = 1024

// Header is the first line of a shard file: which shard it is, and what
// every shard of one run must share.
type Header struct {
	Type   string `json:"type"`   // "shard"
	Shard  int    `json:"shard"`  // 0-based index
	Shards int    `json:"shards"` // how many
	// Version is wscap's version: shards of one run must be written by
	// the same one.
	Version string `json:"version"`
	// Options are the flags that shape the output, as given (see
	// wscap's shardOptions): equal for the shards of one run.
	Options string `json:"options"`
	// MemCap is the memory budget in bytes (0: none).
	MemCap int64 `json:"memcap"`
}

// Trailer is the last line of a shard file: what the run read, and what
// its memory budget saw.
type Trailer struct {
	Type   string `json:"type"` // "shard_end"
	Shard  int    `json:"shard"`
	Shards int    `json:"shards"`
	// Packets and Bytes count the packets read (all of them: other
	// shards', and those a capture filter rejected) and their captured
	// bytes; CRC32C is the Castagnoli CRC of their times, lengths and
	// bytes (see Digest), 8 hex digits. Every shard of one run read the
	// same capture: the three are equal.
	Packets int64  `json:"packets"`
	Bytes   int64  `json:"bytes"`
	CRC32C  string `json:"crc32c"`
	// Lines is the number of lines before this one, the header
	// included.
	Lines int64 `json:"lines"`
	// Evicted counts the connections the memory budget evicted in this
	// shard's run.
	Evicted int `json:"evicted"`
	// MemPeak and TrackPeak are the most bytes the shard's engines and
	// its connection tracker held at a memory checkpoint (see
	// reassembly.Tracker.MemPeak).
	MemPeak   int64 `json:"mem_peak"`
	TrackPeak int64 `json:"track_peak"`
	// ReadError is the error that stopped the reading of the capture
	// (a damaged file), or "".
	ReadError string `json:"read_error,omitempty"`
}

const (
	headerType  = "shard"
	trailerType = "shard_end"
)

// AppendHeader appends h as a line (Type is set).
func AppendHeader(b []byte, h Header) []byte {
	h.Type = headerType
	return appendLine(b, h)
}

// AppendTrailer appends t as a line (Type is set).
func AppendTrailer(b []byte, t Trailer) []byte {
	t.Type = trailerType
	return appendLine(b, t)
}

func appendLine(b []byte, v any) []byte {
	j, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain structs of strings and numbers
	}
	return append(append(b, j...), '\n')
}

// lineType returns the type of a header or trailer line: the "type"
// member must come first.
func lineType(line []byte) string {
	for _, t := range []string{trailerType, headerType} {
		if bytes.HasPrefix(line, []byte(`{"type":"`+t+`"`)) {
			return t
		}
	}
	return ""
}

// parseHeader parses a shard file's first line.
func parseHeader(line []byte) (Header, error) {
	var h Header
	if lineType(line) != headerType {
		return h, fmt.Errorf("not a shard file: the first line is not a \"shard\" line (write the shards with --shard I/N --json)")
	}
	if err := json.Unmarshal(line, &h); err != nil {
		return h, fmt.Errorf("bad \"shard\" line: %v", err)
	}
	if h.Shards < 1 || h.Shards > MaxShards || h.Shard < 0 || h.Shard >= h.Shards {
		return h, fmt.Errorf("bad \"shard\" line: shard %d of %d", h.Shard, h.Shards)
	}
	return h, nil
}

// parseTrailer parses a shard file's last line.
func parseTrailer(line []byte) (Trailer, error) {
	var t Trailer
	if err := json.Unmarshal(line, &t); err != nil {
		return t, fmt.Errorf("bad \"shard_end\" line: %v", err)
	}
	return t, nil
}

// Digest sums up the packets a run reads (see Trailer).
type Digest struct {
	Packets, Bytes int64
	crc            uint32
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Add adds a packet: its time in Unix nanoseconds, its captured and
// original lengths, and its captured bytes.
func (d *Digest) Add(unixNano int64, capLen, length int, data []byte) {
	var h [16]byte
	binary.BigEndian.PutUint64(h[:8], uint64(unixNano))
	binary.BigEndian.PutUint32(h[8:12], uint32(capLen))
	binary.BigEndian.PutUint32(h[12:], uint32(length))
	d.crc = crc32.Update(d.crc, castagnoli, h[:])
	d.crc = crc32.Update(d.crc, castagnoli, data)
	d.Packets++
	d.Bytes += int64(len(data))
}

// CRC returns the CRC of what was added, as Trailer.CRC32C.
func (d *Digest) CRC() string {
	s := strconv.FormatUint(uint64(d.crc), 16)
	for len(s) < 8 {
		s = "0" + s
	}
	return s
}
