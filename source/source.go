// Package source reads packets from capture files: pcap (microsecond and
// nanosecond timestamps, either byte order), pcapng (several interfaces with
// different link types) and gzip-compressed forms of both. The format is
// chosen by the file's magic bytes, never by its name.
//
// A damaged file is reported as an error from [Source.Next] that names the
// packet number and the byte offset where reading went wrong; every packet
// before the damage is delivered first.
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
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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

// bufSize is the read buffer: large enough that reads from the file are few.
const bufSize = 1 << 20

// maxRecord bounds the captured length a pcap record or pcapng block may
// claim. libpcap's own limit is 256 KiB; this leaves room for GRO/TSO
// super-frames while keeping a damaged length from reading the rest of a
// large file into memory.
const maxRecord = 16 << 20

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
// damaged record can be reported, and shows them to scan (pcapng).
type countingReader struct {
	r    io.Reader
	n    int64
	scan *ngScanner
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.scan != nil && n > 0 {
		c.scan.Write(p[:n])
	}
	return n, err
}

// file is the Source for pcap and pcapng files.
type file struct {
	name   string
	closer io.Closer
	gz     *gzip.Reader
	cr     *countingReader // counts bytes below br (decompressed if gz)
	br     *bufio.Reader
	pcap   *pcapgo.Reader
	ng     *pcapgo.NgReader
	order  binary.ByteOrder // pcap only
	link   layers.LinkType  // pcap only
	n      int              // packets delivered
	err    error            // sticky error
	zipped bool
	scan   *ngScanner // pcapng only: collects Decryption Secrets Blocks
}

// Open opens a capture file; path "-" reads standard input. The format is
// detected from the first bytes: pcap, pcapng, or either one gzip-compressed.
func Open(path string) (Source, error) {
	var (
		r      io.Reader
		closer io.Closer
		name   = path
	)
	if path == "-" {
		r, name = os.Stdin, "stdin"
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err // an *fs.PathError: "open PATH: reason"
		}
		if st, err := f.Stat(); err == nil && st.IsDir() {
			f.Close()
			return nil, fmt.Errorf("open %s: is a directory", path)
		}
		r, closer = f, f
	}
	s, err := newFile(name, r)
	if err != nil {
		if closer != nil {
			closer.Close()
		}
		return nil, err
	}
	s.closer = closer
	return s, nil
}

// NewReader reads a capture from r, as Open does for a file; name is used
// in error messages.
func NewReader(name string, r io.Reader) (Source, error) {
	return newFile(name, r)
}

func newFile(name string, r io.Reader) (*file, error) {
	s := &file{name: name}
	s.cr = &countingReader{r: r}
	s.br = bufio.NewReaderSize(s.cr, bufSize)
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
		s.gz, s.zipped = gz, true
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
	case magicPcapMod, magicPcapModB:
		return nil, fmt.Errorf("read %s: modified (Kuznetzov) pcap format is not supported; convert it with editcap -F pcap", name)
	default:
		return nil, fmt.Errorf("read %s: %w (starts with %s)", name, ErrNotCapture, hex.EncodeToString(head[:4]))
	}
	if magic == magicPcapng {
		// pcapgo skips Decryption Secrets Blocks: look at every byte of
		// the file as it is read, starting with those already buffered.
		s.scan = newNgScanner()
		buffered, _ := s.br.Peek(s.br.Buffered())
		s.scan.Write(buffered)
		s.cr.scan = s.scan
		ng, err := pcapgo.NewNgReader(s.br, pcapgo.NgReaderOptions{WantMixedLinkType: true, SkipUnknownVersion: true})
		if err != nil {
			return nil, fmt.Errorf("read %s: pcapng section header: %w", name, noEOF(err))
		}
		s.ng = ng
		return s, nil
	}
	pr, err := pcapgo.NewReader(s.br)
	if err != nil {
		return nil, fmt.Errorf("read %s: pcap file header: %w", name, noEOF(err))
	}
	s.pcap = pr
	s.link = pr.LinkType()
	if !SupportedLinkType(s.link) {
		return nil, fmt.Errorf("read %s: %w %s (%d)", name, ErrUnsupportedLinkType, s.link, int(s.link))
	}
	return s, nil
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

func (s *file) Next() (Packet, error) {
	if s.err != nil {
		return Packet{}, s.err
	}
	off := s.offset()
	var (
		data []byte
		ci   gopacket.CaptureInfo
		err  error
		lt   = s.link
	)
	if s.pcap != nil {
		err = s.checkPcapRecord()
		if err == nil {
			data, ci, err = s.pcap.ZeroCopyReadPacketData()
		}
	} else {
		err = s.checkNgBlock()
		if err == nil {
			data, ci, err = s.ng.ZeroCopyReadPacketData()
		}
		if err == nil {
			lt = layers.LinkTypeNull
			if len(ci.AncillaryData) > 0 {
				if l, ok := ci.AncillaryData[0].(layers.LinkType); ok {
					lt = l
				}
			}
		}
	}
	if err != nil {
		// pcapng reports io.EOF only at a block boundary; pcap also when a
		// record header was read but none of its data.
		if err == io.EOF && (s.ng != nil || s.offset() == off) {
			s.err = io.EOF
			return Packet{}, io.EOF
		}
		s.err = s.wrap(off, err)
		return Packet{}, s.err
	}
	s.n++
	return Packet{Data: data, Time: ci.Timestamp, CapLen: ci.CaptureLength, Len: ci.Length, LinkType: lt}, nil
}

// checkPcapRecord looks at the next record header before pcapgo reads it,
// so that a damaged length cannot make it read megabytes.
func (s *file) checkPcapRecord() error {
	h, err := s.br.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && (err == nil || errors.Is(err, io.EOF)) {
			return io.EOF
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	capLen := s.order.Uint32(h[8:12])
	if capLen > maxRecord {
		return fmt.Errorf("record claims %d captured bytes (more than %d): %w", capLen, maxRecord, errDamaged)
	}
	return nil
}

// checkNgBlock does the same for the next pcapng block.
func (s *file) checkNgBlock() error {
	h, err := s.br.Peek(8)
	if len(h) < 8 {
		if len(h) == 0 && (err == nil || errors.Is(err, io.EOF)) {
			return io.EOF
		}
		if err == nil || errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	// The byte order is that of the section; a block length is the same
	// number read either way only if it is sane in one of them.
	le, be := binary.LittleEndian.Uint32(h[4:8]), binary.BigEndian.Uint32(h[4:8])
	if le > maxRecord+64 && be > maxRecord+64 {
		return fmt.Errorf("block claims more than %d bytes: %w", maxRecord, errDamaged)
	}
	return nil
}

var errDamaged = errors.New("damaged capture")

// cutShort wraps io.ErrUnexpectedEOF with a message that says what it means.
type cutShort struct{}

func (cutShort) Error() string { return "file ends in the middle of the record (capture cut short)" }
func (cutShort) Unwrap() error { return io.ErrUnexpectedEOF }

func (s *file) wrap(off int64, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		err = cutShort{}
	}
	where := "byte"
	if s.zipped {
		where = "uncompressed byte"
	}
	return fmt.Errorf("read %s: packet %d: record at %s %d: %w", s.name, s.n+1, where, off, err)
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
