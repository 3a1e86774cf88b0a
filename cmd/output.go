package cmd

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
)

// IOStreams are the command's standard streams, and whether stdout is a
// terminal (aligned tables with headers) or not (tab-separated rows, no
// header, for scripts).
type IOStreams struct {
	In          io.Reader
	Out         io.Writer
	Err         io.Writer
	OutIsTTY    bool
	ColorForced bool
}

// SystemIO returns streams bound to the process's stdin, stdout and stderr.
func SystemIO() *IOStreams {
	return &IOStreams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr,
		OutIsTTY: isatty.IsTerminal(os.Stdout.Fd()) || isatty.IsCygwinTerminal(os.Stdout.Fd())}
}

// formatValue is a pflag.Value restricted to a fixed set of output formats,
// so a bad -o is rejected at parse time as a usage error.
type formatValue struct {
	value   *string
	allowed []string
}

func (f *formatValue) String() string { return *f.value }
func (f *formatValue) Type() string   { return "string" }
func (f *formatValue) Set(s string) error {
	for _, a := range f.allowed {
		if s == a {
			*f.value = s
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(f.allowed, "|"))
}

// outputFlag is the -o/--output flag of a command that prints data.
type outputFlag struct {
	format string
}

// register adds -o/--output to c with the given default. The "text" format
// is offered only when it is the default (a command with a prose form).
func (o *outputFlag) register(c *cobra.Command, def string, formats ...string) {
	if len(formats) == 0 {
		formats = []string{"table", "json", "yaml"}
		if def == "text" {
			formats = append([]string{"text"}, formats...)
		}
	}
	o.format = def
	c.Flags().VarP(&formatValue{value: &o.format, allowed: formats}, "output", "o",
		"output format: "+strings.Join(formats, "|"))
}

// print writes data in the chosen format: JSON and YAML marshal data;
// table calls fill; text calls text (nil falls back to table).
func (o *outputFlag) print(io *IOStreams, data any, fill func(*table), text func() string) error {
	switch o.format {
	case "json":
		enc := json.NewEncoder(io.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(data)
	case "yaml":
		b, err := toYAML(data)
		if err != nil {
			return err
		}
		_, err = io.Out.Write(b)
		return err
	case "text":
		if text != nil {
			_, err := fmt.Fprint(io.Out, text())
			return err
		}
	}
	t := &table{tty: io.OutIsTTY}
	fill(t)
	return t.render(io.Out)
}

// toYAML renders data as YAML with the same field names as its JSON form, by
// going through JSON first.
func toYAML(data any) ([]byte, error) {
	j, err := json.Marshal(data)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := yaml.Unmarshal(j, &generic); err != nil {
		return nil, err
	}
	return yaml.Marshal(generic)
}

// table collects a header and rows: aligned columns with a header on a
// terminal, tab-separated rows without a header otherwise.
type table struct {
	tty  bool
	head []string
	rows [][]string
}

func (t *table) header(cols ...string) { t.head = cols }
func (t *table) row(cols ...string)    { t.rows = append(t.rows, cols) }

func (t *table) render(w io.Writer) error {
	if !t.tty {
		for _, r := range t.rows {
			if _, err := fmt.Fprintln(w, strings.Join(r, "\t")); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(t.head) > 0 {
		fmt.Fprintln(tw, strings.Join(t.head, "\t"))
	}
	for _, r := range t.rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}
