// Command truthcheck reads wscap --json output on stdin and checks every
// message against the wsgen truth file of the capture named as argument.
// It exits 1 when a message differs.
package main

import (
	"bufio"
	"fmt"
	"os"

	"github.com/wscap/wscap/internal/truth"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: wscap -r F --json | truthcheck F")
		os.Exit(2)
	}
	res, err := truth.Check(os.Args[1], bufio.NewReaderSize(os.Stdin, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "truthcheck:", err)
		os.Exit(1)
	}
	fmt.Println(res)
	for _, m := range res.Mismatches {
		fmt.Println("  ", m)
	}
	if res.Matched != res.Total || res.Extra != 0 {
		os.Exit(1)
	}
}
