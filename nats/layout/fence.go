package layout

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// IsLostRace reports whether err is a compare-and-swap conflict: the key
// already exists (Create), its revision moved (Update, conditional
// Delete), or a conditional publish was refused. Replicated streams report
// these as API error 10164 instead of 10071; both count.
func IsLostRace(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return false
}

// isInFlightConflict reports the replicated-stream form (10164): the
// server refused the condition because another conditional write on the
// same subject was still being replicated, not because the condition was
// false. Retrying settles it either way.
func isInFlightConflict(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
}

// ErrFenced means a fenced write was refused because the fence key moved:
// a newer leader epoch exists.
var ErrFenced = errors.New("fenced: the epoch key moved")

// Fence conditions a write on the epoch key of the same bucket still being
// at Revision (the revision of the message that set Epoch).
type Fence struct {
	Bucket   string // bucket holding both the fence key and the written keys
	Key      string // fence key, normally KeyEpoch
	Epoch    uint64 // the epoch the revision set
	Revision uint64 // last revision of Key the writer holds
}

// Subject is the JetStream subject of the fence key.
func (f Fence) Subject() string { return KeySubject(f.Bucket, f.Key) }

// KV operation headers, as nats.go's KV layer writes them.
const (
	kvOperationHeader = "KV-Operation"
	kvOperationDelete = "DEL"
)

// maxInFlightRetries bounds retries of the 10164 in-flight conflict.
const maxInFlightRetries = 50

// PutFenced writes value under key in f.Bucket only if the fence key is
// still at f.Revision. It returns the new revision, or an error wrapping
// ErrFenced if the fence moved.
func PutFenced(ctx context.Context, js jetstream.JetStream, f Fence, key string, value []byte) (uint64, error) {
	return publishFenced(ctx, js, f, &nats.Msg{Subject: KeySubject(f.Bucket, key), Data: value})
}

// DeleteFenced places a delete marker on key (as kv.Delete does) only if
// the fence key is still at f.Revision.
func DeleteFenced(ctx context.Context, js jetstream.JetStream, f Fence, key string) (uint64, error) {
	m := nats.NewMsg(KeySubject(f.Bucket, key))
	m.Header.Set(kvOperationHeader, kvOperationDelete)
	return publishFenced(ctx, js, f, m)
}

func publishFenced(ctx context.Context, js jetstream.JetStream, f Fence, m *nats.Msg) (uint64, error) {
	if f.Revision == 0 {
		return 0, fmt.Errorf("write %s: %w: no fence revision", m.Subject, ErrFenced)
	}
	wait := time.Millisecond
	for attempt := 0; ; attempt++ {
		// PublishMsg adds headers to m; start from a fresh copy each time.
		msg := &nats.Msg{Subject: m.Subject, Data: m.Data, Header: nats.Header{}}
		for k, v := range m.Header {
			msg.Header[k] = append([]string(nil), v...)
		}
		ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectLastSequenceForSubject(f.Revision, f.Subject()))
		if err == nil {
			return ack.Sequence, nil
		}
		if isInFlightConflict(err) && attempt < maxInFlightRetries {
			t := time.NewTimer(wait + rand.N(wait))
			select {
			case <-ctx.Done():
				t.Stop()
				return 0, fmt.Errorf("write %s: %w", m.Subject, ctx.Err())
			case <-t.C:
			}
			wait = min(2*wait, 50*time.Millisecond)
			continue
		}
		if IsLostRace(err) {
			return 0, fmt.Errorf("write %s at epoch %d: %w (%w)", m.Subject, f.Epoch, ErrFenced, err)
		}
		return 0, fmt.Errorf("write %s: %w", m.Subject, err)
	}
}
