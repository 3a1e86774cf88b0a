package cmd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/parti-dev/parti/nats/layout"
)

// permissionsHelp points at the documented permission sets.
const permissionsHelp = "see the Permissions section of docs/operations.md for the subjects each role needs"

// session is one command's connection to a cluster. The server reports a
// subject the user may not use asynchronously (the request itself just
// goes unanswered), so the session watches for such reports and cancels
// the command's context at once: a denied command fails with ExitDenied
// instead of waiting for its timeout and blaming something else.
type session struct {
	nc      *nats.Conn
	urls    string // redacted, for messages
	cluster string
	layout  *layout.Layout
	cancel  context.CancelFunc

	mu     sync.Mutex
	denied error // first permission violation, if any
}

// openSession connects without background retries (a server that does not
// answer within timeout is ExitUnreachable). The returned context is ctx
// bounded by timeout and cancelled when the server reports a permission
// violation; use it for every NATS call of the command.
func (f *Factory) openSession(ctx context.Context, name string, timeout time.Duration) (*session, context.Context, error) {
	l, err := layout.New(layout.Options{Cluster: f.Global.Cluster})
	if err != nil {
		return nil, nil, usageErrorf("invalid --cluster: %v", err)
	}
	nc, urls, err := f.connectOnce(name, timeout)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	s := &session{nc: nc, urls: urls, cluster: f.Global.Cluster, layout: l, cancel: cancel}
	nc.SetErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
		if !errors.Is(err, nats.ErrPermissionViolation) {
			return
		}
		s.mu.Lock()
		if s.denied == nil {
			s.denied = err
		}
		s.mu.Unlock()
		cancel()
	})
	return s, ctx, nil
}

// openClusterSession opens a session and the cluster's existing buckets;
// on failure nothing is left open. The caller closes the session.
func (f *Factory) openClusterSession(ctx context.Context, name string, timeout time.Duration) (*session, *layout.Buckets, context.Context, error) {
	s, ctx, err := f.openSession(ctx, name, timeout)
	if err != nil {
		return nil, nil, nil, err
	}
	b, err := s.buckets(ctx)
	if err != nil {
		s.close()
		return nil, nil, nil, err
	}
	return s, b, ctx, nil
}

// close closes the connection and releases the context.
func (s *session) close() {
	s.nc.Close()
	s.cancel()
}

// deniedErr returns the permission violation the server reported, if any.
func (s *session) deniedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.denied
}

// check maps a failed NATS call to its exit code: ExitDenied when the
// server reported a permission violation (whatever error the call itself
// returned), err unchanged otherwise.
func (s *session) check(err error) error {
	if err == nil {
		return nil
	}
	if d := s.deniedErr(); d != nil {
		return &ExitError{Code: ExitDenied, Err: fmt.Errorf("NATS at %s denied the request: %w; %s", s.urls, d, permissionsHelp)}
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return err
	}
	if errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
		return &ExitError{Code: ExitDenied, Err: fmt.Errorf("the NATS account of this user has no JetStream on %s: %w", s.urls, err)}
	}
	return err
}

// deniedFor is the ExitDenied error for a denied action that needs
// permission to publish to subject, or nil if nothing was denied.
func (s *session) deniedFor(action, subject string) error {
	d := s.deniedErr()
	if d == nil {
		return nil
	}
	return &ExitError{Code: ExitDenied, Err: fmt.Errorf("NATS at %s denied %s: %w\nthe user needs permission to publish to %s (a full operator); %s",
		s.urls, action, d, subject, permissionsHelp)}
}

// buckets opens the cluster's existing buckets.
func (s *session) buckets(ctx context.Context) (*layout.Buckets, error) {
	b, err := openBuckets(ctx, s.nc, s.layout, s.urls)
	return b, s.check(err)
}
