package worker

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// ReadAudit parses an audit log written through Options.AuditLog.
func ReadAudit(r io.Reader) ([]AuditRecord, error) {
	var out []AuditRecord
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		if len(sc.Bytes()) == 0 {
			continue
		}
		var rec AuditRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			return nil, fmt.Errorf("audit line %d: %w", line, err)
		}
		out = append(out, rec)
	}
	return out, sc.Err()
}

// Overlap is two ownership intervals of one partition that intersect.
type Overlap struct {
	Partition string
	A, B      Interval
}

// Interval is one continuous ownership of a partition by one process.
type Interval struct {
	Worker, Nonce string
	From, To      time.Time // To is the zero time if never released
}

// CheckOverlaps turns acquire/release records from any number of processes
// into ownership intervals and returns every pair that overlaps. An
// interval never released ends at ends[nonce] if given (the time a killed
// process died), else it is open-ended.
func CheckOverlaps(records []AuditRecord, ends map[string]time.Time) []Overlap {
	type key struct{ part, nonce string }
	open := map[key]AuditRecord{}
	byPart := map[string][]Interval{}
	sorted := slices.Clone(records)
	slices.SortStableFunc(sorted, func(a, b AuditRecord) int { return a.Time.Compare(b.Time) })
	for _, r := range sorted {
		k := key{r.Partition, r.Nonce}
		switch r.Event {
		case "acquire":
			open[k] = r
		case "release":
			if a, ok := open[k]; ok {
				byPart[r.Partition] = append(byPart[r.Partition], Interval{a.Worker, a.Nonce, a.Time, r.Time})
				delete(open, k)
			}
		}
	}
	for k, a := range open {
		byPart[k.part] = append(byPart[k.part], Interval{a.Worker, a.Nonce, a.Time, ends[k.nonce]})
	}
	var out []Overlap
	for p, ivs := range byPart {
		for i := range ivs {
			for j := i + 1; j < len(ivs); j++ {
				if overlaps(ivs[i], ivs[j]) {
					out = append(out, Overlap{Partition: p, A: ivs[i], B: ivs[j]})
				}
			}
		}
	}
	return out
}

func overlaps(a, b Interval) bool {
	// [From, To) intervals; a zero To means still open.
	aEndsBeforeB := !a.To.IsZero() && !a.To.After(b.From)
	bEndsBeforeA := !b.To.IsZero() && !b.To.After(a.From)
	return !aEndsBeforeB && !bEndsBeforeA
}
