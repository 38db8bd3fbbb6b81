//go:build !linux

package capture

import (
	"fmt"
	"net"
)

func init() {
	if lister == nil {
		lister = netInterfaces
	}
}

// netInterfaces lists the interfaces the Go standard library sees. Without
// the pcap build tag, nothing can capture on them; -D still lists them.
func netInterfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("list interfaces: %w", err)
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifc := range ifs {
		i := Interface{
			Name:     ifc.Name,
			Index:    ifc.Index,
			Up:       ifc.Flags&net.FlagUp != 0,
			Running:  ifc.Flags&net.FlagRunning != 0,
			Loopback: ifc.Flags&net.FlagLoopback != 0,
		}
		if addrs, err := ifc.Addrs(); err == nil {
			for _, a := range addrs {
				i.Addrs = append(i.Addrs, a.String())
			}
		}
		out = append(out, i)
	}
	return out, nil
}
