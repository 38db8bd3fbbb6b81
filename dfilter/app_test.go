package dfilter

import (
	"testing"

	"github.com/wscap/wscap/decode"
)

func TestAppFields(t *testing.T) {
	pub := func(topic string, qos, id string) decode.AppUnit {
		return decode.AppUnit{Proto: "mqtt", Type: "PUBLISH", Name: topic, HasName: true, ID: []byte(id),
			Fields: []decode.AppField{{Key: "qos", Value: []byte(qos)}, {Key: "payload", Value: []byte(`"t=21.5 \"ok\""`)}}}
	}
	batched := decode.Event{Kind: decode.KindMessage, App: decode.NewAppInfo([]decode.AppUnit{pub("sensors/t1", "0", "12"), pub("sensors/t2", "2", `"abc"`)}, 0, false)}
	partial := decode.Event{Kind: decode.KindMessage, App: decode.NewAppInfo(nil, 0, true)}
	plain := decode.Event{Kind: decode.KindMessage}
	frame := decode.Event{Kind: decode.KindFrame}
	for _, tc := range []struct {
		expr string
		want [4]bool // batched, partial, plain, frame
	}{
		{`app.proto == "mqtt"`, [4]bool{true}},
		{`app.proto`, [4]bool{true}},
		{`not app.proto`, [4]bool{false, true, true, true}},
		{`app.name == "sensors/t2"`, [4]bool{true}},              // the second unit
		{`app.name == "sensors/t1" and app.qos == 2`, [4]bool{true}}, // each test on any unit
		{`app.qos > 1`, [4]bool{true}},
		{`app.qos >= 3`, [4]bool{}},
		{`app.qos in {1, 2}`, [4]bool{true}},
		{`app.id == 12`, [4]bool{true}},
		{`app.id == "abc"`, [4]bool{true}},
		{`app.payload contains "\"ok\""`, [4]bool{true}},
		{`app.payload matches "^t=21"`, [4]bool{true}},
		{`app.nothing`, [4]bool{}},
		{`app_partial`, [4]bool{false, true}},
		{`type == "message" and not app_partial`, [4]bool{true, false, true}},
	} {
		f, err := Compile(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		for i, ev := range []decode.Event{batched, partial, plain, frame} {
			if got := f.Match(&ev, nil); got != tc.want[i] {
				t.Errorf("%s on event %d = %v, want %v", tc.expr, i, got, tc.want[i])
			}
		}
	}
	if _, err := Compile(`app. == 1`); err == nil {
		t.Error(`"app." is a field`)
	}
}
