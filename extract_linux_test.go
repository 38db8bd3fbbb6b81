package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestExtractFileTooLarge: an error writing a file ends the run with exit
// status 1 and one line naming the file; the partial file is removed and
// the manifest lists what was written before. The test binary runs itself
// with RLIMIT_FSIZE at 4 KiB (writes past it fail with EFBIG, as on a
// full disk).
func TestExtractFileTooLarge(t *testing.T) {
	if dir := os.Getenv("WSCAP_TEST_FSIZE_DIR"); dir != "" {
		lim := syscall.Rlimit{Cur: 4096, Max: 4096}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := runCLI("-r", os.Getenv("WSCAP_TEST_FSIZE_CAP"), "--json", "--extract", dir)
		fmt.Printf("exit=%d\nstderr=%s", code, stderr)
		return
	}
	zipData, pngData := ctfFiles(t)
	capPath := ctfCapture(t, zipData, pngData)
	out := filepath.Join(t.TempDir(), "out")
	cmd := exec.Command(os.Args[0], "-test.run=^TestExtractFileTooLarge$")
	cmd.Env = append(os.Environ(), "WSCAP_TEST_FSIZE_DIR="+out, "WSCAP_TEST_FSIZE_CAP="+capPath)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	want := "exit=1\nstderr=wscap: --extract: write " + out + "/c000001-server-000001.zip: file too large\n"
	if !strings.Contains(string(b), want) {
		t.Errorf("got:\n%s\nwant:\n%s", b, want)
	}
	if got := strings.Join(dirNames(t, out), " "); got != "c000001-client-000001.json manifest.jsonl" {
		t.Errorf("files: %s", got)
	}
	if ms := readExtracted(t, out); len(ms) != 1 || ms[0].File != "c000001-client-000001.json" {
		t.Errorf("manifest: %+v", ms)
	}
}
