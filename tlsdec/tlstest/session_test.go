package tlstest

import (
	"bytes"
	"crypto/tls"
	"reflect"
	"testing"
	"testing/cryptotest"
)

func TestSession(t *testing.T) {
	cfg := Config{
		Client: &tls.Config{MaxVersion: tls.VersionTLS12},
		Steps:  []Step{{Data: []byte("ping")}, {FromServer: true, Data: []byte("pong")}},
		Conns:  2,
	}
	res, err := Session(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Conns) != 2 || !res.Conns[1].State.DidResume || !bytes.HasPrefix(res.KeyLog, []byte("CLIENT_RANDOM ")) {
		t.Fatalf("conns %d, resumed %v, key log %.20q", len(res.Conns), res.Conns[1].State.DidResume, res.KeyLog)
	}
	c := res.Conns[0]
	if len(c.Stream(false)) == 0 || len(c.Stream(true)) == 0 || c.Writes[0].FromServer {
		t.Errorf("writes %d", len(c.Writes))
	}
}

// TestDeterministic checks that a fixed crypto/rand gives byte-identical
// transcripts, which fixture generators rely on.
func TestDeterministic(t *testing.T) {
	run := func() *Result {
		cryptotest.SetGlobalRandom(t, 42)
		res, err := Session(Config{Steps: []Step{{Data: []byte("hi")}, {FromServer: true, Data: []byte("ho")}}, Conns: 2})
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Conns {
			res.Conns[i].State = tls.ConnectionState{}
		}
		return res
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Error("two runs with the same seed differ")
	}
}

func TestHandshakeFailure(t *testing.T) {
	_, err := Session(Config{
		Client: &tls.Config{MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
	})
	if err == nil {
		t.Error("an ECDSA-only client and an RSA server agreed")
	}
}
