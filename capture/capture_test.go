package capture

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatInterfaces(t *testing.T) {
	got := FormatInterfaces([]Interface{
		{Name: "lo", Up: true, Running: true, Loopback: true, Addrs: []string{"127.0.0.1/8", "::1/128"}},
		{Name: "eth0", Up: true},
		{Name: "any", Description: "all interfaces"},
	})
	want := "1.lo [Up, Running, Loopback] 127.0.0.1/8 ::1/128\n2.eth0 [Up]\n3.any (all interfaces)\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestError(t *testing.T) {
	e := &Error{Interface: "lo", Err: ErrPermission, Hint: "run as root"}
	if e.Error() != "capture on lo: permission denied: run as root" || !errors.Is(e, ErrPermission) {
		t.Errorf("%v", e)
	}
	e = &Error{Interface: "x", Err: errors.New("boom")}
	if e.Error() != "capture on x: boom" {
		t.Errorf("%v", e)
	}
}

func TestOpenUnknownInterface(t *testing.T) {
	if len(backends) == 0 {
		t.Skip("no capture backend in this build")
	}
	_, err := Open(Options{Interface: "nosuch0"})
	var ce *Error
	if !errors.As(err, &ce) || !errors.Is(err, ErrNoInterface) || !strings.Contains(ce.Hint, "existing interfaces: ") {
		t.Errorf("err %v", err)
	}
}

func TestOpenUnknownBackend(t *testing.T) {
	_, err := Open(Options{Interface: "lo", Backend: "carrier-pigeon"})
	if err == nil || !strings.Contains(err.Error(), "carrier-pigeon") {
		t.Errorf("err %v", err)
	}
}
