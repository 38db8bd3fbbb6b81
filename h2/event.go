package h2

import (
	"fmt"
	"time"

	"github.com/wscap/wscap/decode"
)

// Kind is the type of an [Event].
type Kind uint8

const (
	KindSettings  Kind = iota // a SETTINGS frame (not an ACK)
	KindHeaders               // a complete header block: HEADERS (+ CONTINUATION), or PUSH_PROMISE
	KindData                  // a DATA frame (or the part of it before a gap or the end)
	KindRstStream             // RST_STREAM
	KindGoAway                // GOAWAY
	KindGap                   // bytes of a stream's DATA frame lost from the capture
	KindAnomaly               // a protocol violation or capture problem
)

var kindNames = [...]string{
	KindSettings:  "settings",
	KindHeaders:   "headers",
	KindData:      "data",
	KindRstStream: "rst_stream",
	KindGoAway:    "goaway",
	KindGap:       "gap",
	KindAnomaly:   "anomaly",
}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("kind%d", uint8(k))
}

// Frame types (RFC 9113 §6).
const (
	frameData         = 0x0
	frameHeaders      = 0x1
	framePriority     = 0x2
	frameRstStream    = 0x3
	frameSettings     = 0x4
	framePushPromise  = 0x5
	framePing         = 0x6
	frameGoAway       = 0x7
	frameWindowUpdate = 0x8
	frameContinuation = 0x9
)

var frameNames = [...]string{"DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY", "WINDOW_UPDATE", "CONTINUATION"}

func frameName(t uint8) string {
	if int(t) < len(frameNames) {
		return frameNames[t]
	}
	return fmt.Sprintf("type 0x%x", t)
}

// Flags (RFC 9113 §6).
const (
	flagEndStream  = 0x1
	flagAck        = 0x1
	flagEndHeaders = 0x4
	flagPadded     = 0x8
	flagPriority   = 0x20
)

// Settings identifiers (RFC 9113 §6.5.2, RFC 8441 §3).
const (
	SettingHeaderTableSize       uint16 = 0x1
	SettingEnablePush            uint16 = 0x2
	SettingMaxConcurrentStreams  uint16 = 0x3
	SettingInitialWindowSize     uint16 = 0x4
	SettingMaxFrameSize          uint16 = 0x5
	SettingMaxHeaderListSize     uint16 = 0x6
	SettingEnableConnectProtocol uint16 = 0x8
)

// Setting is one parameter of a SETTINGS frame, as sent.
type Setting struct {
	ID    uint16
	Value uint32
}

// Event is one thing the HTTP/2 layer found. The fields that apply depend
// on Kind; the others are zero.
type Event struct {
	Kind   Kind
	Side   decode.Side // the side that sent it
	Client bool        // Side is the client (the side that sent the preface)
	Stream uint32      // stream identifier (0 for connection-level events)
	Time   time.Time   // capture time of the packet that completed it
	Packet int         // that packet's number

	// KindSettings: the parameters in order. ConnectProtocol is set when the
	// server sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 in this frame.
	Settings        []Setting
	ConnectProtocol bool

	// KindHeaders: the decoded header list in order, pseudo-header fields
	// included (Truncated: cut at Options.MaxHeaderList). Promised is the
	// promised stream of a PUSH_PROMISE (its request headers), 0 otherwise.
	Headers   []decode.HeaderField
	Truncated bool
	Promised  uint32

	// KindHeaders, KindData: the frame had END_STREAM.
	EndStream bool

	// KindData: the payload without padding, owned by the Conn (valid until
	// its next method call). A DATA frame cut by a gap or by End gives one
	// event per contiguous part; only the last carries EndStream.
	Data []byte

	// KindGap: frame payload bytes of Stream lost from the capture (they may
	// include padding).
	Lost int64

	// KindRstStream, KindGoAway: the error code (RFC 9113 §7). LastStream:
	// GOAWAY's last stream identifier.
	Code       uint32
	LastStream uint32

	// KindAnomaly.
	Anomaly decode.Anomaly
}
