// Package tlsdec decrypts TLS (wss://) connections with the secrets of an
// NSS key log (SSLKEYLOGFILE), so that the WebSocket decoder can read what
// TLS carries.
//
// It sits between TCP reassembly and the WebSocket decoder. Like package
// decode it is a pure, incremental state machine: the reassembled bytes of
// each direction go in ([Conn.Feed]), in any chunk sizes, and the decrypted
// application data of each direction comes out, together with problems
// reported as data ([Problem], stable snake_case codes) and facts for the
// summary ([Conn.Info]). It does no I/O except reading the key log, starts
// no goroutines and never panics on input.
//
// # What it decrypts
//
//   - TLS 1.3 (RFC 8446) with TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384
//     and TLS_CHACHA20_POLY1305_SHA256: handshake and application traffic
//     secrets from the key log, HelloRetryRequest, KeyUpdate, PSK
//     resumption, middlebox-compatibility ChangeCipherSpec records, inner
//     content type after the zero padding. 0-RTT early data is skipped.
//   - TLS 1.0-1.2 with ECDHE, RSA or DHE key exchange (the key exchange does
//     not matter: the key log gives the master secret) and AES-128/256-GCM,
//     ChaCha20-Poly1305 (RFC 7905) or AES-CBC with HMAC-SHA1/SHA256/SHA384,
//     MAC-then-encrypt or encrypt_then_mac (RFC 7366). Resumed sessions
//     decrypt when the key log has their client random, or when the session
//     they resume (by ticket or session id) was decrypted earlier with the
//     same [KeyLog], as Go's crypto/tls logs no line for resumed TLS 1.2
//     sessions.
//
// # Records and limits
//
// Records may be split across chunks of any size and coalesced; handshake
// messages may span records. A record longer than 2^14+2048 bytes or a
// handshake message longer than 64 KiB is reported as tls_malformed and ends
// decoding of that direction; nothing is allocated from a claimed length
// before it is checked. Per connection the Conn buffers at most one record
// and one handshake message per direction, plus the plaintext of the
// current Feed call.
//
// # Order of calls
//
// Feed both directions in capture order (the order in which the bytes
// were seen on the wire): keys are installed when the ServerHello is
// parsed, and TLS 1.2 keys when each ChangeCipherSpec is. Secrets are
// looked up when they are first needed; with [KeyLog.Follow] a miss
// re-reads lines appended to the key log file since the last read. A
// direction whose keys are missing is skipped, with one tls_no_key problem
// per connection.
package tlsdec
