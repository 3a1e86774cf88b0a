// Package natsconn turns parti's global connection flags (and, on request,
// a `nats` CLI context) into a nats.go connection tuned for coordination:
// endless reconnects with jitter, fast dead-peer detection, and an
// observable connection state that feeds the node's degraded mode.
//
// It must not import the calculator, cmd or tui layers.
package natsconn

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// SelectedContext is the Options.Context value that means "the context
// currently selected in the nats CLI" (<config>/nats/context.txt).
const SelectedContext = "."

// Connection tuning defaults.
const (
	DefaultTimeout       = 5 * time.Second
	DefaultReconnectWait = 250 * time.Millisecond
	DefaultJitter        = 100 * time.Millisecond
	DefaultJitterTLS     = time.Second
	DefaultPingInterval  = 2 * time.Second
	DefaultMaxPingsOut   = 2
)

// Options are the connection settings from parti's global flags. An empty
// field means "not set".
//
// Precedence: a set field overrides the context; the context overrides
// defaults. Authentication is taken as a whole: if any of Creds, NKey,
// User, Password or Token is set, every authentication setting of the
// context is ignored, so a flag never mixes with a context's credentials.
// TLS settings override field by field.
//
// Context names a nats CLI context. It is read only when set: parti never
// applies the CLI's selected context implicitly. Context "." (the
// SelectedContext constant) asks for the selected one explicitly.
type Options struct {
	URLs     string        // comma-separated server URLs; default nats://127.0.0.1:4222
	Context  string        // nats CLI context name
	Creds    string        // credentials file
	NKey     string        // nkey seed file
	User     string        // user name
	Password string        // password
	Token    string        // auth token
	TLSCert  string        // client certificate file
	TLSKey   string        // client key file
	TLSCA    string        // CA bundle file
	Name     string        // connection name shown by the server
	Timeout  time.Duration // dial timeout per server; default 5s

	// InProcess, if set, connects to an embedded server without a socket.
	InProcess nats.InProcessConnProvider
	// RetryOnFailedConnect keeps retrying the first connect in the
	// background (long-running nodes); false fails fast (CLI commands).
	RetryOnFailedConnect bool
}

// Resolved is Options merged with its context: what Connect uses.
type Resolved struct {
	URLs                               []string
	Creds, NKey, User, Password, Token string
	TLSCert, TLSKey, TLSCA             string
	TLSFirst                           bool
	Name                               string
	Timeout                            time.Duration
	Context                            string // context applied, "" if none
	InProcess                          nats.InProcessConnProvider
	RetryOnFailedConnect               bool
}

// Resolve applies the context (if one is named) and the defaults.
func (o Options) Resolve() (Resolved, error) {
	var c CLIContext
	if o.Context != "" {
		name := o.Context
		if name == SelectedContext {
			sel, err := SelectedContextName()
			if err != nil {
				return Resolved{}, err
			}
			if sel == "" {
				return Resolved{}, fmt.Errorf("%w: no context is selected in the nats CLI", ErrContextNotFound)
			}
			name = sel
		}
		var err error
		if c, err = LoadContext(name); err != nil {
			return Resolved{}, err
		}
	}
	r := Resolved{
		Context:              c.Name,
		Name:                 o.Name,
		Timeout:              o.Timeout,
		InProcess:            o.InProcess,
		RetryOnFailedConnect: o.RetryOnFailedConnect,
		TLSFirst:             c.TLSFirst,
	}
	if r.Timeout <= 0 {
		r.Timeout = DefaultTimeout
	}
	urls := first(o.URLs, c.URL, nats.DefaultURL)
	for u := range strings.SplitSeq(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			r.URLs = append(r.URLs, u)
		}
	}
	if len(r.URLs) == 0 {
		return Resolved{}, errors.New("no NATS server URL given")
	}
	if o.Creds != "" || o.NKey != "" || o.User != "" || o.Password != "" || o.Token != "" {
		r.Creds, r.NKey, r.User, r.Password, r.Token = o.Creds, o.NKey, o.User, o.Password, o.Token
	} else {
		r.Creds, r.NKey, r.User, r.Password, r.Token = c.Creds, c.NKey, c.User, c.Password, c.Token
	}
	r.TLSCert = first(o.TLSCert, c.Cert)
	r.TLSKey = first(o.TLSKey, c.Key)
	r.TLSCA = first(o.TLSCA, c.CA)
	if (r.TLSCert == "") != (r.TLSKey == "") {
		return Resolved{}, errors.New("TLS client certificate and key must be given together")
	}
	return r, nil
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

// NATSOptions builds the nats.go options for r, wiring tr (if not nil) to
// the connection's state handlers.
func (r Resolved) NATSOptions(tr *Tracker) ([]nats.Option, error) {
	opts := []nats.Option{
		nats.Timeout(r.Timeout),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(DefaultReconnectWait),
		nats.ReconnectJitter(DefaultJitter, DefaultJitterTLS),
		nats.PingInterval(DefaultPingInterval),
		nats.MaxPingsOutstanding(DefaultMaxPingsOut),
		nats.RetryOnFailedConnect(r.RetryOnFailedConnect),
	}
	if r.Name != "" {
		opts = append(opts, nats.Name(r.Name))
	}
	if r.InProcess != nil {
		opts = append(opts, nats.InProcessServer(r.InProcess))
	}
	switch {
	case r.Creds != "":
		opts = append(opts, nats.UserCredentials(r.Creds))
	case r.NKey != "":
		o, err := nats.NkeyOptionFromSeed(r.NKey)
		if err != nil {
			return nil, fmt.Errorf("nkey seed %s: %w", r.NKey, err)
		}
		opts = append(opts, o)
	}
	if r.User != "" || r.Password != "" {
		opts = append(opts, nats.UserInfo(r.User, r.Password))
	}
	if r.Token != "" {
		opts = append(opts, nats.Token(r.Token))
	}
	if r.TLSCert != "" {
		opts = append(opts, nats.ClientCert(r.TLSCert, r.TLSKey))
	}
	if r.TLSCA != "" {
		opts = append(opts, nats.RootCAs(r.TLSCA))
	}
	if r.TLSFirst {
		opts = append(opts, nats.TLSHandshakeFirst())
	}
	if tr != nil {
		opts = append(opts, tr.options()...)
	}
	return opts, nil
}

// Connect resolves o and connects. With RetryOnFailedConnect false it
// fails within about Timeout per URL, with an error naming the URLs tried
// (passwords redacted). tr, if not nil, tracks the connection's state.
func Connect(o Options, tr *Tracker) (*nats.Conn, error) {
	r, err := o.Resolve()
	if err != nil {
		return nil, err
	}
	opts, err := r.NATSOptions(tr)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(strings.Join(r.URLs, ","), opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS at %s: %w", RedactURLs(r.URLs), err)
	}
	if tr != nil {
		tr.connected(nc)
	}
	return nc, nil
}

// RedactURLs joins urls with passwords replaced, for messages.
func RedactURLs(urls []string) string {
	out := make([]string, len(urls))
	for i, s := range urls {
		u, err := url.Parse(s)
		if err != nil || u.User == nil {
			out[i] = s
			continue
		}
		out[i] = u.Redacted()
		if _, has := u.User.Password(); !has && u.User.Username() != "" {
			// A token in the user part: hide it too.
			u.User = url.User("xxxxx")
			out[i] = u.String()
		}
	}
	return strings.Join(out, ",")
}
