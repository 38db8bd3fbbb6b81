package h2

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/wscap/wscap/decode"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// wire builds the frames of one side with x/net's Framer and an HPACK
// encoder that keeps its dynamic table across blocks, like a real peer.
type wire struct {
	buf bytes.Buffer
	fr  *http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
}

func newWire() *wire {
	w := &wire{}
	w.fr = http2.NewFramer(&w.buf, nil)
	w.fr.AllowIllegalWrites = true
	w.enc = hpack.NewEncoder(&w.hb)
	return w
}

// block encodes name/value pairs as one header block.
func (w *wire) block(kv ...string) []byte {
	w.hb.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := w.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]}); err != nil {
			panic(err)
		}
	}
	return bytes.Clone(w.hb.Bytes())
}

func (w *wire) headers(stream uint32, end bool, kv ...string) {
	must(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: w.block(kv...), EndStream: end, EndHeaders: true}))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

type step struct {
	side decode.Side
	data []byte
	gap  int64
	end  bool
}

// script is a conversation: side 0 is the client unless swapped.
type script struct {
	steps []step
	w     [2]*wire
}

func newScript() *script { return &script{w: [2]*wire{newWire(), newWire()}} }

// on writes frames on side with f and appends them as one step.
func (sc *script) on(side decode.Side, f func(w *wire)) *script {
	w := sc.w[side]
	f(w)
	sc.steps = append(sc.steps, step{side: side, data: bytes.Clone(w.buf.Bytes())})
	w.buf.Reset()
	return sc
}

func (sc *script) raw(side decode.Side, b []byte) *script {
	sc.steps = append(sc.steps, step{side: side, data: b})
	return sc
}

func (sc *script) gap(side decode.Side, n int64) *script {
	sc.steps = append(sc.steps, step{side: side, gap: n})
	return sc
}

func (sc *script) end(side decode.Side) *script {
	sc.steps = append(sc.steps, step{side: side, end: true})
	return sc
}

// preface: the server's SETTINGS (ENABLE_CONNECT_PROTOCOL=1) first, then
// the client's preface and SETTINGS, then both ACKs.
func (sc *script) preface() *script {
	sc.on(1, func(w *wire) {
		must(w.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: 100}, http2.Setting{ID: 0x8, Val: 1}))
	})
	sc.on(0, func(w *wire) {
		w.buf.WriteString(Preface)
		must(w.fr.WriteSettings(http2.Setting{ID: http2.SettingHeaderTableSize, Val: 65536}, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 6291456}))
		must(w.fr.WriteSettingsAck())
	})
	return sc.on(1, func(w *wire) { must(w.fr.WriteSettingsAck()) })
}

var wsConnect = []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/chat", ":authority", "example.com", "sec-websocket-version", "13", "sec-websocket-extensions", "permessage-deflate"}

const (
	prefaceLines = "S s0 settings 3=100,8=1 connect|C s0 settings 1=65536,4=6291456"
	connectLine  = "C s1 headers :method=CONNECT :protocol=websocket :scheme=https :path=/chat :authority=example.com sec-websocket-version=13 sec-websocket-extensions=permessage-deflate"
)

// splitter returns the chunk sizes to feed n bytes in (nil: whole).
type splitter func(n int) []int

func every(k int) splitter {
	return func(n int) []int {
		var out []int
		for ; n > 0; n -= k {
			out = append(out, min(k, n))
		}
		return out
	}
}

func random(seed int64) splitter {
	r := rand.New(rand.NewSource(seed))
	return func(n int) []int {
		var out []int
		for n > 0 {
			k := min(n, 1+r.Intn(40))
			out = append(out, k)
			n -= k
		}
		return out
	}
}

// run feeds the steps, overwriting every fed buffer after Feed, and
// describes the events right after each call (Data is valid until then).
func run(opt Options, steps []step, split splitter) ([]string, *Conn) {
	c := NewConn(opt)
	var out []string
	var evs []Event
	emit := func() {
		out = append(out, describe(evs)...)
		evs = evs[:0]
	}
	for _, st := range steps {
		switch {
		case st.end:
			evs = c.End(evs, st.side, decode.Seg{Packet: 1})
			emit()
		case st.gap > 0:
			evs = c.Gap(evs, st.side, st.gap, decode.Seg{Packet: 1})
			emit()
		default:
			sizes := []int{len(st.data)}
			if split != nil {
				sizes = split(len(st.data))
			}
			p := st.data
			for _, k := range sizes {
				b := bytes.Clone(p[:k])
				p = p[k:]
				evs = c.Feed(evs, st.side, b, decode.Seg{Packet: 1})
				for i := range b {
					b[i] = 0xAA
				}
				emit()
			}
		}
	}
	return out, c
}

func describe(evs []Event) []string {
	var out []string
	for _, e := range evs {
		who := "S"
		if e.Client {
			who = "C"
		}
		s := fmt.Sprintf("%s s%d %s", who, e.Stream, e.Kind)
		switch e.Kind {
		case KindSettings:
			var p []string
			for _, x := range e.Settings {
				p = append(p, fmt.Sprintf("%d=%d", x.ID, x.Value))
			}
			s += " " + strings.Join(p, ",")
			if e.ConnectProtocol {
				s += " connect"
			}
		case KindHeaders:
			for _, f := range e.Headers {
				s += " " + f.Name + "=" + f.Value
			}
			if e.Promised != 0 {
				s += fmt.Sprintf(" promised=%d", e.Promised)
			}
			if e.Truncated {
				s += " truncated"
			}
		case KindData:
			s += fmt.Sprintf(" %q", e.Data)
		case KindRstStream:
			s += fmt.Sprintf(" code=%d", e.Code)
		case KindGoAway:
			s += fmt.Sprintf(" last=%d code=%d", e.LastStream, e.Code)
		case KindGap:
			s += fmt.Sprintf(" %d", e.Lost)
		case KindAnomaly:
			s += " " + string(e.Anomaly.Code)
			if e.Anomaly.Detail == "" || e.Anomaly.Ref == "" {
				s += " (no detail/ref)"
			}
		}
		if e.EndStream {
			s += " end"
		}
		out = append(out, s)
	}
	return out
}

type h2case struct {
	name  string
	opt   Options
	sc    func() *script
	want  string // event lines joined by "|"
	check func(t *testing.T, c *Conn)
}

func cases() []h2case {
	big := bytes.Repeat([]byte("x"), 20000)
	return []h2case{
		{
			name: "extended CONNECT and DATA both ways",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) { w.headers(1, false, wsConnect...) }).
					on(1, func(w *wire) { w.headers(1, false, ":status", "200", "sec-websocket-extensions", "permessage-deflate") }).
					on(0, func(w *wire) {
						must(w.fr.WriteData(1, false, []byte("\x81\x85abcd)\a\x0f\b\x0e")))
						must(w.fr.WriteDataPadded(1, false, []byte("padded"), make([]byte, 7)))
						must(w.fr.WriteWindowUpdate(0, 1000))
						must(w.fr.WritePing(false, [8]byte{1}))
					}).
					on(1, func(w *wire) {
						must(w.fr.WriteDataPadded(1, false, []byte("\x81\x05hello"), make([]byte, 0)))
						must(w.fr.WriteDataPadded(1, true, nil, make([]byte, 3)))
					})
			},
			want: prefaceLines + "|" + connectLine +
				"|S s1 headers :status=200 sec-websocket-extensions=permessage-deflate" +
				`|C s1 data "\x81\x85abcd)\a\x0f\b\x0e"|C s1 data "padded"` +
				`|S s1 data "\x81\x05hello"|S s1 data "" end`,
			check: func(t *testing.T, c *Conn) {
				if !c.ConnectProtocol() {
					t.Error("ConnectProtocol false")
				}
				if side, ok := c.Client(); !ok || side != 0 {
					t.Errorf("Client() = %d, %v", side, ok)
				}
				st := c.Stats(0)
				if st.Ping != 1 || st.WindowUpdate != 1 || st.SettingsAck != 1 || st.Data != 2 || st.FramingLost {
					t.Errorf("client stats %+v", st)
				}
			},
		},
		{
			name: "HEADERS + CONTINUATION",
			sc: func() *script {
				return newScript().preface().on(0, func(w *wire) {
					b := w.block(wsConnect...)
					must(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:5], PadLength: 4}))
					must(w.fr.WriteContinuation(1, false, b[5:9]))
					must(w.fr.WriteContinuation(1, true, b[9:]))
				})
			},
			want: prefaceLines + "|" + connectLine,
		},
		{
			name: "dynamic table reused across streams",
			sc: func() *script {
				sc := newScript().preface()
				var n1, n3 int
				sc.on(0, func(w *wire) {
					w.headers(1, true, ":method", "GET", ":path", "/", "x-custom", "a-long-custom-value")
					n1 = w.buf.Len()
					w.headers(3, true, ":method", "GET", ":path", "/", "x-custom", "a-long-custom-value")
					n3 = w.buf.Len() - n1
				})
				if n3 >= n1-10 {
					panic("second block does not use the dynamic table")
				}
				return sc.on(1, func(w *wire) {
					w.headers(3, true, ":status", "404", "server", "test-server-name")
					w.headers(1, true, ":status", "404", "server", "test-server-name")
				})
			},
			want: prefaceLines + "|C s1 headers :method=GET :path=/ x-custom=a-long-custom-value end" +
				"|C s3 headers :method=GET :path=/ x-custom=a-long-custom-value end" +
				"|S s3 headers :status=404 server=test-server-name end|S s1 headers :status=404 server=test-server-name end",
		},
		{
			name: "RST_STREAM and GOAWAY",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) { w.headers(1, false, wsConnect...) }).
					on(1, func(w *wire) {
						must(w.fr.WriteRSTStream(1, http2.ErrCodeCancel))
						must(w.fr.WriteGoAway(1, http2.ErrCodeNo, []byte("bye")))
					}).
					on(0, func(w *wire) { must(w.fr.WriteData(1, false, []byte("late"))) })
			},
			want: prefaceLines + "|" + connectLine + "|S s1 rst_stream code=8|S s0 goaway last=1 code=0" + `|C s1 data "late"`,
		},
		{
			name: "oversize frame is skipped",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) {
						w.headers(1, false, wsConnect...)
						must(w.fr.WriteData(1, false, big))
						must(w.fr.WriteData(1, false, []byte("after")))
					})
			},
			want: prefaceLines + "|" + connectLine + `|C s1 anomaly h2_frame_size|C s1 data "after"`,
			check: func(t *testing.T, c *Conn) {
				if st := c.Stats(0); st.Skipped != int64(len(big)) {
					t.Errorf("skipped %d", st.Skipped)
				}
			},
		},
		{
			name: "larger frames after SETTINGS_MAX_FRAME_SIZE",
			sc: func() *script {
				return newScript().
					on(1, func(w *wire) { must(w.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 32768})) }).
					on(0, func(w *wire) {
						w.buf.WriteString(Preface)
						must(w.fr.WriteSettings())
						w.headers(1, false, ":method", "POST")
						must(w.fr.WriteData(1, true, big[:19999]))
					})
			},
			want: "S s0 settings 5=32768|C s0 settings |C s1 headers :method=POST|C s1 data \"" + string(big[:19999]) + "\" end",
		},
		{
			name: "HPACK error loses the direction",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) {
						must(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x80}, EndHeaders: true}))
						w.headers(3, true, ":method", "GET")
					}).
					on(1, func(w *wire) { w.headers(1, true, ":status", "400") })
			},
			want: prefaceLines + "|C s1 anomaly h2_hpack_error|S s1 headers :status=400 end",
			check: func(t *testing.T, c *Conn) {
				if st := c.Stats(0); !st.FramingLost || st.Undecoded == 0 {
					t.Errorf("client stats %+v", st)
				}
			},
		},
		{
			name: "DATA after END_STREAM",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) {
						w.headers(1, false, ":method", "POST")
						must(w.fr.WriteData(1, true, []byte("a")))
						must(w.fr.WriteData(1, false, []byte("b")))
					})
			},
			want: prefaceLines + `|C s1 headers :method=POST|C s1 data "a" end|C s1 anomaly h2_data_after_end_stream|C s1 data "b"`,
		},
		{
			name: "DATA on an idle stream and a stream id of the wrong parity",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) {
						must(w.fr.WriteData(5, false, []byte("a")))
						w.headers(2, true, ":method", "GET")
					})
			},
			want: prefaceLines + `|C s5 anomaly h2_stream_idle|C s5 data "a"|C s2 anomaly h2_stream_id|C s2 headers :method=GET end`,
		},
		{
			name: "preface missing",
			opt:  Options{ClientKnown: true, Client: 0},
			sc: func() *script {
				return newScript().raw(0, []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
			},
			want: "C s0 anomaly h2_preface_missing",
		},
		{
			name: "first frame not SETTINGS",
			sc: func() *script {
				return newScript().on(0, func(w *wire) {
					w.buf.WriteString(Preface)
					w.headers(1, true, ":method", "GET")
				})
			},
			want: "C s1 anomaly h2_preface_missing|C s1 headers :method=GET end",
		},
		{
			name: "CONTINUATION expected",
			sc: func() *script {
				return newScript().preface().on(0, func(w *wire) {
					must(w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: w.block(":method", "GET")}))
					must(w.fr.WriteData(1, false, []byte("x")))
					w.headers(3, true, ":method", "GET")
				})
			},
			want: prefaceLines + "|C s1 anomaly h2_continuation_expected",
		},
		{
			name: "CONTINUATION unexpected",
			sc: func() *script {
				return newScript().preface().on(0, func(w *wire) {
					must(w.fr.WriteContinuation(1, true, []byte{0x82}))
					w.headers(1, true, ":method", "GET")
				})
			},
			want: prefaceLines + "|C s1 anomaly h2_continuation_unexpected|C s1 headers :method=GET end",
		},
		{
			name: "gap inside DATA keeps the framing",
			sc: func() *script {
				sc := newScript().preface().on(0, func(w *wire) { w.headers(1, false, ":method", "POST") })
				sc.on(0, func(w *wire) { must(w.fr.WriteData(1, true, []byte("0123456789"))) })
				d := sc.steps[len(sc.steps)-1].data
				sc.steps[len(sc.steps)-1].data = d[:9+3] // header + "012"
				sc.gap(0, 4)
				sc.raw(0, d[9+7:])
				return sc.on(0, func(w *wire) { w.headers(3, true, ":method", "GET") })
			},
			want: prefaceLines + `|C s1 headers :method=POST|C s1 data "012"|C s1 gap 4|C s1 data "789" end|C s3 headers :method=GET end`,
		},
		{
			name: "gap in a padded DATA frame",
			sc: func() *script {
				sc := newScript().preface().on(0, func(w *wire) { w.headers(1, false, ":method", "POST") })
				sc.on(0, func(w *wire) { must(w.fr.WriteDataPadded(1, false, []byte("0123456789"), make([]byte, 5))) })
				d := sc.steps[len(sc.steps)-1].data
				sc.steps[len(sc.steps)-1].data = d[:9+1+3]
				sc.gap(0, 2)
				return sc.raw(0, d[9+1+5:])
			},
			want: prefaceLines + `|C s1 headers :method=POST|C s1 data "012"|C s1 gap 2|C s1 data "56789"`,
		},
		{
			name: "gap in a frame header loses the direction",
			sc: func() *script {
				return newScript().preface().gap(0, 5).on(0, func(w *wire) { w.headers(1, true, ":method", "GET") })
			},
			want: prefaceLines + "|C s0 anomaly framing_lost",
		},
		{
			name: "end inside DATA",
			sc: func() *script {
				sc := newScript().preface().on(0, func(w *wire) {
					w.headers(1, false, ":method", "POST")
					must(w.fr.WriteData(1, false, []byte("0123456789")))
				})
				d := sc.steps[len(sc.steps)-1].data
				sc.steps[len(sc.steps)-1].data = d[:len(d)-4]
				return sc.end(0).raw(0, []byte("ignored"))
			},
			want: prefaceLines + `|C s1 headers :method=POST|C s1 data "012345"|C s1 anomaly stream_truncated`,
		},
		{
			name: "h2c after Upgrade",
			opt:  Options{ClientKnown: true, Client: 1, Upgrade: true},
			sc: func() *script {
				return newScript().
					on(0, func(w *wire) {
						must(w.fr.WriteSettings())
						w.headers(1, false, ":status", "200")
						must(w.fr.WriteData(1, true, []byte("hi")))
					}).
					on(1, func(w *wire) {
						w.buf.WriteString(Preface)
						must(w.fr.WriteSettings())
						must(w.fr.WriteData(1, false, []byte("no")))
					})
			},
			want: `S s0 settings |S s1 headers :status=200|S s1 data "hi" end|C s0 settings |C s1 anomaly h2_data_after_end_stream|C s1 data "no"`,
		},
		{
			name: "a side that ended before the roles were known stays ended",
			sc: func() *script {
				sc := newScript().end(1)
				return sc.on(0, func(w *wire) {
					w.buf.WriteString(Preface)
					must(w.fr.WriteSettings())
				}).raw(1, []byte{0, 0, 0, 4, 0, 0, 0, 0, 0})
			},
			want: "C s0 settings ",
			check: func(t *testing.T, c *Conn) {
				if st := c.Stats(1); st.Frames != 0 || st.Bytes != 0 {
					t.Errorf("ended side decoded: %+v", st)
				}
			},
		},
		{
			name: "header list limit",
			opt:  Options{MaxHeaderList: 120},
			sc: func() *script {
				return newScript().preface().on(0, func(w *wire) {
					w.headers(1, true, ":method", "GET", "a", strings.Repeat("v", 40), "b", "w")
					w.headers(3, true, ":method", "GET", "a", strings.Repeat("v", 40))
				})
			},
			want: prefaceLines + "|C s1 anomaly h2_header_list_size|C s1 headers :method=GET a=" + strings.Repeat("v", 40) + " truncated end" +
				"|C s3 headers :method=GET a=" + strings.Repeat("v", 40) + " end",
		},
		{
			name: "stream limit",
			opt:  Options{MaxStreams: 2},
			sc: func() *script {
				return newScript().preface().on(0, func(w *wire) {
					w.headers(1, true, ":method", "GET")
					w.headers(3, false, ":method", "GET")
					w.headers(5, false, ":method", "GET")
				}).on(1, func(w *wire) {
					w.headers(1, true, ":status", "200")
					w.headers(7, false, ":status", "200")
				}).on(0, func(w *wire) {
					w.headers(9, false, ":method", "GET")
					w.headers(11, false, ":method", "GET")
					w.headers(13, false, ":method", "GET")
				})
			},
			want: prefaceLines + "|C s1 headers :method=GET end|C s3 headers :method=GET|C s5 anomaly h2_streams_limit|C s5 headers :method=GET" +
				"|S s1 headers :status=200 end|S s7 anomaly h2_stream_id|S s7 headers :status=200" +
				"|C s9 headers :method=GET|C s11 headers :method=GET|C s13 headers :method=GET",
			check: func(t *testing.T, c *Conn) {
				if len(c.streams) > 2 {
					t.Errorf("%d streams tracked", len(c.streams))
				}
			},
		},
		{
			name: "invalid settings",
			sc: func() *script {
				return newScript().
					on(1, func(w *wire) {
						must(w.fr.WriteSettings(http2.Setting{ID: 0x8, Val: 1}, http2.Setting{ID: http2.SettingMaxFrameSize, Val: 100}, http2.Setting{ID: http2.SettingEnablePush, Val: 2}))
						must(w.fr.WriteSettings(http2.Setting{ID: 0x8, Val: 0}))
					}).
					on(0, func(w *wire) {
						w.buf.WriteString(Preface)
						must(w.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 31}))
						must(w.fr.WritePing(false, [8]byte{}))
						w.buf.Write([]byte{0, 0, 3, 6, 0, 0, 0, 0, 0, 1, 2, 3}) // PING of 3 bytes
						w.buf.Write([]byte{0, 0, 1, 0xfa, 0, 0, 0, 0, 0, 9})    // unknown type
					})
			},
			want: "S s0 anomaly h2_settings_invalid|S s0 anomaly h2_settings_invalid|S s0 settings 8=1,5=100,2=2 connect" +
				"|S s0 anomaly h2_settings_invalid|S s0 settings 8=0" +
				"|C s0 anomaly h2_settings_invalid|C s0 settings 4=2147483648|C s0 anomaly h2_frame_size",
		},
		{
			name: "PUSH_PROMISE keeps the server's HPACK state",
			sc: func() *script {
				return newScript().preface().
					on(0, func(w *wire) { w.headers(1, true, ":method", "GET", ":path", "/") }).
					on(1, func(w *wire) {
						must(w.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, BlockFragment: w.block(":method", "GET", ":path", "/style.css"), EndHeaders: true}))
						w.headers(1, true, ":status", "200", "x-path", "/style.css")
						w.headers(2, true, ":status", "200")
					})
			},
			want: prefaceLines + "|C s1 headers :method=GET :path=/ end|S s1 headers :method=GET :path=/style.css promised=2" +
				"|S s1 headers :status=200 x-path=/style.css end|S s2 headers :status=200 end",
		},
	}
}

func TestConn(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			steps := tc.sc().steps
			whole, c := run(tc.opt, steps, nil)
			if got := strings.Join(whole, "|"); got != tc.want {
				t.Errorf("events:\n got %s\nwant %s", got, tc.want)
			}
			if tc.check != nil {
				tc.check(t, c)
			}
			for name, sp := range map[string]splitter{"bytewise": every(1), "odd3": every(3), "random1": random(1), "random2": random(2)} {
				parts, _ := run(tc.opt, steps, sp)
				if strings.Join(parts, "|") != strings.Join(whole, "|") {
					t.Errorf("%s differs:\n%s\n---\n%s", name, strings.Join(whole, "\n"), strings.Join(parts, "\n"))
				}
			}
		})
	}
}

func TestCodes(t *testing.T) {
	for _, c := range Codes() {
		sev, ref, meaning, ok := CodeInfo(c)
		if !ok || ref == "" || meaning == "" || !strings.HasPrefix(string(c), "h2_") {
			t.Errorf("%s: %v %q %q %v", c, sev, ref, meaning, ok)
		}
		if _, _, _, ok := c.Info(); ok {
			t.Errorf("%s is also one of decode's codes", c)
		}
	}
	for _, c := range []decode.Code{decode.CodeFramingLost, decode.CodeStreamTruncated} {
		if _, _, _, ok := CodeInfo(c); !ok {
			t.Errorf("%s unknown", c)
		}
	}
}

// TestDeclaredLengthNotAllocated: a frame header declaring 16 MiB that
// the receiver allowed holds only the bytes that arrived.
func TestDeclaredLengthNotAllocated(t *testing.T) {
	sc := newScript().on(1, func(w *wire) { must(w.fr.WriteSettings(http2.Setting{ID: http2.SettingMaxFrameSize, Val: 1<<24 - 1})) }).
		on(0, func(w *wire) {
			w.buf.WriteString(Preface)
			must(w.fr.WriteSettings())
			w.headers(1, false, ":method", "POST")
		})
	_, c := run(Options{}, sc.steps, nil)
	c.Feed(nil, 0, []byte{0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 1, 'a', 'b'}, decode.Seg{})
	if h := &c.h[0]; h.state != stPayload || cap(h.buf) > 4096 {
		t.Fatalf("state %d, buffer cap %d", h.state, cap(h.buf))
	}
}

func TestMemSize(t *testing.T) {
	sc := newScript().preface().on(0, func(w *wire) {
		w.headers(1, false, wsConnect...)
		must(w.fr.WriteData(1, false, bytes.Repeat([]byte("x"), 3000)))
	})
	_, c := run(Options{}, sc.steps, nil)
	base := c.MemSize()
	if base < 3000+defaultTableSize {
		t.Errorf("MemSize %d does not count the frame buffer and the HPACK table", base)
	}
	c.End(nil, 0, decode.Seg{})
	if after := c.MemSize(); after >= base-3000 {
		t.Errorf("MemSize %d after End, %d before", after, base)
	}
}

// BenchmarkFeed: a client stream of 1 KiB DATA frames on one stream.
func BenchmarkFeed(b *testing.B) {
	sc := newScript().preface().on(0, func(w *wire) {
		w.headers(1, false, wsConnect...)
		for i := 0; i < 1000; i++ {
			must(w.fr.WriteData(1, false, bytes.Repeat([]byte{byte(i)}, 1024)))
		}
	})
	data := sc.steps[len(sc.steps)-1].data
	b.SetBytes(int64(len(data)))
	var evs []Event
	for b.Loop() {
		c := NewConn(Options{})
		for _, st := range sc.steps[:len(sc.steps)-1] {
			c.Feed(nil, st.side, st.data, decode.Seg{})
		}
		for p := data; len(p) > 0; p = p[min(len(p), 1460):] {
			evs = c.Feed(evs[:0], 0, p[:min(len(p), 1460)], decode.Seg{})
		}
	}
}
