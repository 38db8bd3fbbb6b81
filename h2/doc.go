// Package h2 is wscap's HTTP/2 layer (RFC 9113, HPACK RFC 7541, extended
// CONNECT RFC 8441): a pure, incremental state machine, in the style of
// package decode, that turns the two byte streams of an HTTP/2 connection
// into settings, headers, data, reset, goaway, gap and anomaly events.
//
// It imports only the standard library, golang.org/x/net/http2/hpack and
// decode's plain types (Side, Seg, Anomaly, HeaderField); it does no I/O and
// starts no goroutines, so it can be tested byte by byte and fuzzed. Which
// streams are WebSocket connections (RFC 8441) is for the caller to decide
// from the events; this package only follows the HTTP/2 framing.
//
// # Call order
//
// Create one [Conn] per HTTP/2 connection with [NewConn], from its first
// byte (picking a connection up in the middle is not supported: HPACK's
// dynamic table cannot be followed without its start). Then, in capture
// order, call [Conn.Feed] with the in-order bytes of each side, [Conn.Gap]
// when the capture lost bytes of a side and [Conn.End] when a side ended.
// Each call appends the events it completed to dst and returns the extended
// slice, like strconv.AppendInt.
//
// The client is the side that sends the connection preface
// "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 §3.4). Without
// [Options.ClientKnown], the first byte a side sends decides: 'P' makes it
// the client, anything else the server (a server's first frame, SETTINGS,
// cannot start with 'P' under the frame size limit). For h2c after an
// HTTP/1.1 Upgrade the caller sets [Options.ClientKnown] and
// [Options.Upgrade]: the client still sends the preface, and stream 1 is the
// Upgrade request, already half-closed by the client.
//
// # Buffer ownership
//
// Feed never retains p. [Event.Data] points into a buffer owned by the
// Conn and is valid only until the next method call of that Conn; copy it
// to keep it. Header lists and settings are allocated per event and belong
// to the caller.
//
// # Anomalies
//
// Traffic that breaks RFC 9113, RFC 7541 or RFC 8441 is reported as
// [KindAnomaly] events whose codes start with "h2_" (see [Codes]); capture
// problems reuse decode's framing_lost and stream_truncated. The Conn never
// fails. An HPACK error, a header block interrupted by another frame, a gap
// anywhere but inside a DATA payload, or a header-carrying frame too large
// to follow loses that direction: the rest of it is counted in
// [Stats.Undecoded], not decoded. A gap inside a DATA payload keeps the
// framing and is reported as a [KindGap] event on the stream.
//
// # Memory
//
// State per connection is bounded whatever a header claims: a frame's
// payload is buffered as its bytes arrive, never by its declared length, and
// a frame longer than the receiver's SETTINGS_MAX_FRAME_SIZE is skipped, not
// buffered. Header blocks are fed to HPACK frame by frame (a block across
// CONTINUATIONs is never buffered whole); the decoded list is kept up to
// [Options.MaxHeaderList] bytes, the HPACK dynamic table up to
// [Options.MaxTableSize], and at most [Options.MaxStreams] streams are
// tracked.
package h2
