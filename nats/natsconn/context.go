package natsconn

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// CLIContext is a `nats` CLI context: the JSON file the CLI keeps under
// <config>/nats/context/<name>.json. Only the connection settings parti
// uses are read; other fields the CLI writes (description, jetstream
// domains, colour scheme, ...) are ignored.
type CLIContext struct {
	Name        string `json:"-"`
	Description string `json:"description"`
	URL         string `json:"url"`
	User        string `json:"user"`
	Password    string `json:"password"`
	Creds       string `json:"creds"`
	NKey        string `json:"nkey"`
	Token       string `json:"token"`
	Cert        string `json:"cert"`
	Key         string `json:"key"`
	CA          string `json:"ca"`
	TLSFirst    bool   `json:"tls_first"`
}

// ErrContextNotFound means no context file exists with that name.
var ErrContextNotFound = errors.New("nats context not found")

var contextNameRe = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

// ConfigDir is the nats CLI configuration folder: $XDG_CONFIG_HOME/nats
// when XDG_CONFIG_HOME is set, else ~/.config/nats.
func ConfigDir() (string, error) {
	if x := os.Getenv("XDG_CONFIG_HOME"); x != "" {
		return filepath.Join(x, "nats"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("locate nats contexts: %w", err)
	}
	return filepath.Join(home, ".config", "nats"), nil
}

// LoadContext reads the named nats CLI context. File paths in it (creds,
// nkey, cert, key, ca) starting with "~/" are expanded.
func LoadContext(name string) (CLIContext, error) {
	if !contextNameRe.MatchString(name) || strings.Contains(name, "..") {
		return CLIContext{}, fmt.Errorf("nats context %q: invalid name", name)
	}
	dir, err := ConfigDir()
	if err != nil {
		return CLIContext{}, err
	}
	path := filepath.Join(dir, "context", name+".json")
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return CLIContext{}, fmt.Errorf("%w: %q (looked for %s)", ErrContextNotFound, name, path)
	}
	if err != nil {
		return CLIContext{}, fmt.Errorf("nats context %q: %w", name, err)
	}
	c, err := ParseContext(data)
	if err != nil {
		return CLIContext{}, fmt.Errorf("nats context %q (%s): %w", name, path, err)
	}
	c.Name = name
	return c, nil
}

// ParseContext decodes the JSON of a nats CLI context file.
func ParseContext(data []byte) (CLIContext, error) {
	var c CLIContext
	if err := json.Unmarshal(data, &c); err != nil {
		return CLIContext{}, fmt.Errorf("parse context: %w", err)
	}
	for _, p := range []*string{&c.Creds, &c.NKey, &c.Cert, &c.Key, &c.CA} {
		*p = expandHome(*p)
	}
	return c, nil
}

// SelectedContextName returns the context the nats CLI has selected (the
// content of <config>/nats/context.txt), or "" if none is selected. parti
// never applies it implicitly; see Options.Context.
func SelectedContextName() (string, error) {
	dir, err := ConfigDir()
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(filepath.Join(dir, "context.txt"))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read selected nats context: %w", err)
	}
	return strings.TrimSpace(string(data)), nil
}

func expandHome(p string) string {
	if !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[2:])
}
