package cmd

import (
	"context"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/natstest"
	"github.com/parti-dev/parti/worker"
)

type traceLog struct {
	mu   sync.Mutex
	subs map[string]map[string]bool
}

var traceRe = regexp.MustCompile(`"([^"]*)" - <<- \[(H?PUB|SUB) (\S+)`)

func (l *traceLog) rec(format string, v ...any) {
	s := fmt.Sprintf(format, v...)
	m := traceRe.FindStringSubmatch(s)
	if m == nil {
		return
	}
	name := m[1]
	if i := strings.LastIndex(name, ":"); i >= 0 {
		name = name[i+1:]
	}
	subj := regexp.MustCompile(`_INBOX\.[A-Za-z0-9]+(\.[A-Za-z0-9*]+)*`).ReplaceAllString(m[3], "_INBOX.x")
	subj = regexp.MustCompile(`\$JS\.FC\.\S+`).ReplaceAllString(subj, "$$JS.FC.x")
	subj = regexp.MustCompile(`(CONSUMER\.CREATE\.[^.]+)\.[^.]+`).ReplaceAllString(subj, "$1.NAME")
	subj = regexp.MustCompile(`(CONSUMER\.DELETE\.[^.]+)\.[^.]+`).ReplaceAllString(subj, "$1.NAME")
	subj = regexp.MustCompile(`(\$KV\.[^.]+)\..*`).ReplaceAllString(subj, "$1.>")
	subj = regexp.MustCompile(`(DIRECT\.GET\.[^.]+)\..*`).ReplaceAllString(subj, "$1.>")
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.subs[name] == nil {
		l.subs[name] = map[string]bool{}
	}
	l.subs[name][m[2][len(m[2])-3:]+" "+subj] = true
}
func (l *traceLog) Noticef(f string, v ...any) {}
func (l *traceLog) Warnf(f string, v ...any)   {}
func (l *traceLog) Fatalf(f string, v ...any)  {}
func (l *traceLog) Errorf(f string, v ...any)  {}
func (l *traceLog) Debugf(f string, v ...any)  {}
func (l *traceLog) Tracef(f string, v ...any)  { l.rec(f, v...) }

func TestZZExplore(t *testing.T) {
	tl := &traceLog{subs: map[string]map[string]bool{}}
	n := natstest.RunServerWithOptions(t, natstest.ServerOptions{Logger: tl, Trace: true,
		Users: []*server.User{{Username: "w", Password: "w"}, {Username: "op", Password: "op"}}})
	parts := make([]model.Partition, 10)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%02d", i), Weight: 1}
	}
	var cancels []func()
	var dones []chan error
	for i := range 2 {
		nc := natstest.Connect(t, n.URL(), nats.UserInfo("w", "w"), nats.Name(fmt.Sprintf("worker%d", i)))
		js, _ := jetstream.New(nc)
		lay, _ := layout.New(layout.Options{Cluster: "ex", WorkerTTL: time.Second, LeaderTTL: time.Second})
		b, err := lay.Ensure(t.Context(), js)
		require.NoError(t, err)
		w, err := worker.New(worker.Options{Conn: nc, Buckets: b, WorkerID: fmt.Sprintf("w%d", i), HeartbeatInterval: 300 * time.Millisecond,
			Partitions: parts, LeaveTimeout: 3 * time.Second,
			Calculator: calculator.Config{ColdStartWindow: 200 * time.Millisecond, ScaleWindow: 100 * time.Millisecond, Cooldown: 100 * time.Millisecond}})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- w.Run(ctx) }()
		cancels = append(cancels, cancel)
		dones = append(dones, done)
	}
	time.Sleep(3 * time.Second)
	for i := range cancels {
		cancels[i]()
		<-dones[i]
	}
	tl.mu.Lock()
	defer tl.mu.Unlock()
	for name, m := range tl.subs {
		var l []string
		for k := range m {
			l = append(l, k)
		}
		sort.Strings(l)
		t.Logf("%s:\n  %s", name, strings.Join(l, "\n  "))
	}
}
