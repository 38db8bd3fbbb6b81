package decode

import (
	"strings"
	"testing"
)

// A browser's Upgrade request with a 17 KB Cookie header is decoded with
// the default head limit (it was 16 KiB and lost the WebSocket).
func TestLargeCookieHead(t *testing.T) {
	req := strings.Replace(testReq, "\r\n\r\n", "\r\nCookie: session="+strings.Repeat("c", 17000)+"\r\n\r\n", 1)
	steps := []step{c2s(str(req)), s2c(str(testResp)), s2c(sf(true, OpText, "hello"))}
	for _, split := range []func(int) []int{nil, every(1400)} {
		evs := run(Options{}, steps, split)
		assertNoAnomalies(t, evs)
		if m := kinds(evs, KindMessage); len(m) != 1 || string(m[0].Message.Payload) != "hello" {
			t.Fatalf("%s", describe(evs))
		}
	}
}
