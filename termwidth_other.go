//go:build !linux

package main

import "io"

// termWidth returns 0 (full width): terminal sizes are only read on Linux.
func termWidth(io.Writer) int { return 0 }
