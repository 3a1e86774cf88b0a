// Package control carries operator requests to the leader and the
// leader's status to consoles.
//
// Requests: the leader answers request/reply on
// parti.<cluster>.control.rebalance (Serve); `parti rebalance` sends one
// (Request) and gets ErrNoLeader when nobody answers in time. Status: the
// leader writes its calculator status and rebalance history to the status
// bucket, fenced on its epoch (Publisher); consoles follow it
// (WatchStatus).
//
// It must not import the calculator's engine, cmd or tui.
package control

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/parti-dev/parti/nats/codec"
)

// QueueGroup is the queue group leaders serve in, so that during a
// hand-over overlap a request is answered once.
const QueueGroup = "parti-leader"

// Errors, checked with errors.Is.
var (
	// ErrNoLeader: no leader answered (no responder, or timeout).
	ErrNoLeader = errors.New("no leader answered")
	// ErrRejected: the leader answered with an error.
	ErrRejected = errors.New("leader rejected the request")
	// ErrUnknownOp is returned to clients for an unsupported op.
	ErrUnknownOp = errors.New("unknown op")
)

// Handler performs a control request on the leader. It returns the result
// or an error whose message is sent to the client.
type Handler func(ctx context.Context, req codec.ControlRequest) (*codec.RebalanceResult, error)

// Server answers control requests while its node leads.
type Server struct {
	sub    *nats.Subscription
	mu     sync.Mutex // held while a request is handled
	closed bool
	cancel context.CancelFunc
}

// Serve subscribes to subject and answers requests with h, on behalf of
// leader at epoch, until Stop. ctx bounds the handler calls.
func Serve(ctx context.Context, nc *nats.Conn, subject, leader string, epoch uint64, h Handler) (*Server, error) {
	hctx, cancel := context.WithCancel(ctx)
	s := &Server{cancel: cancel}
	sub, err := nc.QueueSubscribe(subject, QueueGroup, func(m *nats.Msg) {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed {
			return
		}
		reply := codec.ControlReply{Leader: leader, Epoch: epoch}
		req, err := codec.DecodeControlRequest(m.Subject, m.Data)
		switch {
		case err != nil:
			reply.Error = "bad request: " + err.Error()
		case req.Op != codec.OpRebalance:
			reply.Error = fmt.Sprintf("%v %q (supported: %s)", ErrUnknownOp, req.Op, codec.OpRebalance)
		default:
			res, err := h(hctx, req)
			if err != nil {
				reply.Error = err.Error()
			} else if res == nil {
				reply.Result = &codec.RebalanceResult{DryRun: req.DryRun}
			} else {
				reply.Result = res
			}
		}
		data, err := codec.Encode(&reply)
		if err != nil {
			data, _ = codec.Encode(&codec.ControlReply{Leader: leader, Epoch: epoch, Error: "encode reply: " + err.Error()})
		}
		_ = m.Respond(data) // the requester may have given up
	})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("serve %s: %w", subject, err)
	}
	s.sub = sub
	return s, nil
}

// Stop unsubscribes and waits for a request being handled to finish (its
// context is cancelled first).
func (s *Server) Stop() {
	_ = s.sub.Unsubscribe()
	s.cancel()
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// DefaultRequestTimeout bounds Request when ctx has no deadline.
const DefaultRequestTimeout = 10 * time.Second

// Request sends req to the leader and waits for its reply. It fails with
// ErrNoLeader when no leader is subscribed or none answers before ctx's
// deadline (DefaultRequestTimeout if none), and with ErrRejected when the
// leader answers with an error (the reply is returned too).
func Request(ctx context.Context, nc *nats.Conn, subject string, req codec.ControlRequest) (codec.ControlReply, error) {
	data, err := codec.EncodeControlRequest(req)
	if err != nil {
		return codec.ControlReply{}, err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultRequestTimeout)
		defer cancel()
	}
	start := time.Now()
	m, err := nc.RequestWithContext(ctx, subject, data)
	switch {
	case errors.Is(err, nats.ErrNoResponders):
		return codec.ControlReply{}, fmt.Errorf("%w on %s: nobody is serving it: %w", ErrNoLeader, subject, err)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout):
		return codec.ControlReply{}, fmt.Errorf("%w on %s within %s", ErrNoLeader, subject, time.Since(start).Round(time.Millisecond))
	case err != nil:
		return codec.ControlReply{}, fmt.Errorf("request %s: %w", subject, err)
	}
	reply, err := codec.DecodeControlReply(subject, m.Data)
	if err != nil {
		return codec.ControlReply{}, err
	}
	if reply.Error != "" {
		return reply, fmt.Errorf("%w: leader %s (epoch %d): %s", ErrRejected, reply.Leader, reply.Epoch, reply.Error)
	}
	return reply, nil
}
