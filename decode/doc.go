// Package decode is wscap's WebSocket dissector: a pure, incremental state
// machine that turns the two byte streams of a TCP connection into
// handshake, frame, message, anomaly, gap and end events.
//
// It imports only the standard library, does no I/O and starts no
// goroutines, so it can be tested byte by byte and fuzzed.
//
// # Call order
//
// Create one [Conn] per TCP connection with [NewConn]. Then, in capture
// order, call [Conn.Feed] with the in-order bytes of each side, [Conn.Gap]
// when the capture lost bytes of a side, [Conn.End] when a side ended (FIN,
// RST, idle) and [Conn.Close] at the end of the capture. Each call appends
// the events it completed to dst and returns the extended slice, like
// strconv.AppendInt.
//
// # Buffer ownership
//
// Feed never retains p: whatever it keeps (a partial frame header, an HTTP
// head, payload up to the limits of [Options]) is copied. Byte slices in the
// returned events belong to the Conn and are valid until its next method
// call, or until [Conn.Release], which a caller that has written the events
// out calls to give message buffers back to the pool shared by all Conns
// at once; [Event.Clone] copies them. Buffers grow with the bytes that
// arrive, never by a length a header declares.
//
// # Anomalies
//
// Traffic that breaks RFC 6455, RFC 7692 or HTTP/1.1 is reported as
// [KindAnomaly] events with a stable [Code]; the decoder never fails and
// keeps decoding whenever the framing is still trustworthy. A gap inside a
// payload keeps the framing; a gap inside a frame header or an HTTP head
// loses it, and the rest of that direction is counted, not decoded.
//
// # Memory
//
// State per connection is bounded whatever a header claims: the frame header
// stash is 14 bytes, an HTTP head is at most [Options.MaxHead], held client
// bytes at most [Options.MaxHold], a message payload at most
// [Options.MaxPayload], a compressed message at most
// [Options.MaxCompressed]. Nothing is allocated by a declared length.
package decode
