package worker

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/parti-dev/parti/nats/identity"
)

// localState is what a worker with an explicit ID remembers on disk about
// its process, so that a restart faster than the worker TTL can take its
// ID over instead of waiting for it to expire (and moving partitions).
type localState struct {
	Worker string `json:"worker"`
	Nonce  string `json:"nonce"`
	Host   string `json:"host"`
	PID    int    `json:"pid"`
}

func (w *Worker) statePath() string {
	if w.o.StateDir == "" || w.o.WorkerID == "" {
		return ""
	}
	return filepath.Join(w.o.StateDir, w.o.Buckets.Layout.Cluster()+"-"+w.o.WorkerID+".json")
}

// resumeFrom returns the previous process to take over, if the state file
// names one that ran on this host and is no longer alive.
func (w *Worker) resumeFrom() *identity.Resume {
	path := w.statePath()
	if path == "" {
		return nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var st localState
	if err := json.Unmarshal(b, &st); err != nil || st.Worker != w.o.WorkerID || st.Nonce == "" {
		return nil
	}
	host, _ := os.Hostname()
	if st.Host != host || st.PID == os.Getpid() || processAlive(st.PID) {
		return nil
	}
	return &identity.Resume{Nonce: st.Nonce, Host: st.Host, PID: st.PID}
}

// saveState records this process as the holder of the ID.
func (w *Worker) saveState(id *identity.Identity) {
	path := w.statePath()
	if path == "" {
		return
	}
	host, _ := os.Hostname()
	b, _ := json.Marshal(localState{Worker: id.ID(), Nonce: id.Nonce(), Host: host, PID: os.Getpid()})
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		w.o.Logger.Warn("cannot write worker state", "err", err)
		return
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		w.o.Logger.Warn("cannot write worker state", "err", err)
		return
	}
	if err := os.Rename(tmp, path); err != nil {
		w.o.Logger.Warn("cannot write worker state", "err", err)
	}
}

// clearState forgets the process after a graceful leave.
func (w *Worker) clearState() {
	if path := w.statePath(); path != "" {
		_ = os.Remove(path)
		_ = os.Remove(filepath.Dir(path)) // only if empty
	}
}

// processAlive reports whether a process with pid exists on this host.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
