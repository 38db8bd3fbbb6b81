// Package source reads packets from capture files: pcap (microsecond and
// nanosecond timestamps, either byte order), pcapng (several interfaces with
// different link types) and gzip-compressed forms of both. The format is
// chosen by the file's magic bytes, never by its name.
//
// A damaged file is reported as an error from [Source.Next] that names the
// packet number, the byte offset and the cause; every packet before the
// damage is delivered first. Every length a record or block claims is
// checked before anything is read or allocated: against [MaxPacket], the
// snap length, what is left of a regular file and, in pcapng, the copy of
// the block length at the end of each block. The reader never holds more
// than its 1 MiB buffer of the file (and the key log of a Decryption
// Secrets Block, at most 16 MiB).
//
// The TLS key logs that pcapng files carry in Decryption Secrets Blocks
// (editcap --inject-secrets) are available through [TLSSecrets].
package source

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one captured packet.
type Packet struct {
	// Data holds the captured bytes. It is valid only until the next call
	// of Next on the Source that returned it.
	Data     []byte
	Time     time.Time       // capture time (UTC)
	CapLen   int             // bytes captured (len(Data))
	Len      int             // length of the packet on the wire
	LinkType layers.LinkType // link-layer header type of Data
}

// Source delivers the packets of a capture in file order.
type Source interface {
	// Next returns the next packet. It returns io.EOF at the clean end of
	// the capture and another error when the file is damaged; once it
	// has returned an error it returns the same error again.
	Next() (Packet, error)
	// Close releases the file.
	Close() error
}

// ErrUnsupportedLinkType is wrapped by Open when a pcap file's link type is
// not one wscap decodes.
var ErrUnsupportedLinkType = errors.New("unsupported link type")

// ErrNotCapture is wrapped by Open when the input is neither pcap nor pcapng.
var ErrNotCapture = errors.New("not a pcap or pcapng file")

// bufSize is the read buffer: large enough that reads from the file are
// few, and larger than any record or parsed block (maxBlock), which are
// read in place from it.
const bufSize = 1 << 20

// Limits on what a file may claim. Every length a record or block header
// states is checked against them before anything is read or allocated.
const (
	// MaxPacket is the most captured bytes one packet may have: libpcap's
	// (and tcpdump's) largest snap length. A pcap record or pcapng packet
	// block claiming more is damage.
	MaxPacket = 256 << 10
	// maxBlock bounds the pcapng blocks that are parsed whole (packet,
	// section header and interface blocks): a packet of MaxPacket bytes
	// plus room for the block's fields and options.
	maxBlock = MaxPacket + 64<<10
	// MaxInterfaces is the most interface description blocks one pcapng
	// section may have; each costs a few bytes of state.
	MaxInterfaces = 1 << 16
)

// Magic numbers as the first four bytes appear in the file.
var (
	magicPcapUsLE = [4]byte{0xd4, 0xc3, 0xb2, 0xa1}
	magicPcapUsBE = [4]byte{0xa1, 0xb2, 0xc3, 0xd4}
	magicPcapNsLE = [4]byte{0x4d, 0x3c, 0xb2, 0xa1}
	magicPcapNsBE = [4]byte{0xa1, 0xb2, 0x3c, 0x4d}
	magicPcapMod  = [4]byte{0x34, 0xcd, 0xb2, 0xa1} // Kuznetzov's modified pcap
	magicPcapModB = [4]byte{0xa1, 0xb2, 0xcd, 0x34}
	magicPcapng   = [4]byte{0x0a, 0x0d, 0x0d, 0x0a}
)

var supported = map[layers.LinkType]bool{
	layers.LinkTypeEthernet:  true,
	layers.LinkTypeLinuxSLL:  true,
	layers.LinkTypeLinuxSLL2: true,
	layers.LinkTypeNull:      true,
	layers.LinkTypeLoop:      true,
	layers.LinkTypeRaw:       true,
	layers.LinkTypeIPv4:      true,
	layers.LinkTypeIPv6:      true,
	12:                       true, // LINKTYPE_RAW as some BSDs write it (DLT_RAW 12/14)
	14:                       true,
}

// SupportedLinkType reports whether wscap decodes packets of link type lt.
// Package reassembly has a parser for each of them.
func SupportedLinkType(lt layers.LinkType) bool { return supported[lt] }

// SupportedLinkTypes returns the supported link types.
func SupportedLinkTypes() []layers.LinkType {
	out := make([]layers.LinkType, 0, len(supported))
	for lt := range supported {
		out = append(out, lt)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// countingReader counts the bytes read from r, so that the offset of a
// damaged record can be reported.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// file is the Source for pcap and pcapng files.
type file struct {
	name   string
	closer io.Closer
	gz     *gzip.Reader
	cr     *countingReader // counts bytes below br (decompressed if gz)
	br     *bufio.Reader
	size   int64    // size of a regular, uncompressed file; -1 if unknown
	sized  *os.File // the regular file whose size that is, to look again
	n      int      // packets delivered
	err    error    // sticky error
	zipped bool
	// Of the file itself (compressed bytes when zipped), for Position.
	raw     *countingReader
	rawBr   *bufio.Reader
	rawSize int64

	// pcap
	order   binary.ByteOrder
	link    layers.LinkType
	snaplen uint32
	nanos   bool

	ng *ngReader // pcapng; nil for pcap

	smu    sync.Mutex // guards tls and notify (Stream reads on another goroutine)
	tls    []byte     // key log text of the Decryption Secrets Blocks read so far
	notify func([]byte)
}

// Open opens a capture file; path "-" reads standard input. The format is
// detected from the first bytes: pcap, pcapng, or either one gzip-compressed.
func Open(path string) (Source, error) { return open(path, os.Stdin) }

func open(path string, stdin *os.File) (Source, error) {
	var (
		r      io.Reader
		closer io.Closer
		name   = path
		size   = int64(-1)
		sized  *os.File
	)
	if path == "-" {
		r, name = stdin, "stdin"
		if st, err := stdin.Stat(); err == nil && st.Mode().IsRegular() {
			size, sized = st.Size(), stdin
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err // an *fs.PathError: "open PATH: reason"
		}
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("open %s: is a directory", path)
		}
		if err == nil && st.Mode().IsRegular() {
			size, sized = st.Size(), f
		}
		r, closer = f, f
	}
	s, err := newFile(name, r, size)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	s.closer = closer
	if s.size >= 0 {
		s.sized = sized
	}
	return s, nil
}

// NewReader reads a capture from r, as Open does for a file; name is used
// in error messages.
func NewReader(name string, r io.Reader) (Source, error) {
	return newFile(name, r, -1)
}

func newFile(name string, r io.Reader, size int64) (*file, error) {
	s := &file{name: name, size: size, rawSize: size}
	s.cr = &countingReader{r: r}
	s.br = bufio.NewReaderSize(s.cr, bufSize)
	s.raw, s.rawBr = s.cr, s.br
	head, err := s.br.Peek(4)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		gz, err := gzip.NewReader(s.br)
		if err != nil {
			return nil, fmt.Errorf("read %s: gzip: %w", name, err)
		}
		gz.Multistream(true)
		s.gz, s.zipped, s.size = gz, true, -1
		s.cr = &countingReader{r: gz}
		s.br = bufio.NewReaderSize(s.cr, bufSize)
		head, err = s.br.Peek(4)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read %s: gzip: %w", name, err)
		}
	}
	if len(head) < 4 {
		if len(head) == 0 {
			return nil, fmt.Errorf("read %s: %w (empty)", name, ErrNotCapture)
		}
		return nil, fmt.Errorf("read %s: %w (only %d bytes)", name, ErrNotCapture, len(head))
	}
	var magic [4]byte
	copy(magic[:], head)
	switch magic {
	case magicPcapUsLE, magicPcapNsLE:
		s.order = binary.LittleEndian
	case magicPcapUsBE, magicPcapNsBE:
		s.order = binary.BigEndian
	case magicPcapng:
		s.ng = &ngReader{f: s}
		if err := s.ng.firstSection(); err != nil {
			return nil, fmt.Errorf("read %s: pcapng section header: %w", name, err)
		}
		return s, nil
	case magicPcapMod, magicPcapModB:
		return nil, fmt.Errorf("read %s: modified (Kuznetzov) pcap format is not supported; convert it with editcap -F pcap", name)
	default:
		return nil, fmt.Errorf("read %s: %w (starts with %s)", name, ErrNotCapture, hex.EncodeToString(head[:4]))
	}
	h, err := s.peek(24)
	if err != nil {
		return nil, fmt.Errorf("read %s: pcap file header: %w", name, noEOF(err))
	}
	s.nanos = magic == magicPcapNsLE || magic == magicPcapNsBE
	if major, minor := s.order.Uint16(h[4:6]), s.order.Uint16(h[6:8]); major != 2 {
		return nil, fmt.Errorf("read %s: pcap file header: version %d.%d is not supported (only 2.x)", name, major, minor)
	}
	s.snaplen = s.order.Uint32(h[16:20])
	s.link = layers.LinkType(s.order.Uint32(h[20:24]) & 0x03ffffff) // the upper bits carry FCS information
	s.br.Discard(24)
	if !SupportedLinkType(s.link) {
		return nil, fmt.Errorf("read %s: %w %s (%d)", name, ErrUnsupportedLinkType, s.link, int(s.link))
	}
	return s, nil
}

// peek returns the next n bytes without consuming them: io.EOF if the
// stream ends before the first, io.ErrUnexpectedEOF if it ends before the
// last. n is at most bufSize.
func (s *file) peek(n int) ([]byte, error) {
	b, err := s.br.Peek(n)
	if len(b) == n {
		return b, nil
	}
	if err == nil || errors.Is(err, io.EOF) || errors.Is(err, bufio.ErrBufferFull) {
		if len(b) == 0 {
			return nil, io.EOF
		}
		return nil, io.ErrUnexpectedEOF
	}
	return nil, err
}

// left returns the bytes left in a regular uncompressed file after the
// next one the reader will consume, or -1 if that is not known. When
// fewer than need are left, the file's size is looked at again: a capture
// still being written (tcpdump -w) grows while it is read.
func (s *file) left(need int64) int64 {
	if s.size < 0 {
		return -1
	}
	if s.size-s.offset() < need && s.sized != nil {
		if st, err := s.sized.Stat(); err == nil {
			s.size = max(s.size, st.Size())
		}
	}
	return max(s.size-s.offset(), 0)
}

// noEOF turns an io.EOF inside a header into io.ErrUnexpectedEOF: the file
// ended where more was required.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// offset is the position in the (decompressed) stream of the next byte the
// readers will consume.
func (s *file) offset() int64 { return s.cr.n - int64(s.br.Buffered()) }

// Position returns how many bytes of the file the reader has consumed and
// the file's size when it was opened (-1 when it is not a regular file);
// for gzip-compressed input both count compressed bytes. It is meant for
// a progress display: call it from the goroutine that calls Next.
func (s *file) Position() (read, size int64) {
	return s.raw.n - int64(s.rawBr.Buffered()), s.rawSize
}

func (s *file) Next() (Packet, error) {
	if s.err != nil {
		return Packet{}, s.err
	}
	var (
		p   Packet
		err error
	)
	if s.ng != nil {
		p, err = s.ng.next()
	} else {
		p, err = s.nextPcap()
	}
	if err != nil {
		s.err = err
		return Packet{}, err
	}
	s.n++
	return p, nil
}

// nextPcap reads the next pcap record.
func (s *file) nextPcap() (Packet, error) {
	off := s.offset()
	h, err := s.peek(16)
	if err == io.EOF {
		return Packet{}, io.EOF
	}
	if err != nil {
		return Packet{}, s.wrap("record", off, err)
	}
	capLen, origLen := s.order.Uint32(h[8:12]), s.order.Uint32(h[12:16])
	if err := s.checkCapLen(capLen, s.snaplen); err != nil {
		return Packet{}, s.wrap("record", off, err)
	}
	// A captured length above the original one (some writers leave the
	// original 0) is read as libpcap reads it: the packet was that long.
	origLen = max(origLen, capLen)
	if left := s.left(int64(capLen) + 16); left >= 0 && int64(capLen)+16 > left {
		return Packet{}, s.wrap("record", off, cutShort{fmt.Sprintf("record claims %d bytes, %d are left", capLen, max(left-16, 0))})
	}
	rec, err := s.peek(16 + int(capLen))
	if err != nil {
		return Packet{}, s.wrap("record", off, noEOF(err))
	}
	h = rec[:16] // the peek may have moved the buffered bytes
	frac := int64(s.order.Uint32(h[4:8]))
	if !s.nanos {
		frac *= 1000
	}
	t := time.Unix(int64(s.order.Uint32(h[0:4])), frac).UTC()
	s.br.Discard(len(rec)) // rec stays valid until the next read
	return Packet{Data: rec[16:], Time: t, CapLen: int(capLen), Len: int(origLen), LinkType: s.link}, nil
}

// checkCapLen checks a captured length against the largest packet wscap
// reads and the snap length of the file or interface (0: none). Like
// libpcap, it takes records longer than a small snap length (some writers
// do not truncate to the snap length they declare) up to MaxPacket.
func (s *file) checkCapLen(capLen, snaplen uint32) error {
	if capLen <= MaxPacket {
		return nil
	}
	if snaplen != 0 && snaplen <= MaxPacket {
		return fmt.Errorf("record claims %d bytes, more than the snap length %d: %w", capLen, snaplen, errDamaged)
	}
	return fmt.Errorf("record claims %d bytes, more than the %d a packet may have: %w", capLen, MaxPacket, errDamaged)
}

var errDamaged = errors.New("damaged capture")

// cutShort wraps io.ErrUnexpectedEOF with a message that says what it
// means, and why it is known (detail, if any).
type cutShort struct{ detail string }

func (c cutShort) Error() string {
	if c.detail != "" {
		return "file ends in the middle of the record (capture cut short: " + c.detail + ")"
	}
	return "file ends in the middle of the record (capture cut short)"
}
func (cutShort) Unwrap() error { return io.ErrUnexpectedEOF }

// wrap makes err the error of the record or block (what) at byte off.
func (s *file) wrap(what string, off int64, err error) error {
	if _, ok := errors.AsType[cutShort](err); !ok && (errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)) {
		err = cutShort{}
	}
	where := "byte"
	if s.zipped {
		where = "uncompressed byte"
	}
	return fmt.Errorf("read %s: packet %d: %s at %s %d: %w", s.name, s.n+1, what, where, off, err)
}

func (s *file) Close() error {
	var err error
	if s.gz != nil {
		err = s.gz.Close()
	}
	if s.closer != nil {
		if cerr := s.closer.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
