// Package output renders [decode.Event] values for people and for scripts.
//
// [NewText] writes a Wireshark-like timeline: one fixed-width row per
// handshake, data message (carrying the flags of its frame when it has
// one), control frame, anomaly, gap and end event ([ViewFrames]: per
// frame and per message; [ViewMessages]: messages, closes, anomalies and
// gaps only), a legend line introducing each connection, an optional
// field tree (-V) and hex dump (-x) under rows, and an optional
// per-connection summary table at the end. With [Options.Follow] it
// writes the conversation view instead (follow.go).
// Every line is ASCII except payload text, which is shown as UTF-8 with
// control characters and invalid bytes escaped.
//
// [NewJSON] writes JSON Lines, one object per event; the fields are listed
// in the README (section JSON Lines), whose core is fixed by the project's json-lines.md.
//
// # Performance
//
// Rows are built by appending to reused byte slices and written through a
// 256 KiB bufio.Writer; rendering a frame event allocates nothing in steady
// state. Per-connection state is a few counters (O(connections)); events are
// never kept, except the frame of a single-frame message and its
// anomalies, held by the renderer (one slot) until the message event that
// the decoder emits right after them.
package output
