// Package tui is parti's terminal dashboard: a Bubble Tea model that renders
// an immutable Snapshot of a cluster (workers, leader, calculator, breaker,
// assignments, rebalance history, event log) and lets an operator switch
// views, filter, drill into a worker, pause, and ask for a (dry-run) rebalance.
//
// The model never blocks and never talks to NATS: snapshots arrive from a
// Source through a command that waits on its channel, and the rebalance
// request is a function in Deps run inside a tea.Cmd. The NATS-backed
// sources live in package tui/source; this package must not import NATS,
// the worker or the calculator engine, so it can be tested with scripted
// snapshots at a fixed size, clock and colour profile.
//
// RenderText is the same data as plain text, for `parti top` when stdout is
// not a terminal.
package tui
