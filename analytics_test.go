package main

// Loading wscap's JSON Lines into analytics engines (docs/analytics).
// TestDuckDB and TestClickHouse load the JSON Lines of every capture in
// testdata, the corpus and a wsgen workload into DuckDB (npm
// @duckdb/node-api) and ClickHouse (chDB, npm chdb) with the SQL that
// docs/analytics ships, and check with SQL, per WebSocket and direction,
// the frames, messages and bytes of the events against the summary events,
// and the rows of each event type against what the files hold.
// TestAnalyticsRecipes checks that the shipped ClickHouse table,
// Elasticsearch index template, Vector remap and Spark schema cover every
// field the README (and json-lines.md) documents and every field wscap
// writes.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wscap/wscap/internal/flowgen"
)

// The npm packages the engine tests use, pinned; .ci/run installs them
// into ~/.cache/wscap-npm ($WSCAP_NPM_DIR).
const (
	duckdbNpm = "@duckdb/node-api@1.5.6-r.1"
	chdbNpm   = "chdb@3.4.0"
)

// anaKey names one direction of one WebSocket of one capture.
type anaKey struct {
	file   string
	conn   int64
	stream int64
	dir    string
}

// anaTotals are one direction's totals: from the summary event (frames,
// messages, bytes) or added up from the frame and message events.
type anaTotals struct {
	frames, messages, frameBytes, messageBytes int64
}

// anaCapture is one capture's JSON Lines file and what Go reads from it.
type anaCapture struct {
	name  string
	file  string
	types map[string]int64
	tsMax int64 // the latest ts, Unix ns
	tsSub int64 // sum over the events of ts's nanoseconds below the microsecond
	apps  int64 // message events with app.proto
}

// anaSet is the JSON Lines of a set of captures.
type anaSet struct {
	caps    []*anaCapture
	summary map[anaKey]anaTotals
	events  map[anaKey]anaTotals
	fields  map[string]bool // every top-level field name seen
	flows   []string        // community_id of every summary
}

// anaRuns lists the wscap runs: the fixtures, the real recordings, the
// corpus (when present), and with wsgen a generated workload.
func anaRuns(t *testing.T, corpus, wsgen bool) (runs [][]string) {
	fixtures, _ := filepath.Glob("testdata/*.pcap*")
	for _, in := range fixtures {
		if strings.HasSuffix(in, ".golden") {
			continue
		}
		base := strings.TrimSuffix(strings.TrimSuffix(in, ".pcapng"), ".pcap")
		args := []string{"-r", in}
		if sc, ok := flowgen.Lookup(filepath.Base(base)); ok && sc.DecodeAs != 0 {
			args = append(args, "-d", strconv.Itoa(int(sc.DecodeAs)))
		}
		runs = append(runs, args)
	}
	for _, pat := range []string{"testdata/real/*.pcapng", "testdata/real/h2/*.pcapng", "testdata/real/app/*.pcapng"} {
		caps, _ := filepath.Glob(pat)
		for _, in := range caps {
			base := strings.TrimSuffix(in, ".pcapng")
			args := []string{"-r", in}
			if fileExists(base + ".keys") {
				args = append(args, "--keylog", base+".keys")
			}
			if b, err := os.ReadFile(base + ".args"); err == nil {
				args = append(args, strings.Fields(string(b))...)
			}
			runs = append(runs, args)
		}
	}
	if corpus {
		dir := os.Getenv("WSCAP_CORPUS")
		if dir == "" {
			dir = filepath.Join("..", "shared", "corpus")
		}
		if fileExists(filepath.Join(dir, "MANIFEST.md")) {
			filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
				if err != nil || d.IsDir() || !(strings.HasSuffix(p, ".pcap") || strings.HasSuffix(p, ".pcapng")) {
					return nil
				}
				rel, _ := filepath.Rel(dir, p)
				args := []string{"-r", p}
				if port, ok := decodeAs[filepath.ToSlash(rel)]; ok {
					args = append(args, "-d", port)
				}
				runs = append(runs, args)
				return nil
			})
		} else {
			t.Logf("no corpus at %s (set WSCAP_CORPUS): only testdata", dir)
		}
	}
	if wsgen {
		if pcap := anaWsgen(t); pcap != "" {
			runs = append(runs, []string{"-r", pcap})
		}
	}
	if len(runs) == 0 {
		t.Fatal("no captures in testdata")
	}
	return runs
}

// anaWsgen writes a small wsgen workload (60 connections, IPv6, deflate,
// fragments, pings) and returns its path; "" when wsgen is not there.
func anaWsgen(t *testing.T) string {
	if testing.Short() {
		return ""
	}
	src := os.Getenv("WSCAP_WSGEN")
	if src == "" {
		src = filepath.Join("..", "shared", "bench", "wsgen")
	}
	if !fileExists(filepath.Join(src, "main.go")) {
		t.Logf("wsgen not found at %s: no generated workload", src)
		return ""
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "wsgen")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build wsgen: %v\n%s", err, out)
	}
	pcap := filepath.Join(dir, "wsgen.pcap")
	gen := exec.Command(bin, "-conns", "60", "-size", "3MB", "-seed", "17", "-ipv6", "0.3", "-deflate", "0.4", "-frag", "0.1", "-truth=false", "-q", "-o", pcap)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("wsgen: %v\n%s", err, out)
	}
	return pcap
}

// anaInputs runs wscap --json --summary on each run, writes the JSON
// Lines to dir and reads them. Captures without a single event are left
// out (there is nothing to load).
func anaInputs(t *testing.T, dir string, runs [][]string) *anaSet {
	set := &anaSet{summary: map[anaKey]anaTotals{}, events: map[anaKey]anaTotals{}, fields: map[string]bool{}}
	for i, args := range runs {
		var out, errb bytes.Buffer
		a := append(append([]string{}, args...), "--json", "--summary")
		if err := run(context.Background(), a, &out, &errb); err != nil && !strings.Contains(args[1], "truncated") {
			t.Fatalf("wscap %v: %v\n%s", a, err, errb.String())
		}
		if out.Len() == 0 {
			continue
		}
		c := &anaCapture{name: args[1], file: filepath.Join(dir, fmt.Sprintf("c%03d.jsonl", i)), types: map[string]int64{}}
		if err := os.WriteFile(c.file, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		set.read(t, c, out.Bytes())
		set.caps = append(set.caps, c)
	}
	if len(set.caps) == 0 {
		t.Fatal("no capture has events")
	}
	return set
}

// read adds one capture's events to the set.
func (s *anaSet) read(t *testing.T, c *anaCapture, out []byte) {
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	for line := 1; ; line++ {
		var e map[string]any
		if err := dec.Decode(&e); err != nil {
			if err.Error() == "EOF" {
				return
			}
			t.Fatalf("%s line %d: %v", c.name, line, err)
		}
		for k := range e {
			s.fields[k] = true
		}
		typ, _ := e["type"].(string)
		c.types[typ]++
		ts, err := time.Parse(time.RFC3339Nano, fmt.Sprint(e["ts"]))
		if err != nil {
			t.Fatalf("%s line %d: ts: %v", c.name, line, err)
		}
		ns := ts.UnixNano()
		c.tsMax = max(c.tsMax, ns)
		c.tsSub += ns % 1000
		n := func(k string) int64 {
			v, _ := anaInt(e[k])
			return v
		}
		key := anaKey{c.file, n("conn"), n("h2_stream"), fmt.Sprint(e["from"])}
		switch typ {
		case "frame":
			tot := s.events[key]
			tot.frames++
			tot.frameBytes += n("header_len") + n("seen") + n("lost_bytes")
			s.events[key] = tot
		case "message":
			tot := s.events[key]
			tot.messages++
			tot.messageBytes += n("len")
			s.events[key] = tot
			if app, ok := e["app"].(map[string]any); ok && app["proto"] != nil {
				c.apps++
			}
		case "summary":
			if id, ok := e["community_id"].(string); ok {
				s.flows = append(s.flows, id)
			}
			for _, dir := range []string{"client", "server"} {
				key.dir = dir
				s.summary[key] = anaTotals{frames: n(dir + "_frames"), messages: n(dir + "_messages"), frameBytes: n(dir + "_bytes")}
			}
		}
	}
}

// anaInt reads an integer as JSON (json.Number) or as the engines write
// 64-bit integers (a string).
func anaInt(v any) (int64, bool) {
	switch x := v.(type) {
	case json.Number:
		i, err := x.Int64()
		return i, err == nil
	case string:
		i, err := strconv.ParseInt(x, 10, 64)
		return i, err == nil
	case float64:
		return int64(x), float64(int64(x)) == x
	}
	return 0, false
}

// npmTool returns node and the NODE_PATH holding pkg (a name@version), or
// skips saying how to install it.
func npmTool(t *testing.T, pkg string) (node, modules string) {
	t.Helper()
	name := pkg[:strings.LastIndex(pkg, "@")]
	modules = harValidatorDir()
	node, err := exec.LookPath("node")
	if err != nil || !fileExists(filepath.Join(modules, name, "package.json")) {
		t.Skipf("%s not installed: install Node.js and run `npm install --prefix %s %s` (or set WSCAP_NPM_DIR); .ci/run does it",
			name, filepath.Dir(modules), pkg)
	}
	return node, modules
}

// runNode runs a docs/analytics script; one JSON array of rows per line.
func runNode(t *testing.T, node, modules, script string, args ...string) [][]map[string]any {
	t.Helper()
	cmd := exec.Command(node, append([]string{script}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var results [][]map[string]any
	dec := json.NewDecoder(&stdout)
	dec.UseNumber()
	for dec.More() {
		var rows []map[string]any
		if err := dec.Decode(&rows); err != nil {
			t.Fatalf("node %s: output: %v", script, err)
		}
		results = append(results, rows)
	}
	return results
}

// col reads an integer column of a result row; a NULL is 0.
func col(t *testing.T, row map[string]any, name string) int64 {
	t.Helper()
	if row[name] == nil {
		return 0
	}
	v, ok := anaInt(row[name])
	if !ok {
		t.Fatalf("column %s = %v (%T) in %v: not an integer", name, row[name], row[name], row)
	}
	return v
}

// anaErrors collects mismatches and reports the first few.
type anaErrors struct {
	t    *testing.T
	n    int
	what string
}

func (e *anaErrors) add(format string, args ...any) {
	e.t.Helper()
	if e.n++; e.n <= 20 {
		e.t.Errorf(e.what+": "+format, args...)
	}
}

func (e *anaErrors) done() {
	e.t.Helper()
	if e.n > 20 {
		e.t.Errorf("%s: %d mismatches in all", e.what, e.n)
	}
}

// checkTypes compares the rows per (capture, type) an engine counted with
// what the files hold.
func (s *anaSet) checkTypes(t *testing.T, engine string, rows []map[string]any, capture func(map[string]any) *anaCapture) {
	t.Helper()
	got := map[*anaCapture]map[string]int64{}
	for _, r := range rows {
		c := capture(r)
		if c == nil {
			t.Fatalf("%s: row of an unknown capture: %v", engine, r)
		}
		if got[c] == nil {
			got[c] = map[string]int64{}
		}
		got[c][fmt.Sprint(r["type"])] += col(t, r, "n")
	}
	errs := &anaErrors{t: t, what: engine + ": rows per type"}
	var total int64
	for _, c := range s.caps {
		for typ, n := range c.types {
			total += n
			if got[c][typ] != n {
				errs.add("%s: %d %s rows, the file has %d", c.name, got[c][typ], typ, n)
			}
		}
		for typ, n := range got[c] {
			if c.types[typ] == 0 {
				errs.add("%s: %d %s rows, the file has none", c.name, n, typ)
			}
		}
	}
	errs.done()
	t.Logf("%s: %d captures, %d events, %d WebSockets", engine, len(s.caps), total, len(s.summary)/2)
}

// checkDirections compares per-direction totals an engine computed with
// Go's, and the events' with the summary's.
func (s *anaSet) checkDirections(t *testing.T, engine string, fromEvents, fromSummary map[anaKey]anaTotals) {
	t.Helper()
	errs := &anaErrors{t: t, what: engine}
	for k, want := range s.summary {
		got, ok := fromSummary[k]
		if !ok {
			errs.add("%v: no summary row", k)
		} else if got != want {
			errs.add("%v: summary %+v, the file's summary %+v", k, got, want)
		}
		ev := fromEvents[k]
		if ev != s.events[k] {
			errs.add("%v: events add up to %+v, in Go to %+v", k, ev, s.events[k])
		}
		if ev.frames != want.frames || ev.messages != want.messages || ev.frameBytes != want.frameBytes {
			errs.add("%v: the events have %d frames, %d messages, %d frame bytes; the summary says %d, %d, %d",
				k, ev.frames, ev.messages, ev.frameBytes, want.frames, want.messages, want.frameBytes)
		}
	}
	for k := range fromSummary {
		if _, ok := s.summary[k]; !ok {
			errs.add("%v: a summary row the files do not have", k)
		}
	}
	errs.done()
}

// docSQL returns the statements of the ```sql blocks in section (a "## "
// heading) of docs/analytics/README.md, but for those the test runs
// itself (SET VARIABLE, .read).
func docSQL(t *testing.T, section string) []string {
	t.Helper()
	b, err := os.ReadFile("docs/analytics/README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i := strings.Index(s, "\n## "+section+"\n")
	if i < 0 {
		t.Fatalf("docs/analytics/README.md: no section %q", section)
	}
	s = s[i+1:]
	if j := strings.Index(s[3:], "\n## "); j >= 0 {
		s = s[:j+3]
	}
	var stmts []string
	for _, m := range regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(s, -1) {
		text := regexp.MustCompile(`--[^\n]*`).ReplaceAllString(m[1], "")
		for _, st := range strings.Split(text, ";") {
			st = strings.TrimSpace(st)
			if st == "" || strings.HasPrefix(st, "SET VARIABLE") || strings.HasPrefix(st, ".read") {
				continue
			}
			stmts = append(stmts, st)
		}
	}
	if len(stmts) == 0 {
		t.Fatalf("docs/analytics/README.md: no SQL in section %q", section)
	}
	return stmts
}

// checkDocSQL checks the results of the README's statements: those that
// look for what is not ok find nothing, the others find rows.
func checkDocSQL(t *testing.T, engine string, stmts []string, res [][]map[string]any) {
	t.Helper()
	for i, st := range stmts {
		empty := strings.Contains(st, "NOT ok")
		if (len(res[i]) == 0) != empty {
			t.Errorf("%s: the README's %q gave %d rows", engine, st, len(res[i]))
		}
	}
}

// TestDuckDB loads every capture's JSON Lines into one DuckDB table with
// docs/analytics/duckdb.sql (read_json with union_by_name over all the
// files) and checks its views against the files and the summaries.
func TestDuckDB(t *testing.T) {
	node, modules := npmTool(t, duckdbNpm)
	set := anaInputs(t, t.TempDir(), anaRuns(t, true, true))
	byFile := map[string]*anaCapture{}
	var files []string
	for _, c := range set.caps {
		byFile[c.file] = c
		files = append(files, "'"+strings.ReplaceAll(c.file, "'", "''")+"'")
	}
	// Zeek's conn.log for the README's join: a record per flow.
	var zeek bytes.Buffer
	for i, id := range set.flows {
		fmt.Fprintf(&zeek, `{"ts":1700000000.5,"uid":"C%d","community_id":%q,"duration":1.5,"conn_state":"SF"}`+"\n", i, id)
	}
	connLog := filepath.Join(t.TempDir(), "conn.log")
	if err := os.WriteFile(connLog, zeek.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	docs := docSQL(t, "DuckDB")
	args := []string{"SET VARIABLE wscap_files = [" + strings.Join(files, ", ") + "]",
		"-f", "docs/analytics/duckdb.sql",
		`SELECT filename, type, count(*) AS n FROM wscap GROUP BY ALL`,
		`SELECT * FROM wscap_check`,
		`SELECT filename, max(epoch_ns(ts)) AS ts_max, sum(epoch_ns(ts) % 1000) AS ts_sub, typeof(any_value(ts)) AS ts_type FROM wscap GROUP BY ALL`}
	for _, st := range docs {
		args = append(args, strings.ReplaceAll(st, "'conn.log'", "'"+connLog+"'"))
	}
	res := runNode(t, node, modules, "docs/analytics/duckdb.js", args...)
	if len(res) != 5+len(docs) {
		t.Fatalf("duckdb.js printed %d results, want %d", len(res), 5+len(docs))
	}
	checkDocSQL(t, "DuckDB", docs, res[5:])
	capture := func(r map[string]any) *anaCapture { return byFile[fmt.Sprint(r["filename"])] }
	set.checkTypes(t, "DuckDB", res[2], capture)

	events, summary := map[anaKey]anaTotals{}, map[anaKey]anaTotals{}
	for _, r := range res[3] {
		k := anaKey{fmt.Sprint(r["filename"]), col(t, r, "conn"), col(t, r, "h2_stream"), fmt.Sprint(r["dir"])}
		summary[k] = anaTotals{frames: col(t, r, "summary_frames"), messages: col(t, r, "summary_messages"), frameBytes: col(t, r, "summary_bytes")}
		events[k] = anaTotals{frames: col(t, r, "frames"), messages: col(t, r, "messages"), frameBytes: col(t, r, "frame_bytes"), messageBytes: col(t, r, "message_bytes")}
		if r["ok"] != true {
			t.Errorf("DuckDB: wscap_check says not ok: %v", r)
		}
		if col(t, r, "end_events") != 1 || col(t, r, "end_frames") != summary[k].frames || col(t, r, "end_messages") != summary[k].messages {
			t.Errorf("DuckDB: the end event disagrees with the summary: %v", r)
		}
	}
	set.checkDirections(t, "DuckDB", events, summary)

	for _, r := range res[4] {
		c := capture(r)
		if c == nil {
			t.Fatalf("DuckDB: row of an unknown file: %v", r)
		}
		if r["ts_type"] != "TIMESTAMP_NS" || col(t, r, "ts_max") != c.tsMax || col(t, r, "ts_sub") != c.tsSub {
			t.Errorf("DuckDB: %s: ts %v, max %v sub-µs sum %v; want TIMESTAMP_NS, %d, %d", c.name, r["ts_type"], r["ts_max"], r["ts_sub"], c.tsMax, c.tsSub)
		}
	}
	checkParquetCommands(t, node, modules, set)
}

// checkParquetCommands runs the README's one-command conversions to Parquet
// (docs/analytics/README.md, "## Parquet") on the capture with the most
// events and reads the files back: the rows per type must be the file's.
func checkParquetCommands(t *testing.T, node, modules string, set *anaSet) {
	t.Helper()
	b, err := os.ReadFile("docs/analytics/README.md")
	if err != nil {
		t.Fatal(err)
	}
	cmds := regexp.MustCompile(`(?m)^duckdb -c "(COPY .*)"$`).FindAllStringSubmatch(string(b), -1)
	if len(cmds) != 2 {
		t.Fatalf("docs/analytics/README.md: %d duckdb -c \"COPY ...\" commands, want 2 (one file, a file per type)", len(cmds))
	}
	total := func(c *anaCapture) (n int64) {
		for _, k := range c.types {
			n += k
		}
		return n
	}
	big := set.caps[0]
	for _, c := range set.caps {
		if total(c) > total(big) {
			big = c
		}
	}
	dir := t.TempDir()
	q := func(p string) string { return "'" + strings.ReplaceAll(p, "'", "''") + "'" }
	r := strings.NewReplacer("'capture.jsonl'", q(big.file), "'capture.parquet'", q(filepath.Join(dir, "capture.parquet")), "'capture'", q(filepath.Join(dir, "capture")))
	res := runNode(t, node, modules, "docs/analytics/duckdb.js", r.Replace(cmds[0][1]), r.Replace(cmds[1][1]),
		"SELECT type, count(*) AS n FROM read_parquet("+q(filepath.Join(dir, "capture.parquet"))+") GROUP BY ALL",
		"SELECT type, count(*) AS n FROM read_parquet("+q(filepath.Join(dir, "capture", "*", "*.parquet"))+", hive_partitioning = true) GROUP BY ALL")
	for i, what := range []string{"one file", "a file per type"} {
		got := map[string]int64{}
		for _, row := range res[2+i] {
			got[fmt.Sprint(row["type"])] = col(t, row, "n")
		}
		if fmt.Sprint(got) != fmt.Sprint(big.types) {
			t.Errorf("Parquet (%s) of %s: rows per type %v, the file has %v", what, big.name, got, big.types)
		}
	}
}

// clickhouseInsert is the INSERT the README's recipe runs
// (docs/analytics/clickhouse.sql's header), for table, refusing unknown
// fields so that a field without a column fails the load.
func clickhouseInsert(t *testing.T, table string) string {
	t.Helper()
	b, err := os.ReadFile("docs/analytics/clickhouse.sql")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`clickhouse-client --query "(INSERT INTO wscap\.events [^"]*FORMAT JSONEachRow)"`).FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/analytics/clickhouse.sql: no clickhouse-client --query \"INSERT INTO wscap.events ... FORMAT JSONEachRow\" line")
	}
	q := string(m[1])
	for _, s := range []string{"date_time_input_format = 'best_effort'", "input_format_skip_unknown_fields = 1"} {
		if !strings.Contains(q, s) {
			t.Fatalf("the INSERT of clickhouse.sql lacks %s: %s", s, q)
		}
	}
	q = strings.Replace(q, "input_format_skip_unknown_fields = 1", "input_format_skip_unknown_fields = 0", 1)
	return strings.Replace(q, "wscap.events", table, 1)
}

// TestClickHouse creates docs/analytics/clickhouse.sql's table in chDB
// (ClickHouse in-process), loads each capture into a copy of it with the
// README's INSERT ... FORMAT JSONEachRow (no unknown field allowed), and
// checks the tables through merge() against the files and the summaries.
func TestClickHouse(t *testing.T) {
	node, modules := npmTool(t, chdbNpm)
	set := anaInputs(t, t.TempDir(), anaRuns(t, true, true))
	args := []string{"-f", "docs/analytics/clickhouse.sql"}
	byTable := map[string]*anaCapture{}
	for i, c := range set.caps {
		table := fmt.Sprintf("c%03d", i)
		byTable[table] = c
		args = append(args, "CREATE TABLE wscap."+table+" AS wscap.events", "-i", clickhouseInsert(t, "wscap."+table), c.file)
	}
	const all = `merge('wscap', '^c[0-9]+$')`
	args = append(args,
		`SELECT _table AS t, type, count() AS n FROM `+all+` GROUP BY t, type`,
		"SELECT _table AS t, conn, h2_stream, `from` AS dir, countIf(type = 'frame') AS frames, "+
			"sumIf(header_len + seen + ifNull(lost_bytes, 0), type = 'frame') AS frame_bytes, "+
			"countIf(type = 'message') AS messages, sumIf(len, type = 'message') AS message_bytes "+
			"FROM "+all+" WHERE type IN ('frame', 'message') GROUP BY t, conn, h2_stream, dir",
		`SELECT _table AS t, conn, h2_stream, client_frames, client_messages, client_bytes, server_frames, server_messages, server_bytes FROM `+all+` WHERE type = 'summary'`,
		`SELECT _table AS t, max(toUnixTimestamp64Nano(ts)) AS ts_max, sum(toUnixTimestamp64Nano(ts) % 1000) AS ts_sub, `+
			`countIf(ts_unix IS NOT NULL AND toUnixTimestamp64Nano(ts) != toInt64(ts_unix * 1000000000)) AS ts_unix_off, `+
			`countIf(type = 'message' AND app_proto IS NOT NULL) AS apps FROM `+all+` GROUP BY t`)
	docs := docSQL(t, "ClickHouse")
	for _, st := range docs {
		args = append(args, strings.ReplaceAll(st, "'^cap'", "'^c[0-9]+$'"))
	}
	res := runNode(t, node, modules, "docs/analytics/chdb.js", args...)
	if want := 1 + 2*len(set.caps) + 4 + len(docs); len(res) != want {
		t.Fatalf("chdb.js printed %d results, want %d", len(res), want)
	}
	checkDocSQL(t, "ClickHouse", docs, res[len(res)-len(docs):])
	res = res[len(res)-len(docs)-4 : len(res)-len(docs)]
	capture := func(r map[string]any) *anaCapture { return byTable[fmt.Sprint(r["t"])] }
	set.checkTypes(t, "ClickHouse", res[0], capture)

	events, summary := map[anaKey]anaTotals{}, map[anaKey]anaTotals{}
	for _, r := range res[1] {
		c := capture(r)
		if c == nil {
			t.Fatalf("ClickHouse: row of an unknown table: %v", r)
		}
		k := anaKey{c.file, col(t, r, "conn"), col(t, r, "h2_stream"), fmt.Sprint(r["dir"])}
		events[k] = anaTotals{frames: col(t, r, "frames"), messages: col(t, r, "messages"), frameBytes: col(t, r, "frame_bytes"), messageBytes: col(t, r, "message_bytes")}
	}
	for _, r := range res[2] {
		c := capture(r)
		if c == nil {
			t.Fatalf("ClickHouse: row of an unknown table: %v", r)
		}
		for _, dir := range []string{"client", "server"} {
			k := anaKey{c.file, col(t, r, "conn"), col(t, r, "h2_stream"), dir}
			summary[k] = anaTotals{frames: col(t, r, dir+"_frames"), messages: col(t, r, dir+"_messages"), frameBytes: col(t, r, dir+"_bytes")}
		}
	}
	set.checkDirections(t, "ClickHouse", events, summary)

	for _, r := range res[3] {
		c := capture(r)
		if c == nil {
			t.Fatalf("ClickHouse: row of an unknown table: %v", r)
		}
		if col(t, r, "ts_max") != c.tsMax || col(t, r, "ts_sub") != c.tsSub || col(t, r, "ts_unix_off") != 0 || col(t, r, "apps") != c.apps {
			t.Errorf("ClickHouse: %s: %v; want ts_max %d, ts_sub %d, ts_unix_off 0, apps %d", c.name, r, c.tsMax, c.tsSub, c.apps)
		}
	}
}

// anaDocFields are the field names the README's "JSON Lines" tables (and
// the shared design's json-lines.md, when present) document; nested ones
// as `app.proto`.
func anaDocFields(t *testing.T) map[string]bool {
	t.Helper()
	fields := map[string]bool{}
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	start := strings.Index(s, "\n## JSON Lines\n")
	if start < 0 {
		t.Fatal(`README.md has no "## JSON Lines" section`)
	}
	s = s[start+1:]
	if end := strings.Index(s[3:], "\n## "); end >= 0 {
		s = s[:end+3]
	}
	docs := []string{s}
	if b, err := os.ReadFile(filepath.Join("..", "shared", "design", "json-lines.md")); err == nil {
		docs = append(docs, string(b))
	}
	name := regexp.MustCompile("`([a-z0-9_.]+)`")
	for _, doc := range docs {
		for _, line := range strings.Split(doc, "\n") {
			if !strings.HasPrefix(line, "| `") {
				continue
			}
			cell := strings.SplitN(line[1:], "|", 2)[0]
			for _, m := range name.FindAllStringSubmatch(cell, -1) {
				fields[m[1]] = true
			}
		}
	}
	for _, f := range []string{"type", "conn", "ts", "pkt", "from", "len", "app.proto", "community_id", "client_bytes"} {
		if !fields[f] {
			t.Fatalf("the JSON Lines tables lack %s: the README's tables moved?", f)
		}
	}
	return fields
}

// anaECSRenames are the fields the Vector remap moves out of `wscap` into
// ECS fields (the client is the source).
var anaECSRenames = map[string][]string{
	"ts":           {"@timestamp"},
	"type":         {"event.action"},
	"client":       {"source.ip", "source.port"},
	"server":       {"destination.ip", "destination.port"},
	"community_id": {"network.community_id"},
}

// TestAnalyticsRecipes: the files docs/analytics ships cover every field
// the README documents and every field wscap writes for testdata, and
// agree with each other.
func TestAnalyticsRecipes(t *testing.T) {
	fields := anaDocFields(t)
	doc := map[string]bool{}
	for f := range fields {
		doc[f] = true
	}
	seen := anaInputs(t, t.TempDir(), anaRuns(t, false, false)).fields
	for f := range seen {
		fields[f] = true
	}
	var names []string
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	top := func(f string) string { return strings.SplitN(f, ".", 2)[0] }

	t.Run("clickhouse", func(t *testing.T) {
		b, err := os.ReadFile("docs/analytics/clickhouse.sql")
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		i, j := strings.Index(s, "CREATE TABLE IF NOT EXISTS wscap.events"), strings.Index(s, "ENGINE = MergeTree")
		if i < 0 || j < i {
			t.Fatal("no CREATE TABLE IF NOT EXISTS wscap.events (...) ENGINE = MergeTree")
		}
		cols := map[string]string{}
		re := regexp.MustCompile("(?m)^\\s*`([a-z0-9_]+)` (.*?),?\\s*(--.*)?$")
		for _, m := range re.FindAllStringSubmatch(s[i:j], -1) {
			if _, dup := cols[m[1]]; dup {
				t.Errorf("column %s twice", m[1])
			}
			cols[m[1]] = m[2]
		}
		for _, f := range names {
			if cols[top(f)] == "" {
				t.Errorf("no column for %s", f)
			}
		}
		for c, typ := range cols {
			if !fields[c] && !strings.Contains(typ, "MATERIALIZED") {
				t.Errorf("column %s is no field wscap documents or writes", c)
			}
		}
		for c, want := range map[string]string{"ts": "DateTime64(9, 'UTC')", "first_ts": "Nullable(DateTime64(9, 'UTC'))",
			"type": "LowCardinality(String)", "from": "LowCardinality(Nullable(String))", "opcode": "LowCardinality(Nullable(String))",
			"len": "Nullable(UInt64)", "conn": "UInt64", "pkt": "UInt64"} {
			if cols[c] != want {
				t.Errorf("column %s is %q, want %q", c, cols[c], want)
			}
		}
		if !regexp.MustCompile(`ORDER BY \(conn, [a-z0-9_, ]*pkt, seq\)`).MatchString(s) {
			t.Error("the table is not ordered by (conn, ..., pkt, seq)")
		}
	})

	t.Run("elasticsearch", func(t *testing.T) {
		b, err := os.ReadFile("docs/analytics/elasticsearch-template.json")
		if err != nil {
			t.Fatal(err)
		}
		var tmpl struct {
			IndexPatterns []string `json:"index_patterns"`
			Template      struct {
				Mappings map[string]any `json:"mappings"`
			} `json:"template"`
		}
		if err := json.Unmarshal(b, &tmpl); err != nil {
			t.Fatalf("not JSON: %v", err)
		}
		paths := map[string]map[string]any{}
		var walk func(prefix string, m map[string]any)
		walk = func(prefix string, m map[string]any) {
			props, _ := m["properties"].(map[string]any)
			for k, v := range props {
				sub, ok := v.(map[string]any)
				if !ok {
					t.Fatalf("%s%s: not an object", prefix, k)
				}
				paths[prefix+k] = sub
				walk(prefix+k+".", sub)
			}
		}
		walk("", tmpl.Template.Mappings)
		if len(tmpl.IndexPatterns) == 0 || len(paths) == 0 {
			t.Fatal("no index_patterns or no mappings")
		}
		for path, typ := range map[string]string{"@timestamp": "date_nanos", "source.ip": "ip", "source.port": "long",
			"destination.ip": "ip", "destination.port": "long", "network.community_id": "keyword", "network.transport": "keyword",
			"network.protocol": "keyword", "event.kind": "keyword", "event.category": "keyword", "event.type": "keyword",
			"event.action": "keyword", "wscap.len": "unsigned_long", "wscap.data": "binary"} {
			if got := fmt.Sprint(paths[path]["type"]); got != typ {
				t.Errorf("%s is mapped as %s, want %s", path, got, typ)
			}
		}
		// covered: mapped under wscap (or inside a wscap object that
		// is kept unparsed), or moved to ECS fields that are mapped.
		covered := func(f string) bool {
			if to, ok := anaECSRenames[f]; ok {
				for _, p := range to {
					if paths[p] == nil {
						return false
					}
				}
				return true
			}
			p := "wscap"
			for _, part := range strings.Split(f, ".") {
				p += "." + part
				m := paths[p]
				if m == nil {
					return false
				}
				if m["enabled"] == false {
					return true
				}
			}
			return true
		}
		for _, f := range names {
			if !covered(f) {
				t.Errorf("no mapping covers %s", f)
			}
		}
		for p := range paths {
			if f, ok := strings.CutPrefix(p, "wscap."); ok && !strings.Contains(f, ".") && !fields[f] {
				t.Errorf("%s maps no field wscap documents or writes", p)
			}
		}

		// The Vector remap writes what the template maps.
		b, err = os.ReadFile("docs/analytics/vector.yaml")
		if err != nil {
			t.Fatal(err)
		}
		vrl := string(b)
		if i := strings.Index(vrl, "source: |\n"); i >= 0 {
			vrl = vrl[i:]
		} else {
			t.Fatal("vector.yaml: no remap source")
		}
		assigned := map[string]bool{}
		for _, m := range regexp.MustCompile(`(?m)^\s*\.((?:"@timestamp"|[a-z_.]+))\s*=`).FindAllStringSubmatch(vrl, -1) {
			p := strings.Trim(m[1], `"`)
			assigned[p] = true
			if p != "wscap" && paths[p] == nil {
				t.Errorf("vector.yaml sets .%s, which the template does not map", p)
			}
		}
		for f, to := range anaECSRenames {
			for _, p := range to {
				if !assigned[p] {
					t.Errorf("vector.yaml does not set .%s (from %s)", p, f)
				}
			}
			if !strings.Contains(vrl, "del(.wscap."+f+")") {
				t.Errorf("vector.yaml does not take %s out of .wscap", f)
			}
		}
		for _, want := range []string{`.network.protocol = "websocket"`, `.network.transport = "tcp"`, `.event.action = ev.type`, `."@timestamp" = ev.ts`, `.wscap = ev`} {
			if !strings.Contains(vrl, want) {
				t.Errorf("vector.yaml lacks %s", want)
			}
		}
		if strings.Count(vrl, "{") != strings.Count(vrl, "}") {
			t.Error("vector.yaml: unbalanced braces in the remap")
		}
	})

	t.Run("spark", func(t *testing.T) {
		b, err := os.ReadFile("docs/analytics/spark_load.py")
		if err != nil {
			t.Fatal(err)
		}
		m := regexp.MustCompile(`(?s)SCHEMA = """(.*?)"""`).FindSubmatch(b)
		if m == nil {
			t.Fatal("spark_load.py: no SCHEMA")
		}
		cols := map[string]bool{}
		depth, start := 0, 0
		ddl := string(m[1]) + ","
		for i, r := range ddl {
			switch r {
			case '<', '(':
				depth++
			case '>', ')':
				depth--
			case ',':
				if depth == 0 {
					name := strings.Trim(strings.Fields(ddl[start:i])[0], "`")
					cols[name] = true
					start = i + 1
				}
			}
		}
		for _, f := range names {
			if !cols[top(f)] {
				t.Errorf("SCHEMA has no column for %s", f)
			}
		}
		for c := range cols {
			if !fields[c] {
				t.Errorf("SCHEMA column %s is no field wscap documents or writes", c)
			}
		}
	})
	t.Logf("%d documented fields, %d written by wscap for testdata", len(doc), len(seen))
}
