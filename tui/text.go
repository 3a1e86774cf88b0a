package tui

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// TextHistoryRows is how many rebalances RenderText lists.
const TextHistoryRows = 10

// RenderText writes s as plain text for a pipe or a file: the cluster
// summary (leader, calculator state, breaker), the workers table and the
// last rebalances, newest first. Times are RFC 3339 in loc.
func RenderText(out io.Writer, s *Snapshot, now time.Time, loc *time.Location) error {
	if loc == nil {
		loc = time.Local
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "-"
		}
		return t.In(loc).Format(time.RFC3339)
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	row := func(cols ...string) { fmt.Fprintln(tw, strings.Join(cols, "\t")) }
	conn := s.Conn.State.String()
	if s.Stale() {
		conn += "; data as of " + ts(s.FreshAt)
	}
	row("cluster", s.Cluster)
	row("nats", s.URL+" ("+conn+")")
	if l := s.Leader; l != nil {
		row("leader", fmt.Sprintf("%s (epoch %d, since %s)", l.ID, l.Epoch, ts(l.Since)))
	} else {
		row("leader", "none")
	}
	alive, present := s.AliveCount(now)
	row("assignment", fmt.Sprintf("version %d, epoch %d, %d partitions, %d of %d workers alive",
		s.Version, s.Epoch, len(s.Partitions), alive, present))
	if c := s.Calculator; c != nil {
		st := fmt.Sprintf("%s since %s (%s)", c.State, ts(c.Since), dur(now.Sub(c.Since)))
		if c.Pending != "" {
			st += ", pending " + c.Pending
		}
		row("state", st)
		br := fmt.Sprintf("%s (failures %d, opens %d", c.Breaker.State, c.Breaker.Failures, c.Breaker.Opens)
		if !c.Breaker.NextRetry.IsZero() {
			br += ", next retry " + ts(c.Breaker.NextRetry)
		}
		row("breaker", br+")")
		le := c.LastError
		if le == "" {
			le = "none"
		}
		row("last error", le)
		row("status from", fmt.Sprintf("%s at %s", c.Leader, ts(c.Updated)))
	} else {
		row("state", "unknown (no calculator status published)")
		row("breaker", "unknown")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	row("WORKER", "HOST", "STATUS", "HB_AGE", "PARTITIONS", "WEIGHT%", "APPLIED", "LEADER")
	for i := range s.Workers {
		w := &s.Workers[i]
		share := 0.0
		if s.TotalWeight > 0 {
			share = w.Weight / s.TotalWeight * 100
		}
		leader := ""
		if s.IsLeader(w.ID) {
			leader = "*"
		}
		row(w.ID, orDash(w.Host), w.StatusAt(now).String(), age(now, w.LastHeartbeat), strconv.Itoa(w.Partitions),
			strconv.FormatFloat(share, 'f', 1, 64), strconv.FormatUint(w.Applied, 10), leader)
	}
	if len(s.Workers) == 0 {
		row("(none)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\n")
	tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	row("TIME", "TRIGGER", "REASON", "DURATION", "MOVED", "VERSION", "RESULT")
	n := len(s.History)
	for i := n - 1; i >= 0 && i >= n-TextHistoryRows; i-- {
		r := &s.History[i]
		reason := r.Reason
		if r.Error != "" {
			reason += " — " + r.Error
		}
		row(ts(r.At), r.Trigger, orDash(reason), millis(r.Duration), strconv.Itoa(r.Moved), strconv.FormatUint(r.Version, 10), r.Result)
	}
	if n == 0 {
		row("(no rebalance yet)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(out, b.String())
	return err
}
