// Package flowgen builds deterministic TCP captures for tests: WebSocket
// sessions (or anything else) carried over synthetic TCP connections and
// written as pcapng or pcap with gopacket's layers and pcapgo.
//
// # Model
//
// A [Capture] is an ordered list of packets. Connections made with
// [Capture.NewConn] append packets to it in the order their methods are
// called, so interleaving several connections is just a matter of call
// order:
//
//	c := flowgen.NewCapture()
//	a := c.NewConn(netip.MustParseAddrPort("192.0.2.1:50000"), netip.MustParseAddrPort("192.0.2.2:80"))
//	a.Open()                                            // SYN, SYN-ACK, ACK
//	a.Client(flowgen.UpgradeRequest("/chat", "example.com", key))
//	a.Server(flowgen.Response101(key))
//	a.Server(flowgen.Frame{Fin: true, Op: flowgen.OpText, Payload: []byte("hi")}.Bytes(),
//		flowgen.Every(3), flowgen.Swap(0))          // segmentation plan
//	a.Close()                                           // FIN, FIN, ACK
//	pcapng, err := c.PcapNG()
//
// One call of [Conn.Client] or [Conn.Server] is one application write. It is
// cut into segments of at most the connection's MSS, and further where a
// segmentation plan ([Split], [Every], [Bytewise]) says. The plan can then
// drop segments ([Drop], a loss: the following segment's sequence number
// jumps), swap adjacent ones ([Swap]), or send bytes again ([Retransmit],
// [Resend] for a partial overlap). Several protocol units written in one
// call are coalesced into the same segments.
//
// # Determinism
//
// Nothing depends on the clock, the host or randomness. Initial sequence
// numbers are hashed from the two endpoints, MAC addresses come from the IP
// addresses, packet times are [Capture.Start] plus [Capture.Step] per packet
// (plus any [Capture.Pause]), and the pcapng section and interface blocks
// carry fixed options. The same program therefore always produces the same
// bytes, which is what lets the committed fixtures be checked against their
// generator (see [Scenarios]).
//
// # WebSocket helpers
//
// [Frame] encodes RFC 6455 frames, including illegal ones (reserved bits,
// reserved opcodes, non-minimal or lying lengths). [UpgradeRequest],
// [Response101] and [Accept] write the HTTP/1.1 handshake. [Deflater]
// produces permessage-deflate (RFC 7692) payloads with or without context
// takeover.
package flowgen
