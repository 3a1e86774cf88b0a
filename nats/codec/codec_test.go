package codec_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator/model"
	"github.com/parti-dev/parti/nats/codec"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC)

func sampleHeartbeat() *codec.Heartbeat {
	return &codec.Heartbeat{Worker: "worker-0", Nonce: "n1", Host: "h", PID: 42, Version: "v0.1.0",
		Started: t0, Applied: 7, Draining: true, Seq: 3, At: t0}
}

func TestRoundTrip(t *testing.T) {
	parts := []model.Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 2.5}}
	values := []codec.Value{
		sampleHeartbeat(),
		&codec.Leader{ID: "worker-1", Nonce: "x", Epoch: 4, Since: t0, At: t0},
		&codec.Epoch{Epoch: 9, Leader: "worker-1", At: t0},
		&codec.WorkerAssignment{Worker: "w", Version: 3, Epoch: 2, Keys: []string{"a", "b"}},
		&codec.Commit{Version: 3, Epoch: 2, Leader: "w", Workers: map[string]uint64{"w": 5}, Partitions: 2, At: t0},
		&codec.PartitionManifest{Generation: 1, Chunks: 1, Count: 2, TotalWeight: 3.5, SHA256: codec.PartitionDigest(parts), At: t0},
		&codec.PartitionChunk{Generation: 1, Index: 0, Partitions: parts},
		&codec.Status{Leader: "w", Epoch: 2, State: "stable", StateSince: t0, Version: 3, Workers: 1, Partitions: 2,
			Breaker: codec.Breaker{State: "closed"}, At: t0},
		&codec.History{Leader: "w", Epoch: 2, Entries: []codec.HistoryEntry{{At: t0, Reason: "join", DurationMS: 1.5, Moved: 3, Version: 3, Result: "ok"}}},
		&codec.ControlReply{Leader: "w", Epoch: 2, Result: &codec.RebalanceResult{Version: 4, Moved: 1}},
		&codec.ControlReply{Leader: "w", Epoch: 2, Result: &codec.RebalanceResult{Version: 5, PreviousVersion: 4, Moved: 1,
			DurationMS: 0.5, Result: codec.ResultPublished, MaxOverAvg: 1.25,
			Moves: []codec.Move{{Partition: "a", From: "w", To: "x"}}}},
		&codec.ControlReply{Leader: "w", Epoch: 2, Result: &codec.RebalanceResult{DryRun: true, Version: 4, PreviousVersion: 4,
			Result: codec.ResultDryRun, Moves: []codec.Move{}, MaxOverAvg: 1}},
	}
	for _, v := range values {
		b, err := codec.Encode(v)
		require.NoError(t, err, v.Kind())
		require.True(t, strings.HasPrefix(string(b), `{"v":1,"kind":"`+v.Kind()+`"`), string(b))
		var back codec.Value
		switch v.(type) {
		case *codec.Heartbeat:
			x, err := codec.DecodeHeartbeat("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.Leader:
			x, err := codec.DecodeLeader("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.Epoch:
			x, err := codec.DecodeEpoch("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.WorkerAssignment:
			x, err := codec.DecodeWorkerAssignment("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.Commit:
			x, err := codec.DecodeCommit("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.PartitionManifest:
			x, err := codec.DecodePartitionManifest("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.PartitionChunk:
			x, err := codec.DecodePartitionChunk("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.Status:
			x, err := codec.DecodeStatus("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.History:
			x, err := codec.DecodeHistory("k", b)
			require.NoError(t, err)
			back = &x
		case *codec.ControlReply:
			x, err := codec.DecodeControlReply("k", b)
			require.NoError(t, err)
			back = &x
		}
		require.Equal(t, v, back, v.Kind())
	}
}

func TestHeartbeatWireFormat(t *testing.T) {
	b, err := codec.Encode(sampleHeartbeat())
	require.NoError(t, err)
	require.JSONEq(t, `{"v":1,"kind":"heartbeat","worker":"worker-0","nonce":"n1","host":"h","pid":42,
		"version":"v0.1.0","started":"2025-01-02T03:04:05.000000006Z","applied":7,"draining":true,"seq":3,
		"at":"2025-01-02T03:04:05.000000006Z"}`, string(b))
}

func TestRebalanceResultWireFormat(t *testing.T) {
	b, err := codec.Encode(&codec.ControlReply{Leader: "w", Epoch: 2, Result: &codec.RebalanceResult{
		Version: 8, PreviousVersion: 7, Moved: 1, DurationMS: 1.5, Result: codec.ResultPublished,
		Moves: []codec.Move{{Partition: "p-1", From: "w", To: "x"}}, MaxOverAvg: 1.1}})
	require.NoError(t, err)
	require.JSONEq(t, `{"v":1,"kind":"control-reply","leader":"w","epoch":2,"result":{"dry_run":false,
		"version":8,"moved":1,"duration_ms":1.5,"previous_version":7,"result":"published",
		"moves":[{"partition":"p-1","from":"w","to":"x"}],"max_over_avg":1.1}}`, string(b))

	// A reply from a leader that predates the added fields still decodes;
	// they are zero, and Moves nil says the moves were not listed.
	old := `{"v":1,"kind":"control-reply","leader":"w","epoch":2,"result":{"dry_run":true,"version":3,"moved":2,
		"duration_ms":0.5,"plan":{"x":["a","b"]}}}`
	r, err := codec.DecodeControlReply("subj", []byte(old))
	require.NoError(t, err)
	require.Equal(t, &codec.RebalanceResult{DryRun: true, Version: 3, Moved: 2, DurationMS: 0.5,
		Plan: map[string][]string{"x": {"a", "b"}}}, r.Result)
	require.Nil(t, r.Result.Moves)
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		name string
		in   string
		want error
	}{
		{"empty", ``, codec.ErrEmpty},
		{"blank", "  \n", codec.ErrEmpty},
		{"truncated", `{"v":1,"kind":"heartbeat","worker":"w`, codec.ErrTruncated},
		{"malformed", `{"v":1,,}`, codec.ErrMalformed},
		{"not an object", `[1,2]`, codec.ErrMalformed},
		{"string version", `{"v":"1","kind":"heartbeat"}`, codec.ErrMalformed},
		{"trailing", `{"v":1,"kind":"heartbeat","worker":"w","nonce":"n"} {}`, codec.ErrMalformed},
		{"no version", `{"kind":"heartbeat","worker":"w","nonce":"n"}`, codec.ErrMissingVersion},
		{"future version", `{"v":2,"kind":"heartbeat","worker":"w","nonce":"n"}`, codec.ErrUnsupportedVersion},
		{"no kind", `{"v":1,"worker":"w","nonce":"n"}`, codec.ErrMissingKind},
		{"wrong kind", `{"v":1,"kind":"leader","id":"w"}`, codec.ErrWrongKind},
		{"missing worker", `{"v":1,"kind":"heartbeat","nonce":"n"}`, codec.ErrInvalid},
		{"bad time", `{"v":1,"kind":"heartbeat","worker":"w","nonce":"n","at":"yesterday"}`, codec.ErrMalformed},
		{"oversized", `{"v":1,"kind":"heartbeat","worker":"` + strings.Repeat("x", codec.MaxValueSize) + `"}`, codec.ErrTooLarge},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := codec.DecodeHeartbeat("worker-3", []byte(c.in))
			require.ErrorIs(t, err, c.want)
			var de *codec.DecodeError
			require.True(t, errors.As(err, &de))
			require.Equal(t, "worker-3", de.Key)
			require.Equal(t, codec.KindHeartbeat, de.Kind)
			require.Contains(t, err.Error(), `"worker-3"`)
		})
	}
}

func TestUnknownFieldsIgnored(t *testing.T) {
	hb, err := codec.DecodeHeartbeat("w", []byte(`{"v":1,"kind":"heartbeat","worker":"w","nonce":"n","zone":"eu-1"}`))
	require.NoError(t, err)
	require.Equal(t, "w", hb.Worker)
}

func TestValidation(t *testing.T) {
	_, err := codec.Encode(&codec.WorkerAssignment{Worker: "w", Version: 1, Epoch: 1, Keys: []string{"b", "a"}})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = codec.Encode(&codec.Commit{Version: 1, Epoch: 1, Leader: "l", Workers: map[string]uint64{"w": 0}})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = codec.Encode(&codec.PartitionManifest{Generation: 1, Count: 3, SHA256: codec.PartitionDigest(nil)})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = codec.Encode(&codec.ControlReply{Leader: "l"})
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = codec.Encode(&codec.PartitionChunk{Generation: 1, Partitions: []model.Partition{{Key: strings.Repeat("k", 200), Weight: 1}}})
	require.NoError(t, err)
	big := make([]model.Partition, 20000)
	for i := range big {
		big[i] = model.Partition{Key: strings.Repeat("k", 60), Weight: 1}
	}
	_, err = codec.Encode(&codec.PartitionChunk{Generation: 1, Partitions: big})
	require.ErrorIs(t, err, codec.ErrTooLarge)
}

func TestControlRequest(t *testing.T) {
	b, err := codec.EncodeControlRequest(codec.ControlRequest{Op: codec.OpRebalance, DryRun: true, Reason: "ops"})
	require.NoError(t, err)
	require.JSONEq(t, `{"op":"rebalance","dry_run":true,"reason":"ops"}`, string(b))
	r, err := codec.DecodeControlRequest("s", b)
	require.NoError(t, err)
	require.True(t, r.DryRun)
	_, err = codec.DecodeControlRequest("s", []byte(`{"dry_run":true}`))
	require.ErrorIs(t, err, codec.ErrInvalid)
	_, err = codec.EncodeControlRequest(codec.ControlRequest{})
	require.ErrorIs(t, err, codec.ErrInvalid)
}

func TestDigestOrderMatters(t *testing.T) {
	a := []model.Partition{{Key: "a", Weight: 1}, {Key: "b", Weight: 1}}
	b := []model.Partition{{Key: "b", Weight: 1}, {Key: "a", Weight: 1}}
	require.NotEqual(t, codec.PartitionDigest(a), codec.PartitionDigest(b))
	require.Len(t, codec.PartitionDigest(nil), 64)
}
