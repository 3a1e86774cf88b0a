package cmd

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// EnvPrefix prefixes the environment variable that can set each flag:
// --nats-url is PARTI_NATS_URL, --log-level is PARTI_LOG_LEVEL.
const EnvPrefix = "PARTI_"

// envName is the environment variable bound to a flag.
func envName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// envAliases are extra variables honoured after the PARTI_ one.
var envAliases = map[string][]string{
	"nats-url": {"NATS_URL"},
}

// applyEnv sets every flag of c that was not given on the command line from
// its environment variable, if set: flag > env > default. A bad value is a
// usage error naming both the variable and the flag.
func applyEnv(c *cobra.Command, lookup func(string) (string, bool)) error {
	var firstErr error
	visit := func(f *pflag.Flag) {
		if firstErr != nil || f.Changed || f.Name == "help" {
			return
		}
		names := append([]string{envName(f.Name)}, envAliases[f.Name]...)
		for _, name := range names {
			v, ok := lookup(name)
			if !ok {
				continue
			}
			if err := f.Value.Set(v); err != nil {
				firstErr = usageErrorf("invalid value %q in %s for --%s: %v", v, name, f.Name, err)
				return
			}
			f.Changed = true
			return
		}
	}
	c.Flags().VisitAll(visit)
	c.InheritedFlags().VisitAll(visit)
	return firstErr
}

// osLookup is os.LookupEnv ignoring empty values.
func osLookup(name string) (string, bool) {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		return "", false
	}
	return v, true
}

// envHelp is the flag-usage footer that explains environment binding.
func envHelp() string {
	return fmt.Sprintf("Every flag can also be set as %s<FLAG_NAME> in the environment (flag > env > default);\n--nats-url also honours NATS_URL.", EnvPrefix)
}
