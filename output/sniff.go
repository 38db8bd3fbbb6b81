package output

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"
)

// Content type guessing for --extract: magic numbers at fixed offsets and
// a few safe checks of text. Nothing is parsed beyond that (no protobuf or
// MessagePack guess: any byte string is a valid one of those).

// Guess is what a payload looks like: a short name, the file extension
// --extract gives it and its MIME type.
type Guess struct {
	Name string // "zip", "png", "json", "text", "binary"
	Ext  string // "zip", "png", "json", "txt", "bin"
	MIME string
}

// magic is a signature: sig at offset off (and sig2 at off2 when set).
type magic struct {
	off  int
	sig  string
	off2 int
	sig2 string
	g    Guess
}

// magics are checked in order; the first that matches wins.
var magics = []magic{
	{sig: "PK\x03\x04", g: Guess{"zip", "zip", "application/zip"}},
	{sig: "PK\x05\x06", g: Guess{"zip", "zip", "application/zip"}}, // an empty archive
	{sig: "PK\x07\x08", g: Guess{"zip", "zip", "application/zip"}}, // a spanned archive
	{sig: "\x1f\x8b\x08", g: Guess{"gzip", "gz", "application/gzip"}},
	{sig: "\x89PNG\r\n\x1a\n", g: Guess{"png", "png", "image/png"}},
	{sig: "\xff\xd8\xff", g: Guess{"jpeg", "jpg", "image/jpeg"}},
	{sig: "GIF87a", g: Guess{"gif", "gif", "image/gif"}},
	{sig: "GIF89a", g: Guess{"gif", "gif", "image/gif"}},
	{sig: "RIFF", off2: 8, sig2: "WEBP", g: Guess{"webp", "webp", "image/webp"}},
	{sig: "RIFF", off2: 8, sig2: "WAVE", g: Guess{"wav", "wav", "audio/wav"}},
	{sig: "%PDF-", g: Guess{"pdf", "pdf", "application/pdf"}},
	{sig: "\x00asm\x01\x00\x00\x00", g: Guess{"wasm", "wasm", "application/wasm"}},
	{sig: "\x7fELF", g: Guess{"elf", "elf", "application/x-elf"}},
	{sig: "7z\xbc\xaf\x27\x1c", g: Guess{"7z", "7z", "application/x-7z-compressed"}},
	{sig: "\xfd7zXZ\x00", g: Guess{"xz", "xz", "application/x-xz"}},
	{sig: "BZh", off2: 4, sig2: "\x31\x41\x59\x26\x53\x59", g: Guess{"bzip2", "bz2", "application/x-bzip2"}},
	{sig: "\x28\xb5\x2f\xfd", g: Guess{"zstd", "zst", "application/zstd"}},
	{sig: "Rar!\x1a\x07", g: Guess{"rar", "rar", "application/vnd.rar"}},
	{off: 257, sig: "ustar", g: Guess{"tar", "tar", "application/x-tar"}},
	{sig: "SQLite format 3\x00", g: Guess{"sqlite", "sqlite", "application/vnd.sqlite3"}},
	{sig: "OggS\x00", g: Guess{"ogg", "ogg", "application/ogg"}},
	{sig: "fLaC", g: Guess{"flac", "flac", "audio/flac"}},
	{sig: "ID3\x02\x00", g: Guess{"mp3", "mp3", "audio/mpeg"}},
	{sig: "ID3\x03\x00", g: Guess{"mp3", "mp3", "audio/mpeg"}},
	{sig: "ID3\x04\x00", g: Guess{"mp3", "mp3", "audio/mpeg"}},
	{sig: "\x1a\x45\xdf\xa3", g: Guess{"webm", "webm", "video/webm"}},
	{sig: "\x00", off2: 4, sig2: "ftyp", g: Guess{"mp4", "mp4", "video/mp4"}},
	{sig: "wOFF", g: Guess{"woff", "woff", "font/woff"}},
	{sig: "wOF2", g: Guess{"woff2", "woff2", "font/woff2"}},
	{sig: "II*\x00", g: Guess{"tiff", "tiff", "image/tiff"}},
	{sig: "MM\x00*", g: Guess{"tiff", "tiff", "image/tiff"}},
	{sig: "\xd4\xc3\xb2\xa1", g: Guess{"pcap", "pcap", "application/vnd.tcpdump.pcap"}},
	{sig: "\xa1\xb2\xc3\xd4", g: Guess{"pcap", "pcap", "application/vnd.tcpdump.pcap"}},
	{sig: "\x4d\x3c\xb2\xa1", g: Guess{"pcap", "pcap", "application/vnd.tcpdump.pcap"}},
	{sig: "\x0a\x0d\x0d\x0a", off2: 8, sig2: "\x4d\x3c\x2b\x1a", g: Guess{"pcapng", "pcapng", "application/x-pcapng"}},
	{sig: "\x0a\x0d\x0d\x0a", off2: 8, sig2: "\x1a\x2b\x3c\x4d", g: Guess{"pcapng", "pcapng", "application/x-pcapng"}},
	{sig: "\xca\xfe\xba\xbe\x00\x00", g: Guess{"class", "class", "application/java-vm"}},
	{sig: "MZ", g: Guess{"exe", "exe", "application/vnd.microsoft.portable-executable"}},
}

var (
	guessJSON   = Guess{"json", "json", "application/json"}
	guessXML    = Guess{"xml", "xml", "application/xml"}
	guessHTML   = Guess{"html", "html", "text/html"}
	guessSVG    = Guess{"svg", "svg", "image/svg+xml"}
	guessText   = Guess{"text", "txt", "text/plain"}
	guessBinary = Guess{"binary", "bin", "application/octet-stream"}
)

// has reports whether p holds sig at off.
func has(p []byte, off int, sig string) bool {
	return off+len(sig) <= len(p) && string(p[off:off+len(sig)]) == sig
}

// GuessContent guesses the type of payload p. truncated says p is only
// the beginning of the payload: text checks then accept a cut character
// at the end, and JSON that starts like JSON. An empty payload is text.
func GuessContent(p []byte, truncated bool) Guess {
	for i := range magics {
		m := &magics[i]
		if !has(p, m.off, m.sig) {
			continue
		}
		if m.off2 > 0 && !has(p, m.off2, m.sig2) {
			continue
		}
		if m.g.Name == "exe" && !isPE(p) {
			continue
		}
		return m.g
	}
	t := p
	if truncated {
		t = trimPartialRune(p)
	}
	if !isText(t) {
		return guessBinary
	}
	s := bytes.TrimLeft(bytes.TrimPrefix(t, []byte("\xef\xbb\xbf")), " \t\r\n")
	switch {
	case len(s) > 0 && (s[0] == '{' || s[0] == '[') && (truncated || json.Valid(s)):
		return guessJSON
	case hasFold(s, "<!doctype html") || hasFold(s, "<html"):
		return guessHTML
	case hasFold(s, "<svg") || hasFold(s, "<?xml") && bytes.Contains(s[:min(len(s), 512)], []byte("<svg")):
		return guessSVG
	case hasFold(s, "<?xml"):
		return guessXML
	}
	return guessText
}

// hasFold reports whether s starts with the ASCII prefix (lower case),
// ignoring case.
func hasFold(s []byte, prefix string) bool {
	return len(s) >= len(prefix) && bytes.EqualFold(s[:len(prefix)], []byte(prefix))
}

// isPE checks the MZ header's e_lfanew pointer at 0x3c leads to "PE\0\0"
// within p.
func isPE(p []byte) bool {
	if len(p) < 0x40 {
		return false
	}
	off := int(p[0x3c]) | int(p[0x3d])<<8 | int(p[0x3e])<<16 | int(p[0x3f])<<24
	return off >= 0x40 && off <= len(p)-4 && string(p[off:off+4]) == "PE\x00\x00"
}

// isText reports whether p is valid UTF-8 with no control characters but
// tab, newline, carriage return, form feed and escape (terminal colours).
func isText(p []byte) bool {
	for _, c := range p {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != 0x1b || c == 0x7f {
			return false
		}
	}
	return utf8.Valid(p)
}
