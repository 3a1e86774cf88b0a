// Package codec defines the values parti stores in its JetStream KV buckets
// and sends on its control subject, and encodes them as versioned JSON
// envelopes that the `nats` CLI can read: {"v":1,"kind":"heartbeat",...}.
//
// Decoding is strict about what matters and tolerant about what does not:
//
//   - an empty, oversized (> MaxValueSize), truncated or malformed value, a
//     missing or unsupported "v", a missing or unexpected "kind", trailing
//     data, or a missing required field is rejected with a *DecodeError that
//     names the key and the expected kind, and wraps one of the sentinel
//     errors below;
//   - unknown fields are ignored. This is the forward-compatibility rule:
//     within version 1, newer parti releases may only add optional fields,
//     which older readers skip. A change that older readers must not
//     misread bumps "v", and they reject it with ErrUnsupportedVersion.
//
// Decoders never panic on any input (fuzzed). The package is pure: it
// imports no NATS package.
package codec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Version is the envelope version this package writes and reads.
const Version = 1

// MaxValueSize is the largest encoded value accepted, in bytes. It equals
// the NATS default max payload (1 MiB).
const MaxValueSize = 1 << 20

// Sentinel errors wrapped by *DecodeError (and by Encode for size), checked
// with errors.Is.
var (
	ErrEmpty              = errors.New("empty value")
	ErrTooLarge           = fmt.Errorf("value larger than %d bytes", MaxValueSize)
	ErrTruncated          = errors.New("truncated value")
	ErrMalformed          = errors.New("malformed value")
	ErrMissingVersion     = errors.New(`missing envelope version "v"`)
	ErrUnsupportedVersion = errors.New("unsupported envelope version")
	ErrMissingKind        = errors.New(`missing envelope "kind"`)
	ErrWrongKind          = errors.New("unexpected envelope kind")
	ErrInvalid            = errors.New("invalid field")
)

// DecodeError reports a value that could not be decoded.
type DecodeError struct {
	Key  string // the KV key or subject the value came from
	Kind string // the kind that was expected
	Err  error  // wraps one of the sentinel errors
}

func (e *DecodeError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("decode %s: %v", e.Kind, e.Err)
	}
	return fmt.Sprintf("decode %s at key %q: %v", e.Kind, e.Key, e.Err)
}

// Unwrap returns the underlying error.
func (e *DecodeError) Unwrap() error { return e.Err }

// Header is the envelope header embedded in every stored value.
type Header struct {
	V    int    `json:"v"`
	Kind string `json:"kind"`
}

func (h *Header) header() *Header { return h }

// Value is implemented by every envelope type in this package.
type Value interface {
	// Kind is the envelope's "kind" string.
	Kind() string
	header() *Header
	validate() error
}

// Encode sets the envelope header of v, checks v, and marshals it.
func Encode(v Value) ([]byte, error) {
	h := v.header()
	h.V, h.Kind = Version, v.Kind()
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("encode %s: %w", v.Kind(), err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", v.Kind(), err)
	}
	if len(b) > MaxValueSize {
		return nil, fmt.Errorf("encode %s: %d bytes: %w", v.Kind(), len(b), ErrTooLarge)
	}
	return b, nil
}

// Decode decodes data, read from key, into v, which must be a pointer to a
// zero envelope of the expected kind.
func Decode(key string, data []byte, v Value) error {
	fail := func(err error) error { return &DecodeError{Key: key, Kind: v.Kind(), Err: err} }
	switch {
	case len(data) > MaxValueSize:
		return fail(fmt.Errorf("%w (%d bytes)", ErrTooLarge, len(data)))
	case len(bytes.TrimSpace(data)) == 0:
		return fail(ErrEmpty)
	}
	var h Header
	if err := unmarshal(data, &h); err != nil {
		return fail(err)
	}
	switch {
	case h.V == 0:
		return fail(ErrMissingVersion)
	case h.V != Version:
		return fail(fmt.Errorf("%w %d (this build reads %d)", ErrUnsupportedVersion, h.V, Version))
	case h.Kind == "":
		return fail(ErrMissingKind)
	case h.Kind != v.Kind():
		return fail(fmt.Errorf("%w %q", ErrWrongKind, h.Kind))
	}
	if err := unmarshal(data, v); err != nil {
		return fail(err)
	}
	if err := v.validate(); err != nil {
		return fail(err)
	}
	return nil
}

// unmarshal decodes exactly one JSON value and classifies failures.
func unmarshal(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return fmt.Errorf("%w: %w", ErrTruncated, err)
		}
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the value", ErrMalformed)
	}
	return nil
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
