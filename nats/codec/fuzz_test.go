package codec_test

import (
	"errors"
	"testing"

	"github.com/parti-dev/parti/nats/codec"
)

// seeds are shared by every fuzz target: valid values of each kind plus
// broken ones.
var seeds = []string{
	`{"v":1,"kind":"heartbeat","worker":"worker-0","nonce":"n","pid":1,"at":"2025-01-02T03:04:05Z"}`,
	`{"v":1,"kind":"leader","id":"worker-0","epoch":3}`,
	`{"v":1,"kind":"epoch","epoch":3,"leader":"worker-0"}`,
	`{"v":1,"kind":"worker-assignment","worker":"w","version":2,"epoch":1,"keys":["a","b"]}`,
	`{"v":1,"kind":"commit","version":2,"epoch":1,"leader":"w","workers":{"w":4},"partitions":2}`,
	`{"v":1,"kind":"partition-manifest","generation":1,"chunks":1,"count":1,"sha256":"` +
		"0000000000000000000000000000000000000000000000000000000000000000" + `"}`,
	`{"v":1,"kind":"partition-chunk","generation":1,"index":0,"partitions":[{"key":"a","weight":1}]}`,
	`{"v":1,"kind":"status","leader":"w","breaker":{"state":"closed"}}`,
	`{"v":1,"kind":"history","leader":"w","entries":[{"reason":"x","moved":1}]}`,
	`{"v":1,"kind":"control-reply","leader":"w","error":"boom"}`,
	`{"v":1,"kind":"control-reply","leader":"w","epoch":2,"result":{"dry_run":true,"version":3,"previous_version":3,` +
		`"moved":1,"duration_ms":0.5,"result":"dry-run","moves":[{"partition":"a","from":"w","to":"x"}],"max_over_avg":1.2}}`,
	`{"v":1,"kind":"control-reply","leader":"w","result":{"version":4,"moves":null,"result":"published"}}`,
	`{"op":"rebalance","dry_run":true}`,
	``, `{`, `null`, `[]`, `{"v":2}`, `{"v":1}`, `{"v":1,"kind":7}`, "\x00\xff",
}

// fuzzDecoder checks that decode never panics, that failures are
// *DecodeError naming the key, and that accepted values re-encode.
func fuzzDecoder[T any, P interface {
	*T
	codec.Value
}](f *testing.F, decode func(string, []byte) (T, error)) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := decode("key.1", data)
		if err != nil {
			var de *codec.DecodeError
			if !errors.As(err, &de) || de.Key != "key.1" {
				t.Fatalf("error is not a *DecodeError naming the key: %v", err)
			}
			return
		}
		b, err := codec.Encode(P(&v))
		if err != nil {
			t.Fatalf("accepted value does not re-encode: %v", err)
		}
		if _, err := decode("key.1", b); err != nil {
			t.Fatalf("re-encoded value does not decode: %v", err)
		}
	})
}

func FuzzDecodeHeartbeat(f *testing.F)        { fuzzDecoder(f, codec.DecodeHeartbeat) }
func FuzzDecodeLeader(f *testing.F)           { fuzzDecoder(f, codec.DecodeLeader) }
func FuzzDecodeEpoch(f *testing.F)            { fuzzDecoder(f, codec.DecodeEpoch) }
func FuzzDecodeWorkerAssignment(f *testing.F) { fuzzDecoder(f, codec.DecodeWorkerAssignment) }
func FuzzDecodeCommit(f *testing.F)           { fuzzDecoder(f, codec.DecodeCommit) }
func FuzzDecodePartitionManifest(f *testing.F) {
	fuzzDecoder(f, codec.DecodePartitionManifest)
}
func FuzzDecodePartitionChunk(f *testing.F) { fuzzDecoder(f, codec.DecodePartitionChunk) }
func FuzzDecodeStatus(f *testing.F)         { fuzzDecoder(f, codec.DecodeStatus) }
func FuzzDecodeHistory(f *testing.F)        { fuzzDecoder(f, codec.DecodeHistory) }
func FuzzDecodeControlReply(f *testing.F)   { fuzzDecoder(f, codec.DecodeControlReply) }

func FuzzDecodeControlRequest(f *testing.F) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := codec.DecodeControlRequest("subj", data)
		if err != nil {
			var de *codec.DecodeError
			if !errors.As(err, &de) || de.Key != "subj" {
				t.Fatalf("error is not a *DecodeError naming the subject: %v", err)
			}
			return
		}
		if _, err := codec.EncodeControlRequest(r); err != nil {
			t.Fatalf("accepted request does not re-encode: %v", err)
		}
	})
}
