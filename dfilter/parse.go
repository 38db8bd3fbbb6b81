// Package dfilter compiles and runs display filters (wscap -Y): boolean
// expressions over the fields of decode events, in a syntax familiar to
// Wireshark users:
//
//	type == "message" and from == "server" and text contains "error"
//	conn == 2 || (opcode in {ping pong} && len > 125)
//	not code matches "^tls_"
//
// Field names are the JSON Lines field names of the events (README, section
// JSON Lines) and the websocket.* names -V shows. A [Filter] is compiled
// once and is then safe for concurrent use; [Filter.Match] does not
// allocate for the common comparisons.
package dfilter

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Error is a bad expression: what is wrong, and where.
type Error struct {
	Expr string // the expression
	Off  int    // byte offset of the offending token in Expr
	Msg  string
}

// Column returns the 1-based column (in characters) of the offending token.
func (e *Error) Column() int {
	off := min(max(e.Off, 0), len(e.Expr))
	return utf8.RuneCountInString(e.Expr[:off]) + 1
}

func (e *Error) Error() string { return fmt.Sprintf("column %d: %s", e.Column(), e.Msg) }

// Caret returns two lines: the expression and a caret under the offending
// column (control characters in the expression shown as spaces).
func (e *Error) Caret() string {
	shown := strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, e.Expr)
	return shown + "\n" + strings.Repeat(" ", e.Column()-1) + "^"
}

// token kinds
type tokKind uint8

const (
	tEOF    tokKind = iota
	tWord           // field name, bare value, number, or a word operator (and, or, not, contains...)
	tString         // "quoted"
	tOp             // == != < <= > >= && || ! ~
	tLParen
	tRParen
	tLBrace
	tRBrace
	tComma
)

type token struct {
	kind tokKind
	text string // word or operator; the unescaped value of a string
	off  int
}

// maxExpr bounds the expression length, and maxDepth the nesting of
// parentheses and "not": a filter is typed by a person.
const (
	maxExpr  = 64 << 10
	maxDepth = 200
)

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == ':' || c == '/' || c == '[' || c == ']' || c >= 0x80
}

func lex(s string) ([]token, error) {
	var toks []token
	i := 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "(", i})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")", i})
			i++
		case c == '{':
			toks = append(toks, token{tLBrace, "{", i})
			i++
		case c == '}':
			toks = append(toks, token{tRBrace, "}", i})
			i++
		case c == ',':
			toks = append(toks, token{tComma, ",", i})
			i++
		case c == '"':
			v, n, err := unquote(s, i)
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tString, v, i})
			i += n
		case strings.HasPrefix(s[i:], "=="), strings.HasPrefix(s[i:], "!="),
			strings.HasPrefix(s[i:], "<="), strings.HasPrefix(s[i:], ">="),
			strings.HasPrefix(s[i:], "&&"), strings.HasPrefix(s[i:], "||"):
			toks = append(toks, token{tOp, s[i : i+2], i})
			i += 2
		case c == '<' || c == '>' || c == '!' || c == '~':
			toks = append(toks, token{tOp, s[i : i+1], i})
			i++
		case c == '=':
			return nil, &Error{s, i, `"=" is not an operator: use "=="`}
		case c == '&' || c == '|':
			return nil, &Error{s, i, fmt.Sprintf("%q is not an operator: use %q", c, string([]byte{c, c}))}
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			toks = append(toks, token{tWord, s[i:j], i})
			i = j
		default:
			r, _ := utf8.DecodeRuneInString(s[i:])
			return nil, &Error{s, i, fmt.Sprintf("unexpected character %q", r)}
		}
	}
	return append(toks, token{tEOF, "", len(s)}), nil
}

// unquote reads the string literal at s[i] (a '"'), with the escapes
// \" \\ \n \r \t \xHH; it returns the value and the literal's length.
func unquote(s string, i int) (string, int, error) {
	var b strings.Builder
	j := i + 1
	for j < len(s) {
		c := s[j]
		switch c {
		case '"':
			return b.String(), j + 1 - i, nil
		case '\\':
			if j+1 >= len(s) {
				return "", 0, &Error{s, j, "unterminated string"}
			}
			switch e := s[j+1]; e {
			case '"', '\\':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'x':
				if j+3 >= len(s) {
					return "", 0, &Error{s, j, `bad escape: \x needs two hex digits`}
				}
				v, err := strconv.ParseUint(s[j+2:j+4], 16, 8)
				if err != nil {
					return "", 0, &Error{s, j, `bad escape: \x needs two hex digits`}
				}
				b.WriteByte(byte(v))
				j += 2
			default:
				return "", 0, &Error{s, j, fmt.Sprintf(`unknown escape \%c (use \", \\, \n, \r, \t or \xHH)`, e)}
			}
			j += 2
		default:
			b.WriteByte(c)
			j++
		}
	}
	return "", 0, &Error{s, i, "unterminated string: missing closing \""}
}

type parser struct {
	src   string
	toks  []token
	pos   int
	depth int
}

func (p *parser) peek() token { return p.toks[p.pos] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &Error{p.src, t.off, fmt.Sprintf(format, args...)}
}

// isWord reports whether t is the word operator w (case-insensitive, as
// Wireshark's).
func isWord(t token, w ...string) bool {
	if t.kind != tWord {
		return false
	}
	for _, x := range w {
		if strings.EqualFold(t.text, x) {
			return true
		}
	}
	return false
}

func (p *parser) parseOr() (node, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(t.kind == tOp && t.text == "||" || isWord(t, "or")) {
			return l, nil
		}
		p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = orNode{l, r}
	}
}

func (p *parser) parseAnd() (node, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for {
		t := p.peek()
		if !(t.kind == tOp && t.text == "&&" || isWord(t, "and")) {
			return l, nil
		}
		p.next()
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = andNode{l, r}
	}
}

func (p *parser) parseNot() (node, error) {
	t := p.peek()
	if t.kind == tOp && t.text == "!" || isWord(t, "not") {
		p.next()
		if p.depth++; p.depth > maxDepth {
			return nil, p.errf(t, "expression nested too deeply")
		}
		n, err := p.parseNot()
		p.depth--
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	}
	return p.parsePrimary()
}

func (p *parser) parsePrimary() (node, error) {
	t := p.next()
	switch t.kind {
	case tLParen:
		if p.depth++; p.depth > maxDepth {
			return nil, p.errf(t, "expression nested too deeply")
		}
		n, err := p.parseOr()
		p.depth--
		if err != nil {
			return nil, err
		}
		if c := p.next(); c.kind != tRParen {
			return nil, p.errf(c, "expected \")\" to close the \"(\" at column %d, found %s", (&Error{p.src, t.off, ""}).Column(), describe(c))
		}
		return n, nil
	case tWord:
		if isWord(t, "and", "or", "not", "in", "contains", "matches") {
			return nil, p.errf(t, "expected a field name, found %q", t.text)
		}
		f, ok := fields[t.text]
		if !ok {
			f, ok = appField(t.text)
		}
		if ok && f.app {
			n, err := p.parseTest(t, f)
			return anyUnitNode{n}, err
		}
		if !ok {
			msg := fmt.Sprintf("unknown field %q", t.text)
			if s := suggest(t.text); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			return nil, p.errf(t, "%s", msg)
		}
		return p.parseTest(t, f)
	case tEOF:
		return nil, p.errf(t, "expected a field name or \"(\", found the end of the expression")
	}
	return nil, p.errf(t, "expected a field name or \"(\", found %s", describe(t))
}

func describe(t token) string {
	switch t.kind {
	case tEOF:
		return "the end of the expression"
	case tString:
		return strconv.Quote(t.text)
	}
	return fmt.Sprintf("%q", t.text)
}

// comparison operators
type cmpOp uint8

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
	opContains
	opMatches
	opIn
)

var opNames = [...]string{"==", "!=", "<", "<=", ">", ">=", "contains", "matches", "in"}

func (p *parser) operator() (cmpOp, token, bool) {
	t := p.peek()
	if t.kind == tOp {
		switch t.text {
		case "==":
			return opEq, t, true
		case "!=":
			return opNe, t, true
		case "<":
			return opLt, t, true
		case "<=":
			return opLe, t, true
		case ">":
			return opGt, t, true
		case ">=":
			return opGe, t, true
		case "~":
			return opMatches, t, true
		}
		return 0, t, false
	}
	if t.kind != tWord {
		return 0, t, false
	}
	switch strings.ToLower(t.text) {
	case "eq":
		return opEq, t, true
	case "ne":
		return opNe, t, true
	case "lt":
		return opLt, t, true
	case "le":
		return opLe, t, true
	case "gt":
		return opGt, t, true
	case "ge":
		return opGe, t, true
	case "contains":
		return opContains, t, true
	case "matches":
		return opMatches, t, true
	case "in":
		return opIn, t, true
	}
	return 0, t, false
}

// parseTest parses what follows field name ft: nothing (the field is
// present, or true), a comparison, or a set.
func (p *parser) parseTest(ft token, f *field) (node, error) {
	op, ot, ok := p.operator()
	if !ok {
		return existsNode{f}, nil
	}
	p.next()
	switch {
	case f.typ == typBool && op != opEq && op != opNe && op != opIn:
		return nil, p.errf(ot, "%s is a boolean field: use ==, != or the bare name, not %s", f.name, opNames[op])
	case f.typ != typString && f.typ != typAny && (op == opContains || op == opMatches):
		return nil, p.errf(ot, "%s applies to text fields; %s is %s", opNames[op], f.name, f.typ)
	}
	if op == opIn {
		return p.parseSet(ft, ot, f)
	}
	vt := p.next()
	v, err := p.value(vt, ot, f, op != opContains && op != opMatches)
	if err != nil {
		return nil, err
	}
	switch op {
	case opContains:
		return containsNode{f, v.s}, nil
	case opMatches:
		re, err := regexp.Compile(string(v.s))
		if err != nil {
			msg := err.Error()
			msg = strings.TrimPrefix(msg, "error parsing regexp: ")
			return nil, p.errf(vt, "bad regular expression: %s", msg)
		}
		return matchesNode{f, re}, nil
	}
	return cmpNode{f, op, v}, nil
}

func (p *parser) parseSet(ft, ot token, f *field) (node, error) {
	if b := p.next(); b.kind != tLBrace {
		return nil, p.errf(b, "expected \"{\" after in, found %s", describe(b))
	}
	var set []value
	for {
		t := p.next()
		switch t.kind {
		case tRBrace:
			if len(set) == 0 {
				return nil, p.errf(t, "empty set")
			}
			return inNode{f, set}, nil
		case tComma:
			if len(set) == 0 {
				return nil, p.errf(t, "expected a value, found \",\"")
			}
			continue
		case tEOF:
			return nil, p.errf(t, "expected \"}\" to close the set")
		}
		v, err := p.value(t, ot, f, true)
		if err != nil {
			return nil, err
		}
		set = append(set, v)
	}
}

// value checks that token t is a value of field f's type and returns it.
func (p *parser) value(t, ot token, f *field, check bool) (value, error) {
	if t.kind != tWord && t.kind != tString {
		return value{}, p.errf(t, "expected a value after %s, found %s", ot.text, describe(t))
	}
	if t.kind == tWord && isWord(t, "and", "or", "not") {
		return value{}, p.errf(t, "expected a value after %s, found %q", ot.text, t.text)
	}
	switch f.typ {
	case typInt:
		if t.kind == tWord {
			// Decimal, or hex after 0x: not Go's octal (010 would be 8),
			// 0b, 0o or underscores.
			digits, base := t.text, 10
			if h, ok := strings.CutPrefix(strings.ToLower(digits), "0x"); ok {
				digits, base = h, 16
			}
			if digits != "" && !strings.ContainsAny(digits, "_+-") {
				n, err := strconv.ParseInt(digits, base, 64)
				if err == nil {
					return value{n: n}, nil
				}
				if _, err := strconv.ParseUint(digits, base, 64); err == nil {
					return value{n: 1<<63 - 1}, nil // values are capped alike
				}
			}
		}
		return value{}, p.errf(t, "%s is a number field: compare it with a number, not %s", f.name, describe(t))
	case typBool:
		if t.kind == tWord {
			switch strings.ToLower(t.text) {
			case "true", "1":
				return value{b: true}, nil
			case "false", "0":
				return value{b: false}, nil
			}
		}
		return value{}, p.errf(t, "%s is a boolean field: compare it with true or false, not %s", f.name, describe(t))
	}
	if f.typ == typAny {
		v := value{s: []byte(t.text)}
		if t.kind == tWord {
			if x, err := strconv.ParseFloat(t.text, 64); err == nil {
				v.num, v.f = true, x
			}
		}
		return v, nil
	}
	if t.kind == tWord {
		if _, err := strconv.ParseFloat(t.text, 64); err == nil && f.values == nil {
			return value{}, p.errf(t, "%s is a text field: compare it with a string in double quotes, not the number %s", f.name, t.text)
		}
	}
	if check && f.values != nil && !f.values(t.text) {
		return value{}, p.errf(t, "%s is never %q (%s)", f.name, t.text, f.valueHint)
	}
	return value{s: []byte(t.text)}, nil
}

// suggest returns the known field nearest to name, if it is close.
func suggest(name string) string {
	limit := min(max(2, len(name)/2), 3)
	best, bestD := "", limit+1
	for k := range fields {
		if d := editDistance(strings.ToLower(name), k, limit); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if bestD > limit {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b, or a value > limit
// once it is sure to exceed it.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c = min(c, prev[j], cur[j-1]) + 1
			}
			cur[j] = c
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
