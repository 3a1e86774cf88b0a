package calculator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator/model"
)

// fakeMembership is an in-memory membership source. Events sent with send
// go to the current watch; closing the watch (ctx done or kill) closes the
// channel exactly once.
type fakeMembership struct {
	mu       sync.Mutex
	ch       chan MemberEvent
	closed   bool
	watches  int
	watchErr error
	wg       sync.WaitGroup
	stop     chan struct{}
}

func newFakeMembership() *fakeMembership { return &fakeMembership{} }

func (f *fakeMembership) Watch(ctx context.Context) (<-chan MemberEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.watchErr != nil {
		return nil, f.watchErr
	}
	f.watches++
	ch := make(chan MemberEvent, 1024)
	stop := make(chan struct{})
	f.ch, f.closed, f.stop = ch, false, stop
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		select {
		case <-ctx.Done():
		case <-stop:
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.ch == ch {
			f.closed = true
		}
		close(ch)
	}()
	return ch, nil
}

func (f *fakeMembership) send(evs ...MemberEvent) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ch == nil || f.closed {
		return
	}
	for _, ev := range evs {
		f.ch <- ev
	}
}

func (f *fakeMembership) join(ws ...string) {
	for _, w := range ws {
		f.send(MemberEvent{Kind: MemberJoined, Worker: w})
	}
}

func (f *fakeMembership) leave(ws ...string) {
	for _, w := range ws {
		f.send(MemberEvent{Kind: MemberLeft, Worker: w})
	}
}

func (f *fakeMembership) expire(ws ...string) {
	for _, w := range ws {
		f.send(MemberEvent{Kind: MemberExpired, Worker: w})
	}
}

func (f *fakeMembership) synced() { f.send(MemberEvent{Kind: MembersSynced}) }

// kill ends the current watch as if the source lost its connection.
func (f *fakeMembership) kill() {
	f.mu.Lock()
	stop := f.stop
	f.mu.Unlock()
	if stop != nil {
		close(stop)
	}
}

func (f *fakeMembership) watchCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watches
}

// fakeStore is an in-memory assignment store with injectable failures.
type fakeStore struct {
	mu         sync.Mutex
	entries    map[string][]string
	entryVer   map[string]uint64
	commits    []Commit
	writes     int
	deletes    int
	inFlight   int
	maxFlight  int
	loaded     *model.Assignment
	loadErr    error
	failWrites int   // fail this many more write calls
	failErr    error // the error they fail with
	fenced     bool
	delay      time.Duration
	attempts   []time.Time // time of every write/delete/commit call
}

var errStoreDown = errors.New("store unreachable")

func newFakeStore() *fakeStore {
	return &fakeStore{entries: map[string][]string{}, entryVer: map[string]uint64{}, failErr: errStoreDown}
}

func (s *fakeStore) Load(context.Context) (model.Assignment, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.loadErr != nil {
		return model.Assignment{}, false, s.loadErr
	}
	if s.loaded == nil {
		return model.Assignment{}, false, nil
	}
	return *s.loaded, true, nil
}

func (s *fakeStore) enter() error {
	s.mu.Lock()
	s.attempts = append(s.attempts, time.Now())
	if s.fenced {
		s.mu.Unlock()
		return ErrFenced
	}
	if s.failWrites > 0 {
		s.failWrites--
		s.mu.Unlock()
		return s.failErr
	}
	s.inFlight++
	s.maxFlight = max(s.maxFlight, s.inFlight)
	d := s.delay
	s.mu.Unlock()
	if d > 0 {
		time.Sleep(d)
	}
	return nil
}

func (s *fakeStore) leave() {
	s.mu.Lock()
	s.inFlight--
	s.mu.Unlock()
}

func (s *fakeStore) WriteWorker(ctx context.Context, _, version uint64, e WorkerEntry) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	s.entries[e.Worker] = slices.Clone(e.Keys)
	s.entryVer[e.Worker] = version
	return nil
}

func (s *fakeStore) DeleteWorker(ctx context.Context, _, _ uint64, w string) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deletes++
	delete(s.entries, w)
	delete(s.entryVer, w)
	return nil
}

func (s *fakeStore) Commit(ctx context.Context, c Commit) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.commits = append(s.commits, c)
	return nil
}

func (s *fakeStore) commitCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.commits)
}

func (s *fakeStore) lastCommit() Commit {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.commits) == 0 {
		return Commit{}
	}
	return s.commits[len(s.commits)-1]
}

// owners returns the committed assignment as partition → worker.
func (s *fakeStore) owners() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for w, ks := range s.entries {
		for _, k := range ks {
			out[k] = w
		}
	}
	return out
}

func (s *fakeStore) setFail(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failWrites, s.failErr = n, err
}

func (s *fakeStore) attemptTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.attempts)
}

// demoParts returns n partitions of weight 1.
func demoParts(n int) []model.Partition {
	ps := make([]model.Partition, n)
	for i := range ps {
		ps[i] = model.Partition{Key: "p" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Weight: 1}
	}
	return ps
}

// requireCoverage checks the store holds a valid assignment of parts over
// exactly workers.
func requireCoverage(t *testing.T, s *fakeStore, parts []model.Partition, workers ...string) {
	t.Helper()
	own := s.owners()
	require.Len(t, own, len(parts), "every partition owned")
	for _, p := range parts {
		require.Contains(t, workers, own[p.Key], "owner of %s is live", p.Key)
	}
}
