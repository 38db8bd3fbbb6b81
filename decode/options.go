package decode

// Options bound what a [Conn] keeps. The zero value of each field selects
// its default.
type Options struct {
	// MaxPayload is how many bytes of each message's decoded payload a
	// Message event carries (default 1 MiB; negative: none). Past it the
	// event says Truncated; length, UTF-8 validity and inflation are still
	// computed over the whole message (up to MaxInflate).
	MaxPayload int
	// MaxInflate is how many decompressed bytes of one message are produced
	// before inflating stops with an inflate_limit anomaly (default 64 MiB).
	MaxInflate int64
	// MaxCompressed is how many compressed bytes of one message are
	// buffered for inflation (default 16 MiB); a longer compressed message
	// is reported with decode_error and not inflated.
	MaxCompressed int
	// PreviewLen is how many unmasked payload bytes of a data frame are
	// kept in Frame.Payload (default 256).
	PreviewLen int
	// MaxControl is how many bytes of a control frame payload are kept
	// (default 4096; RFC 6455 allows 125, the rest is kept for oversized
	// frames so their close reason can be shown).
	MaxControl int
	// MaxHead is the longest HTTP head accepted (default 64 KiB: browsers
	// send Upgrade requests with cookies of tens of KiB). A longer head is
	// not parsed: its direction is counted, not decoded, with a
	// head_too_large anomaly where the connection is known to be WebSocket.
	MaxHead int
	// MaxHold is how many client bytes are held while the response to its
	// Upgrade request has not been seen (default 1 MiB).
	MaxHold int
	// DecodeAs starts both directions in frame mode: the connection is
	// WebSocket although no handshake was captured (Wireshark's Decode As).
	// The client is then the side whose first frame is masked.
	DecodeAs bool
	// CommunityIDSeed is the seed of ConnInfo.CommunityID (the
	// specification's default, and Zeek's and Suricata's, is 0).
	CommunityIDSeed uint16
	// App, when set, makes the application layer of each WebSocket
	// (package app) once its roles are known; data messages then carry
	// Message.App and the layer's anomalies follow them.
	App AppFactory
}

const (
	defaultMaxPayload    = 1 << 20
	defaultMaxInflate    = 64 << 20
	defaultMaxCompressed = 16 << 20
	defaultPreviewLen    = 256
	defaultMaxControl    = 4096
	defaultMaxHead       = 64 << 10
	defaultMaxHold       = 1 << 20
)

func (o Options) withDefaults() Options {
	if o.MaxPayload == 0 {
		o.MaxPayload = defaultMaxPayload
	}
	if o.MaxPayload < 0 {
		o.MaxPayload = 0
	}
	if o.MaxInflate <= 0 {
		o.MaxInflate = defaultMaxInflate
	}
	if o.MaxCompressed <= 0 {
		o.MaxCompressed = defaultMaxCompressed
	}
	if o.PreviewLen <= 0 {
		o.PreviewLen = defaultPreviewLen
	}
	if o.MaxControl <= 0 {
		o.MaxControl = defaultMaxControl
	}
	if o.MaxControl < 125 {
		o.MaxControl = 125
	}
	if o.MaxHead <= 0 {
		o.MaxHead = defaultMaxHead
	}
	if o.MaxHold <= 0 {
		o.MaxHold = defaultMaxHold
	}
	return o
}
