package hostile

import (
	"fmt"
	"time"
)

// Case is one hostile input as bench/hostile measures it: a capture and
// the wscap flags to read it with.
type Case struct {
	Name string
	Doc  string // one line: the attack and what the issue measured
	// File names the capture; cases that read one capture with different
	// flags share it (it is generated once).
	File string
	Gen  Generator
	// Args are the wscap flags besides -r and -j. Cases without --json
	// measure the text timeline.
	Args []string
	// Broken marks a capture damaged on purpose: wscap must print what
	// came before the damage and stop with an error (exit status 1).
	Broken bool
}

// scaled returns n times scale, at least lo.
func scaled(n int, scale float64, lo int) int {
	return max(lo, int(float64(n)*scale))
}

// Cases returns every attack class of issue 11 at scale times the size
// the issue measured (scale 1: a million SYN flows, a 4 GB claim...).
// Counts never go below a few, so that a tiny scale still exercises each
// class; the handshake cases (Cookie, tab) and the 1,000 s of capture time
// the spread connections take do not scale.
func Cases(scale float64) []Case {
	n := func(v int, lo int) int { return scaled(v, scale, lo) }
	claim := func(v int64) uint32 { return uint32(max(4<<10, min(float64(v)*scale, 1<<32-1))) }
	// The span does not scale: connections older than the idle timeout
	// (2 minutes) must be freed whatever their number.
	const span = 1000 * time.Second
	json := []string{"--json"}
	var cs []Case
	add := func(c Case) {
		if c.File == "" {
			c.File = c.Name + ".pcapng"
			if g, ok := c.Gen.(EPBClaim); ok && g.Gzip {
				c.File += ".gz"
			}
			if g, ok := c.Gen.(InflateBomb); ok && g.Gzip {
				c.File += ".gz"
			}
		}
		cs = append(cs, c)
	}
	for _, v := range []struct {
		name string
		n    int64
		gz   bool
	}{{"epb-claim-200M", 200e6, false}, {"epb-claim-1G-gz", 1e9, true}, {"epb-claim-4G-gz", 1<<32 - 1, true}} {
		g := EPBClaim{Claim: claim(v.n), Gzip: v.gz}
		add(Case{Name: v.name, Gen: g, Args: json, Broken: true,
			Doc: fmt.Sprintf("pcapng EPB claiming %d captured bytes, followed by them (issue: 200 MB cost 527 MiB, 1 GB in .gz 4.1 GB, 4 GB out of memory)", g.Claim)})
	}
	add(Case{Name: "syn-100k", Gen: SYNFlood{Conns: n(100_000, 10), Seed: 1}, Args: json,
		Doc: "SYN-only flows (issue: 100,000 cost 301 MiB)"})
	add(Case{Name: "syn-1M", Gen: SYNFlood{Conns: n(1_000_000, 10), Seed: 2}, Args: json,
		Doc: "SYN-only flows (issue: 1,000,000 cost 3.1 GB)"})
	add(Case{Name: "open-message-100k", Gen: OpenMessages{Conns: n(100_000, 10), Both: true, Seed: 3}, Args: json,
		Doc: "WebSocket connections each leaving a fragmented message open both ways (issue: 100,000 cost 2.5 GB)"})
	add(Case{Name: "open-message-spread-100k", Gen: OpenMessages{Conns: n(100_000, 10), Both: true, Seed: 4, Spread: span}, Args: json,
		Doc: fmt.Sprintf("the same, spread over %s of capture time, never FIN or RST (issue: 100,000 over 1,000 s cost 2.1 GB)", span)})
	add(Case{Name: "deflate-30k", Gen: DeflateTakeover{Conns: n(30_000, 5), Seed: 5}, Args: json,
		Doc: "permessage-deflate connections with context takeover, 4 messages of 8 KiB each way, left open (issue: 30,000 cost 5 GB)"})
	bomb := InflateBomb{Messages: n(10_000, 2), Gzip: true, Seed: 6}
	bombFile := "inflate-bomb.pcapng.gz"
	add(Case{Name: "inflate-bomb-x", File: bombFile, Gen: bomb, Args: []string{"-x"},
		Doc: "small compressed messages that inflate to 1 MiB each, timeline with hex dumps (issue: 10,000 took 33 MiB with -j 1, 2.8 GB with -j 2)"})
	add(Case{Name: "inflate-bomb-json", File: bombFile, Gen: bomb, Args: json,
		Doc: "the same as JSON Lines (issue: 779 MiB with -j 2)"})
	add(Case{Name: "empty-frames-20M", Gen: EmptyFrames{Frames: n(20_000_000, 100), Seed: 7},
		Doc: "empty text frames on one connection, timeline (issue: 20 million took 18 MiB with -j 1, 233 MiB with -j 2)"})
	add(Case{Name: "large-message-100M", Gen: LargeMessage{Size: int64(n(100_000_000, 10_000)), Seed: 8}, Args: []string{"--max-payload", "1G"},
		Doc: "one text message of 100 MB, timeline (issue: 1.2 GB, 12x the message)"})
	add(Case{Name: "holes-64x3000", Gen: HoleThenBytes{Conns: n(64, 2), Bytes: 3000, Seed: 9}, Args: json,
		Doc: "connections with a hole in a frame's payload followed by 3000 one-byte segments (issue: -j 1 and -j 2 disagree)"})
	add(Case{Name: "cookie-17k", Gen: BigCookie{Size: 17 << 10, Seed: 10}, Args: json,
		Doc: "a 17 KiB Cookie header in the Upgrade request (issue: the WebSocket is lost)"})
	add(Case{Name: "tab-in-path", Gen: TabInPath{Seed: 11}, Args: json,
		Doc: "a tab in the request path (issue: client direction silently undecoded, no anomaly)"})
	add(Case{Name: "interfaces-1M", Gen: ManyInterfaces{Interfaces: n(1_000_000, 10), Seed: 12}, Args: json,
		Doc: "pcapng with a million Interface Description Blocks (issue: 739 MiB)"})
	return cs
}
