package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parti-dev/parti/nats/natsconn"
)

// connectSpec is what a command asks of its NATS connection on top of the
// global flags.
type connectSpec struct {
	name    string        // connection name shown by the server
	timeout time.Duration // dial timeout per server
	// retry keeps retrying the first connect in the background (long-running
	// nodes); the caller then waits for the first connect with waitConnected.
	retry     bool
	urls      string                     // overrides --nats-url when set
	inProcess nats.InProcessConnProvider // embedded server, no socket
}

// natsOptions turns the global flags and spec into connection options. A
// credentials or TLS file named by a flag that cannot be read is a usage
// error naming the flag, and so is a --context that does not resolve.
func (f *Factory) natsOptions(s connectSpec) (natsconn.Options, natsconn.Resolved, error) {
	g := f.Global
	for _, file := range []struct{ flag, path string }{
		{"creds", g.Creds}, {"nkey", g.NKey}, {"tlscert", g.TLSCert}, {"tlskey", g.TLSKey}, {"tlsca", g.TLSCA},
	} {
		if file.path == "" {
			continue
		}
		if _, err := os.Stat(file.path); err != nil {
			return natsconn.Options{}, natsconn.Resolved{}, usageErrorf("--%s: %v", file.flag, err)
		}
	}
	o := natsconn.Options{
		URLs: g.NATSURL, Context: g.Context, Creds: g.Creds, NKey: g.NKey, User: g.User,
		Password: g.Password, TLSCert: g.TLSCert, TLSKey: g.TLSKey, TLSCA: g.TLSCA,
		Name: s.name, Timeout: s.timeout, InProcess: s.inProcess, RetryOnFailedConnect: s.retry,
	}
	if g.Context != "" && !g.natsURLSet {
		o.URLs = "" // the context's URL, else the default
	}
	if s.urls != "" {
		o.URLs = s.urls
	}
	r, err := o.Resolve()
	if err != nil {
		return o, r, usageErrorf("NATS connection settings: %v", err)
	}
	return o, r, nil
}

// connectError maps a failed connection to its exit code: refused
// credentials exit ExitDenied, anything else ExitUnreachable. The message
// names the (redacted) URLs.
func connectError(urls []string, err error) error {
	where := " at " + natsconn.RedactURLs(urls)
	if strings.Contains(err.Error(), where) {
		where = "" // natsconn's error names them already
	}
	if isAuthError(err) {
		return &ExitError{Code: ExitDenied, Err: fmt.Errorf("NATS%s refused the credentials: %w", where, err)}
	}
	return &ExitError{Code: ExitUnreachable, Err: fmt.Errorf("NATS not reachable%s: %w", where, err)}
}

func isAuthError(err error) bool {
	return errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) ||
		errors.Is(err, nats.ErrAuthRevoked)
}

// waitConnected waits until a connection opened with RetryOnFailedConnect
// is connected. It fails with ExitUnreachable (or ExitDenied) when the
// connection is not up within timeout or is closed for good, and with
// ctx's error when ctx ends first.
func waitConnected(ctx context.Context, nc *nats.Conn, tr *natsconn.Tracker, urls []string, timeout time.Duration) error {
	changes, cancel := tr.Subscribe()
	defer cancel()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case c, ok := <-changes:
			if ok && c.State == natsconn.StateConnected {
				return nil
			}
			if !ok || c.State == natsconn.StateClosed {
				err := nc.LastError()
				if err == nil {
					err = errors.New("connection closed")
				}
				return connectError(urls, err)
			}
		case <-timer.C:
			err := nc.LastError()
			if err == nil {
				err = fmt.Errorf("no server answered within %s", timeout)
			} else {
				err = fmt.Errorf("no connection within %s: %w", timeout, err)
			}
			return connectError(urls, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closeConn drains nc (delivering what is buffered) and waits up to
// timeout for it to close, then closes it outright.
func closeConn(nc *nats.Conn, tr *natsconn.Tracker, timeout time.Duration) {
	if nc == nil || nc.IsClosed() {
		return
	}
	if tr == nil {
		nc.Close()
		return
	}
	changes, cancel := tr.Subscribe()
	defer cancel()
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case _, ok := <-changes:
			if !ok {
				return
			}
		case <-timer.C:
			nc.Close()
			return
		}
	}
}
