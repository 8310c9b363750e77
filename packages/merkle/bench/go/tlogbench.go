// Command tlogbench runs the merkle bench's workload (../merkle.bench.ts) on Go's
// golang.org/x/mod/sumdb/tlog, so that the bench can print both sides of each ratio from one run
// on one machine. It prints one JSON line: the seconds of each phase, the root (hex) and the
// number of hashes in all proofs, which the bench compares with its own to be sure both sides did
// the same work.
//
// The bench builds it in GOPATH mode against Debian's golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o tlogbench tlogbench.go
//	./tlogbench -n 1000000 -proofs 100000 -phases 1,2,3
//
// Phase 1 always runs (the proofs need its tree); -phases says which phases to time and report,
// so that the bench can run each Go phase just before its own.
//
// The entries and the proof indexes and sizes below must stay those of merkle.bench.ts.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// entrySize is the size of every entry: 4 bytes of big-endian index, then 196 bytes of index & 0xff.
const entrySize = 200

type result struct {
	Go                string  `json:"go"`
	N                 int64   `json:"n"`
	Proofs            int     `json:"proofs"`
	Append            float64 `json:"append"`
	Inclusion         float64 `json:"inclusion,omitempty"`
	Consistency       float64 `json:"consistency,omitempty"`
	Root              string  `json:"root"`
	InclusionHashes   int     `json:"inclusionHashes,omitempty"`
	ConsistencyHashes int     `json:"consistencyHashes,omitempty"`
}

func main() {
	n := flag.Int64("n", 1_000_000, "leaves to append")
	proofs := flag.Int("proofs", 100_000, "inclusion and consistency proofs to make and check")
	phases := flag.String("phases", "1,2,3", "phases to run: 1 (append), 2 (inclusion), 3 (consistency)")
	flag.Parse()
	if *n < 1 || *proofs < 0 {
		fail(fmt.Errorf("need n >= 1 and proofs >= 0, got n=%d proofs=%d", *n, *proofs))
	}
	run := map[string]bool{}
	for _, p := range strings.Split(*phases, ",") {
		if p != "1" && p != "2" && p != "3" {
			fail(fmt.Errorf("-phases takes 1, 2 and 3, got %q", *phases))
		}
		run[p] = true
	}

	// The entries, made before timing starts (as the TypeScript bench does).
	data := make([]byte, *n*entrySize)
	for i := int64(0); i < *n; i++ {
		e := data[i*entrySize : (i+1)*entrySize]
		binary.BigEndian.PutUint32(e, uint32(i))
		for j := 4; j < entrySize; j++ {
			e[j] = byte(i)
		}
	}

	// The in-memory hash store of Go's own tests: every stored hash at tlog.StoredHashIndex.
	hashes := make([]tlog.Hash, 0, tlog.StoredHashCount(*n))
	reader := tlog.HashReaderFunc(func(indexes []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(indexes))
		for i, x := range indexes {
			out[i] = hashes[x]
		}
		return out, nil
	})
	r := result{Go: runtime.Version(), N: *n, Proofs: *proofs}

	// Phase 1: append every entry, then the root.
	t0 := time.Now()
	for i := int64(0); i < *n; i++ {
		h, err := tlog.StoredHashes(i, data[i*entrySize:(i+1)*entrySize], reader)
		if err != nil {
			fail(err)
		}
		hashes = append(hashes, h...)
	}
	root, err := tlog.TreeHash(*n, reader)
	if err != nil {
		fail(err)
	}
	r.Append = time.Since(t0).Seconds()
	r.Root = hex.EncodeToString(root[:])

	if run["2"] {
		r.Inclusion, r.InclusionHashes = inclusionProofs(*n, *proofs, root, hashes, reader)
	}
	if run["3"] {
		r.Consistency, r.ConsistencyHashes = consistencyProofs(*n, *proofs, root, reader)
	}
	if err := json.NewEncoder(os.Stdout).Encode(r); err != nil {
		fail(err)
	}
}

// inclusionProofs is phase 2: inclusion proofs at size n, each made and checked. It returns the
// seconds taken and the number of proof hashes.
func inclusionProofs(n int64, proofs int, root tlog.Hash, hashes []tlog.Hash, reader tlog.HashReader) (float64, int) {
	count := 0
	t0 := time.Now()
	for i := 0; i < proofs; i++ {
		index := int64(i) * 7919 % n
		p, err := tlog.ProveRecord(n, index, reader)
		if err != nil {
			fail(err)
		}
		count += len(p)
		if err := tlog.CheckRecord(p, n, root, index, hashes[tlog.StoredHashIndex(0, index)]); err != nil {
			fail(err)
		}
	}
	return time.Since(t0).Seconds(), count
}

// consistencyProofs is phase 3: consistency proofs from older sizes to n, each made and checked.
// The older roots are what a verifier already holds, so they are computed before timing starts.
// It returns the seconds taken and the number of proof hashes.
func consistencyProofs(n int64, proofs int, root tlog.Hash, reader tlog.HashReader) (float64, int) {
	olds := make([]int64, proofs)
	oldRoots := make([]tlog.Hash, proofs)
	for i := range olds {
		var err error
		olds[i] = int64(i)*7919%n + 1
		if oldRoots[i], err = tlog.TreeHash(olds[i], reader); err != nil {
			fail(err)
		}
	}
	count := 0
	t0 := time.Now()
	for i, old := range olds {
		p, err := tlog.ProveTree(n, old, reader)
		if err != nil {
			fail(err)
		}
		count += len(p)
		if err := tlog.CheckTree(p, n, root, old, oldRoots[i]); err != nil {
			fail(err)
		}
	}
	return time.Since(t0).Seconds(), count
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "tlogbench:", err)
	os.Exit(1)
}
