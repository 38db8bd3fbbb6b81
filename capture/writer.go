package capture

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/wscap/wscap/source"
)

// WriterInfo describes the capture a [Writer] records.
type WriterInfo struct {
	Interface string          // interface name ("" for packets read from files)
	Filter    string          // the capture filter, recorded in the file
	Snaplen   int             // snapshot length (0: unlimited)
	LinkType  layers.LinkType // link type of the first interface, used when no packet is written
	Version   string          // the application, e.g. "wscap v1.2.3"
}

// Writer writes packets to a pcapng file: one interface description per
// link type met (in the order met), nanosecond timestamps. Writes are
// buffered: call Flush to push them to the file, Close at the end.
type Writer struct {
	path   string
	f      *os.File
	bw     *bufio.Writer
	ng     *pcapgo.NgWriter
	info   WriterInfo
	ids    map[layers.LinkType]int
	start  time.Time
	n      int64
	err    error
	closed bool
}

// CreateWriter creates (or truncates) the file at path.
func CreateWriter(path string, info WriterInfo) (*Writer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create capture file: %w", err)
	}
	return &Writer{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<20), info: info, ids: make(map[layers.LinkType]int), start: time.Now()}, nil
}

func (w *Writer) iface(lt layers.LinkType) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name:                w.info.Interface,
		Filter:              w.info.Filter,
		OS:                  runtime.GOOS,
		LinkType:            lt,
		SnapLength:          uint32(max(w.info.Snaplen, 0)),
		TimestampResolution: 9,
	}
}

// interfaceID returns the id of the interface description for lt, writing
// the section header and the description first when needed.
func (w *Writer) interfaceID(lt layers.LinkType) (int, error) {
	if id, ok := w.ids[lt]; ok {
		return id, nil
	}
	if w.ng == nil {
		app := w.info.Version
		if app == "" {
			app = "wscap"
		}
		ng, err := pcapgo.NewNgWriterInterface(w.bw, w.iface(lt), pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Hardware: runtime.GOARCH, OS: runtime.GOOS, Application: app},
		})
		if err != nil {
			return 0, err
		}
		w.ng = ng
		w.ids[lt] = 0
		return 0, nil
	}
	id, err := w.ng.AddInterface(w.iface(lt))
	if err != nil {
		return 0, err
	}
	w.ids[lt] = id
	return id, nil
}

// WritePacket appends p to the file.
func (w *Writer) WritePacket(p source.Packet) error {
	if w.err != nil {
		return w.err
	}
	id, err := w.interfaceID(p.LinkType)
	if err == nil {
		ci := gopacket.CaptureInfo{Timestamp: p.Time, CaptureLength: len(p.Data), Length: max(p.Len, len(p.Data)), InterfaceIndex: id}
		err = w.ng.WritePacket(ci, p.Data)
	}
	if err != nil {
		w.err = fmt.Errorf("write %s: %w", w.path, err)
		return w.err
	}
	w.n++
	return nil
}

// Packets returns the number of packets written.
func (w *Writer) Packets() int64 { return w.n }

// Flush pushes the buffered packets to the file.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if w.ng != nil {
		if err := w.ng.Flush(); err != nil {
			w.err = fmt.Errorf("write %s: %w", w.path, err)
			return w.err
		}
	}
	if err := w.bw.Flush(); err != nil {
		w.err = fmt.Errorf("write %s: %w", w.path, err)
	}
	return w.err
}

// Close writes the statistics of a live capture (when st is not nil) to
// the first interface, flushes and closes the file. A file without packets
// still gets its section header and an interface description.
func (w *Writer) Close(st *Stats) error {
	if w.closed {
		return w.err
	}
	w.closed = true
	if w.err == nil && w.ng == nil {
		if _, err := w.interfaceID(w.info.LinkType); err != nil {
			w.err = fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	if w.err == nil && st != nil && w.info.Interface != "" {
		now := time.Now()
		err := w.ng.WriteInterfaceStats(0, pcapgo.NgInterfaceStatistics{
			LastUpdate:      now,
			StartTime:       w.start,
			EndTime:         now,
			PacketsReceived: st.Received,
			PacketsDropped:  st.KernelDropped + st.IfDropped,
		})
		if err != nil {
			w.err = fmt.Errorf("write %s: %w", w.path, err)
		}
	}
	w.Flush()
	if err := w.f.Close(); err != nil && w.err == nil {
		w.err = fmt.Errorf("close %s: %w", w.path, err)
	}
	return w.err
}
