package store

import (
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/layout"
	"github.com/parti-dev/parti/nats/watch"
)

type fakeEntry struct {
	key string
	rev uint64
	val []byte
	op  jetstream.KeyValueOp
}

func (e fakeEntry) Bucket() string                  { return "b" }
func (e fakeEntry) Key() string                     { return e.key }
func (e fakeEntry) Value() []byte                   { return e.val }
func (e fakeEntry) Revision() uint64                { return e.rev }
func (e fakeEntry) Created() time.Time              { return time.Time{} }
func (e fakeEntry) Delta() uint64                   { return 0 }
func (e fakeEntry) Operation() jetstream.KeyValueOp { return e.op }

func put(t *testing.T, key string, rev uint64, v codec.Value) watch.Event {
	b, err := codec.Encode(v)
	require.NoError(t, err)
	return watch.Event{Kind: watch.Entry, Entry: fakeEntry{key: key, rev: rev, val: b}}
}

// TestReaderMonotonic: commits with a lower epoch or a version not above
// the delivered one are rejected as stale, whatever their content.
func TestReaderMonotonic(t *testing.T) {
	var reported []error
	st := readerState{limit: 5, h: history{}, o: ReaderOptions{OnError: func(err error) { reported = append(reported, err) }}}
	wk := layout.WorkerKey("w")
	_, ok := st.apply(watch.Event{Kind: watch.Reset, Generation: 1})
	require.False(t, ok)
	st.apply(put(t, wk, 1, &codec.WorkerAssignment{Worker: "w", Version: 5, Epoch: 2, Keys: []string{"a"}}))
	st.apply(put(t, layout.KeyCommit, 2, &codec.Commit{Version: 5, Epoch: 2, Leader: "l", Workers: map[string]uint64{"w": 1}, Partitions: 1}))
	a, ok := st.apply(watch.Event{Kind: watch.Synced})
	require.True(t, ok)
	require.Equal(t, uint64(5), a.Version)

	// Lower version with a higher epoch: stale.
	_, ok = st.apply(put(t, layout.KeyCommit, 3, &codec.Commit{Version: 4, Epoch: 3, Leader: "l", Workers: map[string]uint64{"w": 1}, Partitions: 1}))
	require.False(t, ok)
	// Higher version with a lower epoch: stale.
	_, ok = st.apply(put(t, layout.KeyCommit, 4, &codec.Commit{Version: 6, Epoch: 1, Leader: "l", Workers: map[string]uint64{"w": 1}, Partitions: 1}))
	require.False(t, ok)
	require.Len(t, reported, 2)
	for _, err := range reported {
		require.True(t, errors.Is(err, ErrStale), err)
	}

	// A commit whose entry is missing is incomplete, then completes when
	// it arrives; a wrong partition count never completes.
	_, ok = st.apply(put(t, layout.KeyCommit, 6, &codec.Commit{Version: 7, Epoch: 3, Leader: "l", Workers: map[string]uint64{"w": 5}, Partitions: 2}))
	require.False(t, ok)
	require.ErrorIs(t, reported[len(reported)-1], ErrIncomplete)
	a, ok = st.apply(put(t, wk, 5, &codec.WorkerAssignment{Worker: "w", Version: 7, Epoch: 3, Keys: []string{"a", "b"}}))
	require.True(t, ok)
	require.Equal(t, []string{"a", "b"}, a.Owners["w"])

	// After a restart the reader rebuilds but never goes back.
	st.apply(watch.Event{Kind: watch.Reset, Generation: 2})
	st.apply(put(t, wk, 1, &codec.WorkerAssignment{Worker: "w", Version: 5, Epoch: 2, Keys: []string{"a"}}))
	st.apply(put(t, layout.KeyCommit, 2, &codec.Commit{Version: 5, Epoch: 2, Leader: "l", Workers: map[string]uint64{"w": 1}, Partitions: 1}))
	_, ok = st.apply(watch.Event{Kind: watch.Synced})
	require.False(t, ok)
}
