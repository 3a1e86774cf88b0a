package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// readHeaderTimeout bounds how long a client of the server started by Serve
// may take to send its request headers.
const readHeaderTimeout = 10 * time.Second

// shutdownTimeout bounds the graceful shutdown once Serve's ctx is done;
// requests still running after it are cut off. A variable so tests can
// shorten it.
var shutdownTimeout = 5 * time.Second

// Serve listens on addr and serves h until ctx is done, then shuts the
// server down gracefully, cutting off requests still running after a few
// seconds. It returns the address actually bound (useful with port 0) and
// wait, which blocks until the server has stopped and returns why it
// stopped early, or nil after a clean shutdown; the caller must call wait.
// An empty addr disables serving: Serve returns "", a wait that returns nil
// at once, and no error. A nil logger discards logs.
func Serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) (boundAddr string, wait func() error, err error) {
	if addr == "" {
		return "", func() error { return nil }, nil
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("http listen on %s: %w", addr, err)
	}
	bound := ln.Addr().String()
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("http server listening", "addr", bound)

	done := make(chan struct{})
	var result error
	go func() {
		defer close(done)
		result = run(ctx, srv, ln, bound)
		if result != nil {
			logger.Error("http server stopped", "addr", bound, "err", result)
			return
		}
		logger.Info("http server stopped", "addr", bound)
	}()
	return bound, func() error {
		<-done
		return result
	}, nil
}

// run serves on ln until ctx is done or serving fails, and returns once the
// server has stopped.
func run(ctx context.Context, srv *http.Server, ln net.Listener, bound string) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("http serve on %s: %w", bound, err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	shutErr := srv.Shutdown(sctx)
	if shutErr != nil {
		// Requests outlived the grace period: cut them off.
		_ = srv.Close()
		shutErr = fmt.Errorf("http shutdown on %s: %w", bound, shutErr)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(shutErr, fmt.Errorf("http serve on %s: %w", bound, err))
	}
	return shutErr
}
