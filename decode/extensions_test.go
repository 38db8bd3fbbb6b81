package decode

import (
	"fmt"
	"reflect"
	"testing"
)

func TestParseExtensions(t *testing.T) {
	tests := []struct {
		in   string
		want []extension
	}{
		{"", nil},
		{" , ,", nil},
		{"permessage-deflate", []extension{{name: "permessage-deflate"}}},
		{"permessage-deflate; client_max_window_bits", []extension{{name: "permessage-deflate", params: []extParam{
			{name: "client_max_window_bits"}}}}},
		{"permessage-deflate;server_max_window_bits=10 ; client_max_window_bits = \"12\"", []extension{{name: "permessage-deflate", params: []extParam{
			{name: "server_max_window_bits", value: "10", hasValue: true},
			{name: "client_max_window_bits", value: "12", hasValue: true}}}}},
		{"a; x=\"\\1\\2\", b, , c;;y", []extension{
			{name: "a", params: []extParam{{name: "x", value: "12", hasValue: true}}},
			{name: "b"},
			{name: "c", params: []extParam{{name: "y"}}},
		}},
		{"x-kaazing-ping-pong; 01010102", []extension{{name: "x-kaazing-ping-pong", params: []extParam{{name: "01010102"}}}}},
		{"a; x=\"1,2\", b", []extension{
			{name: "a", params: []extParam{{name: "x", value: "1,2", hasValue: true, bad: `quoted value "1,2" is not a token`}}},
			{name: "b"},
		}},
		{"a; x=\"12", []extension{{name: "a", params: []extParam{{name: "x", value: "12", hasValue: true, bad: "unterminated quoted-string"}}}}},
		{"a; x=", []extension{{name: "a", params: []extParam{{name: "x", hasValue: true, bad: "missing value after ="}}}}},
		{"a b; x", []extension{{name: "a", params: []extParam{{bad: `unexpected "b"`}, {name: "x"}}}}},
		{"a; @x; y", []extension{{name: "a", params: []extParam{{bad: `parameter "@x" is not a token`}, {name: "y"}}}}},
		{"@bad; x, good", []extension{{name: "good"}}},
	}
	for _, tt := range tests {
		if got := parseExtensions(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseExtensions(%q) =\n%+v\nwant\n%+v", tt.in, got, tt.want)
		}
	}
}

func TestWindowBits(t *testing.T) {
	for v := range 20 {
		s := fmt.Sprint(v)
		bits, ok := windowBits(s)
		if want := v >= 8 && v <= 15; ok != want || (ok && bits != v) {
			t.Errorf("windowBits(%q) = %d, %v", s, bits, ok)
		}
	}
	for _, s := range []string{"", "08", "015", "+9", "9 ", "0x9", "1", "100", "-8"} {
		if _, ok := windowBits(s); ok {
			t.Errorf("windowBits(%q) ok", s)
		}
	}
}

func dp(snct, cnct bool, smwb, cmwb int) *DeflateParams {
	return &DeflateParams{ServerNoContextTakeover: snct, ClientNoContextTakeover: cnct, ServerMaxWindowBits: smwb, ClientMaxWindowBits: cmwb}
}

func TestNegotiateExtensions(t *testing.T) {
	const pmd = "permessage-deflate"
	tests := []struct {
		name          string
		offer, answer string
		p             *DeflateParams
		frame         bool
		offerCodes    []Code
		answerCodes   []Code
		detail        string // detail of the first anomaly (offer's, else answer's), when set
	}{
		{name: "nothing", offer: "", answer: ""},
		{name: "offered, not accepted", offer: pmd + "; client_max_window_bits", answer: ""},
		{name: "accepted plain", offer: pmd, answer: pmd, p: dp(false, false, 15, 15)},
		{name: "chrome offer, plain answer", offer: pmd + "; client_max_window_bits", answer: pmd, p: dp(false, false, 15, 15)},
		{name: "python websockets", offer: pmd + "; client_max_window_bits",
			answer: pmd + "; server_max_window_bits=12; client_max_window_bits=12", p: dp(false, false, 12, 12)},
		{name: "client_max_window_bits=15 in the answer", offer: pmd + "; client_max_window_bits",
			answer: pmd + "; client_max_window_bits=15", p: dp(false, false, 15, 15)},
		{name: "server_no_context_takeover", offer: pmd + "; server_no_context_takeover",
			answer: pmd + "; server_no_context_takeover", p: dp(true, false, 15, 15)},
		{name: "server_no_context_takeover offered, not answered", offer: pmd + "; server_no_context_takeover",
			answer: pmd, p: dp(false, false, 15, 15), answerCodes: []Code{CodeDeflateParamNotAllowed},
			detail: "permessage-deflate: the offer has server_no_context_takeover but the answer does not"},
		{name: "server_no_context_takeover answered unasked", offer: pmd,
			answer: pmd + "; server_no_context_takeover", p: dp(true, false, 15, 15)},
		{name: "client_no_context_takeover offered", offer: pmd + "; client_no_context_takeover",
			answer: pmd + "; client_no_context_takeover", p: dp(false, true, 15, 15)},
		{name: "client_no_context_takeover answered unasked", offer: pmd,
			answer: pmd + "; client_no_context_takeover", p: dp(false, true, 15, 15)},
		{name: "client_no_context_takeover with a value", offer: pmd + "; client_no_context_takeover=1",
			answer: pmd + "; client_no_context_takeover=\"x\"", p: dp(false, true, 15, 15),
			offerCodes: []Code{CodeDeflateParamInvalid}, answerCodes: []Code{CodeDeflateParamInvalid},
			detail: `permessage-deflate offer has client_no_context_takeover="1"; the parameter has no value`},
		{name: "server_max_window_bits smaller than offered", offer: pmd + "; server_max_window_bits=12",
			answer: pmd + "; server_max_window_bits=9", p: dp(false, false, 9, 15)},
		{name: "server_max_window_bits larger than offered", offer: pmd + "; server_max_window_bits=10",
			answer: pmd + "; server_max_window_bits=12", p: dp(false, false, 12, 15),
			answerCodes: []Code{CodeDeflateParamNotAllowed},
			detail:      "permessage-deflate: the answer has server_max_window_bits=12, larger than the offered 10"},
		{name: "server_max_window_bits offered, not answered", offer: pmd + "; server_max_window_bits=10",
			answer: pmd, p: dp(false, false, 15, 15), answerCodes: []Code{CodeDeflateParamNotAllowed}},
		{name: "server_max_window_bits answered unasked", offer: pmd,
			answer: pmd + "; server_max_window_bits=10", p: dp(false, false, 10, 15)},
		{name: "server_max_window_bits without value in offer", offer: pmd + "; server_max_window_bits",
			answer: "", offerCodes: []Code{CodeDeflateParamInvalid},
			detail: "permessage-deflate offer has server_max_window_bits without a value, expected 8..15"},
		{name: "server_max_window_bits without value in answer", offer: pmd,
			answer: pmd + "; server_max_window_bits", p: dp(false, false, 15, 15), answerCodes: []Code{CodeDeflateParamInvalid}},
		{name: "client_max_window_bits with value", offer: pmd + "; client_max_window_bits=10",
			answer: pmd + "; client_max_window_bits=10", p: dp(false, false, 15, 10)},
		{name: "client_max_window_bits smaller than offered", offer: pmd + "; client_max_window_bits=10",
			answer: pmd + "; client_max_window_bits=9", p: dp(false, false, 15, 9)},
		{name: "client_max_window_bits without value in the answer", offer: pmd + "; client_max_window_bits",
			answer: pmd + "; client_max_window_bits", p: dp(false, false, 15, 15), answerCodes: []Code{CodeDeflateParamInvalid},
			detail: "permessage-deflate answer has client_max_window_bits without a value; a value 8..15 is required in an answer"},
		{name: "client_max_window_bits not offered", offer: pmd,
			answer: pmd + "; client_max_window_bits=10", p: dp(false, false, 15, 10), answerCodes: []Code{CodeDeflateParamNotAllowed},
			detail: "permessage-deflate: the answer has client_max_window_bits but the offer does not"},
		{name: "quoted value", offer: pmd + `; server_max_window_bits="10"`,
			answer: pmd + `; server_max_window_bits="10"`, p: dp(false, false, 10, 15)},
		{name: "names in any case", offer: "PerMessage-Deflate; Client_Max_Window_Bits",
			answer: "permessage-DEFLATE; SERVER_MAX_WINDOW_BITS=11; client_max_window_bits=11", p: dp(false, false, 11, 11)},
		{name: "out of range 7 and 16", offer: pmd + "; server_max_window_bits=7; client_max_window_bits=16",
			answer: "", offerCodes: []Code{CodeDeflateParamInvalid, CodeDeflateParamInvalid},
			detail: `permessage-deflate offer has server_max_window_bits="7", expected 8..15`},
		{name: "out of range in the answer falls back to 15", offer: pmd + "; client_max_window_bits",
			answer: pmd + "; server_max_window_bits=20; client_max_window_bits=0", p: dp(false, false, 15, 15),
			answerCodes: []Code{CodeDeflateParamInvalid, CodeDeflateParamInvalid}},
		{name: "leading zero", offer: pmd + "; server_max_window_bits=09", answer: "",
			offerCodes: []Code{CodeDeflateParamInvalid}},
		{name: "not a plain integer", offer: pmd + "; client_max_window_bits=+9", answer: "",
			offerCodes: []Code{CodeDeflateParamInvalid}},
		{name: "malformed quoted value", offer: pmd + `; client_max_window_bits="1`, answer: "",
			offerCodes: []Code{CodeDeflateParamInvalid},
			detail:     "permessage-deflate offer has a malformed parameter: unterminated quoted-string"},
		{name: "unknown parameter", offer: pmd + "; mux", answer: pmd + "; mux", p: dp(false, false, 15, 15),
			offerCodes: []Code{CodeDeflateParamInvalid}, answerCodes: []Code{CodeDeflateParamInvalid},
			detail: `permessage-deflate offer has unknown parameter "mux"`},
		{name: "duplicate in offer", offer: pmd + "; client_max_window_bits; client_max_window_bits=10", answer: "",
			offerCodes: []Code{CodeDeflateParamDuplicate},
			detail:     "permessage-deflate offer has client_max_window_bits more than once"},
		{name: "duplicate in answer", offer: pmd,
			answer: pmd + "; server_no_context_takeover; Server_No_Context_Takeover", p: dp(true, false, 15, 15),
			answerCodes: []Code{CodeDeflateParamDuplicate}},
		{name: "accepted twice", offer: pmd + ", " + pmd + "; client_no_context_takeover",
			answer: pmd + ", " + pmd + "; client_no_context_takeover", p: dp(false, false, 15, 15),
			answerCodes: []Code{CodeExtensionRepeated}, detail: "the answer accepts permessage-deflate twice"},
		{name: "several offers, the answer fits the second", offer: pmd + "; server_max_window_bits=10, " + pmd,
			answer: pmd, p: dp(false, false, 15, 15)},
		{name: "several offers, the answer fits none", offer: pmd + "; server_max_window_bits=10, " + pmd,
			answer: pmd + "; client_max_window_bits=9", p: dp(false, false, 15, 9), answerCodes: []Code{CodeDeflateParamNotAllowed},
			detail: "the permessage-deflate answer fits none of the 2 offers (offer 1: the answer has client_max_window_bits but the offer does not, " +
				"the offer has server_max_window_bits=10 but the answer has no server_max_window_bits; " +
				"offer 2: the answer has client_max_window_bits but the offer does not)"},
		{name: "x-webkit-deflate-frame", offer: "x-webkit-deflate-frame", answer: "x-webkit-deflate-frame", frame: true},
		{name: "deflate-frame", offer: "deflate-frame; max_window_bits=10", answer: "deflate-frame", frame: true},
		{name: "offer both, pick deflate-frame", offer: pmd + ", x-webkit-deflate-frame", answer: "x-webkit-deflate-frame", frame: true},
		{name: "two compression extensions", offer: pmd + ", x-webkit-deflate-frame",
			answer: pmd + ", x-webkit-deflate-frame", p: dp(false, false, 15, 15), answerCodes: []Code{CodeExtensionRepeated},
			detail: "the answer accepts permessage-deflate and x-webkit-deflate-frame; both use RSV1"},
		{name: "two compression extensions, frame first", offer: pmd + ", x-webkit-deflate-frame",
			answer: "x-webkit-deflate-frame, " + pmd + "; foo", frame: true,
			answerCodes: []Code{CodeExtensionRepeated, CodeDeflateParamInvalid}},
		{name: "answer not offered: not this function's business", offer: "", answer: pmd + "; client_max_window_bits=10",
			p: dp(false, false, 15, 10)},
		{name: "other extensions are ignored", offer: "foo; x=1, " + pmd, answer: "foo; x=2, " + pmd, p: dp(false, false, 15, 15)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, frame, oa, aa := negotiateExtensions(tt.offer, tt.answer)
			if !reflect.DeepEqual(p, tt.p) || frame != tt.frame {
				t.Errorf("p, frame = %+v, %v, want %+v, %v", p, frame, tt.p, tt.frame)
			}
			if got := anomalyCodes(oa); !reflect.DeepEqual(got, tt.offerCodes) {
				t.Errorf("offer anomalies = %v, want %v (%+v)", got, tt.offerCodes, oa)
			}
			if got := anomalyCodes(aa); !reflect.DeepEqual(got, tt.answerCodes) {
				t.Errorf("answer anomalies = %v, want %v (%+v)", got, tt.answerCodes, aa)
			}
			if tt.detail != "" {
				all := append(oa, aa...)
				if len(all) == 0 || all[0].Detail != tt.detail {
					t.Errorf("detail = %+v, want %q", all, tt.detail)
				}
			}
		})
	}
}

func TestNegotiateWindowBitsRange(t *testing.T) {
	for bits := 8; bits <= 15; bits++ {
		offer := fmt.Sprintf("permessage-deflate; server_max_window_bits=%d; client_max_window_bits=%d", bits, bits)
		p, _, oa, aa := negotiateExtensions(offer, offer)
		if want := dp(false, false, bits, bits); !reflect.DeepEqual(p, want) || len(oa) != 0 || len(aa) != 0 {
			t.Errorf("%d: p %+v, anomalies %+v %+v", bits, p, oa, aa)
		}
	}
}

func TestFillRequestReportsOfferAnomalies(t *testing.T) {
	// The offer's anomalies come from fillRequest (client), the answer's
	// from fillResponse (server), once each.
	req := mustParse(t, editHead(rfcRequest, nil, "Sec-WebSocket-Extensions: permessage-deflate; bogus"))
	resp := mustParse(t, editHead(rfcResponse, nil, "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"))
	var hs Handshake
	if got := anomalyCodes(fillRequest(&hs, &req)); !reflect.DeepEqual(got, []Code{CodeDeflateParamInvalid}) {
		t.Errorf("request anomalies = %v", got)
	}
	if got := anomalyCodes(fillResponse(&hs, &resp)); !reflect.DeepEqual(got, []Code{CodeDeflateParamInvalid, CodeDeflateParamNotAllowed}) {
		t.Errorf("response anomalies = %v", got)
	}
}
