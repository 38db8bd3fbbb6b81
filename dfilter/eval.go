package dfilter

import (
	"bytes"
	"cmp"
	"regexp"
	"strconv"
	"strings"

	"github.com/wscap/wscap/decode"
	"github.com/wscap/wscap/h2"
	"github.com/wscap/wscap/tlsdec"
)

// Filter is a compiled display filter. It is immutable: one Filter may be
// used by many goroutines at once.
type Filter struct {
	expr string
	root node
}

// Compile parses and type-checks expr. A bad expression is an [*Error].
func Compile(expr string) (*Filter, error) {
	if len(expr) > maxExpr {
		return nil, &Error{expr[:80], 0, "expression too long"}
	}
	toks, err := lex(expr)
	if err != nil {
		return nil, err
	}
	p := &parser{src: expr, toks: toks}
	if p.peek().kind == tEOF {
		return nil, p.errf(p.peek(), "empty expression")
	}
	n, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tEOF {
		if t.kind == tRParen {
			return nil, p.errf(t, "unexpected \")\" (no \"(\" to close)")
		}
		return nil, p.errf(t, "expected and, or or the end of the expression, found %s", describe(t))
	}
	return &Filter{expr: expr, root: n}, nil
}

// String returns the expression the Filter was compiled from.
func (f *Filter) String() string { return f.expr }

// Match reports whether event ev matches. info is what is known of the
// event's connection (the endpoints of a handshake), or nil.
func (f *Filter) Match(ev *decode.Event, info *decode.ConnInfo) bool {
	return f.root.match(ev, info)
}

type node interface {
	match(ev *decode.Event, c *decode.ConnInfo) bool
}

type value struct {
	s   []byte
	n   int64
	b   bool
	num bool    // typAny: the value is a number, f
	f   float64 // typAny
}

// anyNum compares x, the text of a typAny field, with v numerically when
// both are numbers.
func anyNum(x []byte, v *value) (int, bool) {
	if !v.num {
		return 0, false
	}
	fx, err := strconv.ParseFloat(string(x), 64)
	if err != nil {
		return 0, false
	}
	return cmp.Compare(fx, v.f), true
}

type andNode struct{ l, r node }
type orNode struct{ l, r node }
type notNode struct{ x node }

func (n andNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	return n.l.match(ev, c) && n.r.match(ev, c)
}
func (n orNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	return n.l.match(ev, c) || n.r.match(ev, c)
}
func (n notNode) match(ev *decode.Event, c *decode.ConnInfo) bool { return !n.x.match(ev, c) }

// existsNode is a bare field name: the field is present (a boolean field:
// present and true).
type existsNode struct{ f *field }

func (n existsNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	f := n.f
	switch f.typ {
	case typInt:
		_, ok := f.num(ev, c)
		return ok
	case typBool:
		v, ok := f.bol(ev, c)
		return ok && v
	}
	_, ok := f.str(ev, c)
	return ok
}

// cmpNode compares a field with a value; an absent field matches no
// comparison (so "not x == 1" matches events without x).
type cmpNode struct {
	f  *field
	op cmpOp
	v  value
}

func (n cmpNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	f := n.f
	var d int
	switch f.typ {
	case typInt:
		x, ok := f.num(ev, c)
		if !ok {
			return false
		}
		switch {
		case x < n.v.n:
			d = -1
		case x > n.v.n:
			d = 1
		}
	case typBool:
		x, ok := f.bol(ev, c)
		if !ok {
			return false
		}
		if x != n.v.b {
			d = 1
		}
	default:
		x, ok := f.str(ev, c)
		if !ok {
			return false
		}
		if nd, isNum := anyNum(x, &n.v); isNum && f.typ == typAny {
			d = nd
			break
		}
		if n.op == opEq {
			return bytes.Equal(x, n.v.s)
		}
		d = bytes.Compare(x, n.v.s)
	}
	switch n.op {
	case opEq:
		return d == 0
	case opNe:
		return d != 0
	case opLt:
		return d < 0
	case opLe:
		return d <= 0
	case opGt:
		return d > 0
	}
	return d >= 0
}

type inNode struct {
	f   *field
	set []value
}

func (n inNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	f := n.f
	switch f.typ {
	case typInt:
		x, ok := f.num(ev, c)
		if !ok {
			return false
		}
		for _, v := range n.set {
			if x == v.n {
				return true
			}
		}
	case typBool:
		x, ok := f.bol(ev, c)
		if !ok {
			return false
		}
		for _, v := range n.set {
			if x == v.b {
				return true
			}
		}
	default:
		x, ok := f.str(ev, c)
		if !ok {
			return false
		}
		for _, v := range n.set {
			if d, isNum := anyNum(x, &v); isNum && f.typ == typAny {
				if d == 0 {
					return true
				}
			} else if bytes.Equal(x, v.s) {
				return true
			}
		}
	}
	return false
}

type containsNode struct {
	f   *field
	sub []byte
}

func (n containsNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	x, ok := n.f.str(ev, c)
	return ok && bytes.Contains(x, n.sub)
}

type matchesNode struct {
	f  *field
	re *regexp.Regexp
}

func (n matchesNode) match(ev *decode.Event, c *decode.ConnInfo) bool {
	x, ok := n.f.str(ev, c)
	return ok && n.re.Match(x)
}

// FieldInfo describes a field for documentation.
type FieldInfo struct {
	Name string
	Type string // "string", "number" or "boolean"
	On   string // the event types that have it
}

// Fields lists the fields a filter may name, in documentation order.
func Fields() []FieldInfo {
	out := make([]FieldInfo, len(fieldList))
	for i, f := range fieldList {
		out[i] = FieldInfo{f.name, f.typ.String(), f.on}
	}
	return out
}

// Values returns the values an enumerated text field takes (type, from,
// opcode, severity, code), or nil.
func Values(name string) []string {
	switch name {
	case "type":
		return kindValues
	case "from":
		return []string{"client", "server"}
	case "severity":
		return []string{"error", "warning", "info"}
	case "opcode":
		return opcodeValues()
	case "code":
		var out []string
		for _, c := range decode.Codes() {
			out = append(out, string(c))
		}
		for _, c := range tlsdec.Codes() { // the TLS layer's problems are anomalies too
			out = append(out, string(c))
		}
		for _, c := range h2.Codes() { // and the HTTP/2 layer's, on WebSockets over HTTP/2
			out = append(out, string(c))
		}
		return out
	}
	return nil
}

func oneOf(vals []string) func(string) bool {
	return func(s string) bool {
		for _, v := range vals {
			if v == s {
				return true
			}
		}
		return false
	}
}

func opcodeValues() []string {
	out := make([]string, 16)
	for i := range out {
		out[i] = decode.Opcode(i).String()
	}
	return out
}

var kindValues = func() []string {
	var out []string
	for k := decode.Kind(0); ; k++ {
		s := k.String()
		if strings.HasPrefix(s, "kind") {
			return out
		}
		out = append(out, s)
	}
}()
