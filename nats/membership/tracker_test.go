package membership

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/assert"

	"github.com/parti-dev/parti/calculator"
	"github.com/parti-dev/parti/nats/codec"
	"github.com/parti-dev/parti/nats/watch"
)

// entry is a minimal KV entry for driving the tracker.
type entry struct {
	key string
	val []byte
	op  jetstream.KeyValueOp
}

func (e entry) Bucket() string                  { return "b" }
func (e entry) Key() string                     { return e.key }
func (e entry) Value() []byte                   { return e.val }
func (e entry) Revision() uint64                { return 1 }
func (e entry) Created() time.Time              { return time.Time{} }
func (e entry) Delta() uint64                   { return 0 }
func (e entry) Operation() jetstream.KeyValueOp { return e.op }

func put(t *testing.T, id string) watch.Event {
	b, err := codec.Encode(&codec.Heartbeat{Worker: id, Nonce: "n", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return watch.Event{Kind: watch.Entry, Entry: entry{key: id, val: b, op: jetstream.KeyValuePut}}
}

// A worker whose key expired while no watch was delivering (a NATS node
// was lost, the watch was re-created after the purge marker aged out) is
// reported expired when the new watch generation has synced.
func TestWorkerGoneDuringResyncIsReportedExpired(t *testing.T) {
	tr := &tracker{workers: map[string]state{}}
	var got []calculator.MemberEvent
	feed := func(evs ...watch.Event) {
		for _, ev := range evs {
			got = append(got, tr.apply(ev, nil)...)
		}
	}
	feed(watch.Event{Kind: watch.Reset}, put(t, "a"), put(t, "b"), put(t, "c"), watch.Event{Kind: watch.Synced})
	got = nil
	feed(watch.Event{Kind: watch.Reset}, put(t, "a"), watch.Event{Kind: watch.Synced})
	kinds := []string{}
	for _, ev := range got {
		kinds = append(kinds, ev.Kind.String()+":"+ev.Worker)
	}
	assert.Equal(t, []string{"joined:a", "expired:b", "expired:c", "synced:"}, kinds)

	// A later resync with nobody missing reports nothing but the sync.
	got = nil
	feed(watch.Event{Kind: watch.Reset}, put(t, "a"), watch.Event{Kind: watch.Synced})
	assert.Len(t, got, 2)
	assert.Equal(t, calculator.MembersSynced, got[1].Kind)
}
