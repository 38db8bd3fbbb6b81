//go:build !linux

package capture

// Without the pcap build tag nothing can capture here, but -D still lists
// the interfaces the Go standard library sees.
func init() {
	if lister == nil {
		lister = netInterfaces
	}
}
