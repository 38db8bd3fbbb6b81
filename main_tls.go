package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/wscap/wscap/pipeline"
	"github.com/wscap/wscap/source"
	"github.com/wscap/wscap/tlsdec"
)

// openKeyLog opens the NSS key log (SSLKEYLOGFILE format) that decrypts
// wss:// connections: path (--keylog FILE), or else the file that the
// SSLKEYLOGFILE environment variable names (looked up with getenv). It
// returns nil, nil when neither names one.
//
// The file is read only when a TLS connection needs it, and then kept as
// an index of its lines, not as text (see tlsdec.KeyLog). It is followed:
// a connection whose secrets are not in it yet makes the key log read the
// lines appended since, so a browser that writes its key log while wscap
// reads a live capture is decrypted as it goes. A file
// named by SSLKEYLOGFILE that does not exist yet is not an error (it is
// followed from when it appears); one named by --keylog is.
func openKeyLog(path string, getenv func(string) string) (*tlsdec.KeyLog, error) {
	explicit := path != ""
	if !explicit {
		path = getenv("SSLKEYLOGFILE")
	}
	if path == "" {
		return nil, nil
	}
	k := tlsdec.NewKeyLog()
	if err := k.Follow(path); err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return k, nil
		}
		what := "--keylog"
		if !explicit {
			what = "SSLKEYLOGFILE"
		}
		return nil, fmt.Errorf("%s %s: %w", what, path, err)
	}
	return k, nil
}

// keyLogWarning is the warning about a key log that decrypted nothing
// because it holds no secrets: the --keylog file (flag) is empty, or the
// file SSLKEYLOGFILE names is missing or empty while the capture had
// tlsConns TLS connections (a variable set for a browser says nothing
// about a ws:// capture). keys is the key log of the run (pcapng secrets
// included); "" when there is nothing to say.
func keyLogWarning(flag string, getenv func(string) string, keys *tlsdec.KeyLog, tlsConns int) string {
	path, what := flag, "--keylog"
	if path == "" {
		path, what = getenv("SSLKEYLOGFILE"), "SSLKEYLOGFILE"
		if tlsConns == 0 {
			return ""
		}
	}
	if path == "" || keys == nil || keys.HasSecrets() {
		return ""
	}
	why := "holds no TLS secrets (NSS key log lines such as CLIENT_RANDOM or CLIENT_TRAFFIC_SECRET_0)"
	if st, err := os.Stat(path); err != nil {
		why = "does not exist"
	} else if st.Size() == 0 {
		why = "is empty"
	}
	if tlsConns == 0 {
		return fmt.Sprintf("wscap: warning: %s %s %s", what, path, why)
	}
	conns := "the TLS connection was"
	if tlsConns > 1 {
		conns = fmt.Sprintf("the %d TLS connections were", tlsConns)
	}
	return fmt.Sprintf("wscap: warning: %s names %s, which %s: %s not decrypted", what, path, why, conns)
}

// withCaptureSecrets adds the TLS key log that the capture itself carries
// (pcapng Decryption Secrets Blocks, as written by editcap
// --inject-secrets) to keys, now and as more blocks are read: through
// queue, which the pipeline adds to keys between packets, once its
// workers have decoded the packets before the block (directly when queue
// is nil). It returns the key log to decrypt with: keys, or a new one
// when keys is nil and src can carry secrets.
func withCaptureSecrets(keys *tlsdec.KeyLog, src source.Source, queue *pipeline.Secrets) *tlsdec.KeyLog {
	ts, ok := src.(source.TLSSecrets)
	if !ok {
		return keys
	}
	if keys == nil {
		keys = tlsdec.NewKeyLog()
	}
	ts.OnTLSSecrets(func(keylog []byte) {
		if queue != nil {
			queue.Add(keylog)
			return
		}
		keys.ReadFrom(bytes.NewReader(keylog)) // never fails on a bytes.Reader
	})
	return keys
}

// keyLogReadError reports an error met reading the key log file when a
// TLS connection needed it (the connections it could not decrypt are
// reported as such).
func keyLogReadError(keys *tlsdec.KeyLog, stderr io.Writer) {
	if keys == nil {
		return
	}
	if err := keys.Err(); err != nil {
		fmt.Fprintf(stderr, "wscap: warning: %v\n", err)
	}
}
