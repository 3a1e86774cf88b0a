package cmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"go.yaml.in/yaml/v3"

	"github.com/parti-dev/parti/calculator/model"
)

// partitionsFileHelp documents the --partitions-file format.
const partitionsFileHelp = `A partitions file is YAML or JSON (JSON is read as YAML): either a list of
entries, or an object whose only field "partitions" holds that list. Each
entry has a "key" (required: printable, at most 256 bytes, unique) and a
"weight" (a finite number > 0; 1 when omitted). Other fields are rejected.

  - key: tenant-a
    weight: 3
  - key: tenant-b          # weight 1

  {"partitions": [{"key": "tenant-a", "weight": 3}, {"key": "tenant-b"}]}`

// demoPartitions returns n demo partitions "p-000", "p-001", ... of weight
// 1, numbered with at least three digits.
func demoPartitions(n int) []model.Partition {
	width := max(3, len(fmt.Sprint(n-1)))
	parts := make([]model.Partition, n)
	for i := range parts {
		parts[i] = model.Partition{Key: fmt.Sprintf("p-%0*d", width, i), Weight: 1}
	}
	return parts
}

// fileEntry is one entry of a partitions file and the line it starts on.
type fileEntry struct {
	key    string
	weight float64
	line   int
}

// loadPartitionsFile reads and validates a partitions file. Every problem
// is a usage error naming the file, and the entry (with its line) when one
// is at fault.
func loadPartitionsFile(path string) ([]model.Partition, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageErrorf("--partitions-file: %v", err)
	}
	parts, err := parsePartitions(data)
	if err != nil {
		return nil, usageErrorf("partitions file %s: %v", path, err)
	}
	return parts, nil
}

// parsePartitions decodes and validates the content of a partitions file.
func parsePartitions(data []byte) ([]model.Partition, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("file is empty: want a list of {key, weight} entries")
		}
		return nil, fmt.Errorf("malformed: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, fmt.Errorf("malformed: %w", err)
		}
		return nil, fmt.Errorf("line %d: more than one YAML document", extra.Line)
	}
	list, err := entryList(&doc)
	if err != nil {
		return nil, err
	}
	if len(list.Content) == 0 {
		return nil, errors.New("no partitions listed")
	}
	entries := make([]fileEntry, len(list.Content))
	parts := make([]model.Partition, len(list.Content))
	for i, n := range list.Content {
		e, err := decodeEntry(n)
		if err != nil {
			var le *lineError
			if errors.As(err, &le) {
				return nil, fmt.Errorf("line %d: partition #%d: %s", le.line, i+1, le.msg)
			}
			return nil, fmt.Errorf("partition #%d: %w", i+1, err)
		}
		entries[i] = e
		parts[i] = model.Partition{Key: e.key, Weight: e.weight}
	}
	if err := model.ValidatePartitions(parts); err != nil {
		var ve *model.ValidationError
		if errors.As(err, &ve) && ve.Index >= 0 && ve.Index < len(entries) {
			return nil, fmt.Errorf("line %d: %w", entries[ve.Index].line, err)
		}
		return nil, err
	}
	return parts, nil
}

// entryList finds the list of entries: the document itself, or the
// "partitions" field of a top-level object.
func entryList(doc *yaml.Node) (*yaml.Node, error) {
	const want = `want a list of {key, weight} entries or {"partitions": [...]}`
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("file is empty: " + want)
	}
	root := resolveAlias(doc.Content[0])
	switch root.Kind {
	case yaml.SequenceNode:
		return root, nil
	case yaml.MappingNode:
		var list *yaml.Node
		for i := 0; i+1 < len(root.Content); i += 2 {
			k, v := root.Content[i], resolveAlias(root.Content[i+1])
			if k.Value != "partitions" {
				return nil, fmt.Errorf("line %d: unknown field %q: %s", k.Line, k.Value, want)
			}
			if list != nil {
				return nil, fmt.Errorf("line %d: field \"partitions\" given twice", k.Line)
			}
			if v.Kind != yaml.SequenceNode {
				return nil, fmt.Errorf("line %d: \"partitions\" must be a list of {key, weight} entries", v.Line)
			}
			list = v
		}
		if list == nil {
			return nil, errors.New(`no "partitions" field: ` + want)
		}
		return list, nil
	}
	return nil, fmt.Errorf("line %d: %s", root.Line, want)
}

// decodeEntry decodes one {key, weight} mapping, rejecting unknown and
// repeated fields; an omitted weight is 1.
func decodeEntry(n *yaml.Node) (fileEntry, error) {
	n = resolveAlias(n)
	e := fileEntry{weight: 1, line: n.Line}
	if n.Kind != yaml.MappingNode {
		return e, lineErr(n.Line, "want an object with \"key\" and \"weight\"")
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], resolveAlias(n.Content[i+1])
		if seen[k.Value] {
			return e, lineErr(k.Line, "field %q given twice", k.Value)
		}
		seen[k.Value] = true
		switch k.Value {
		case "key":
			if v.Kind != yaml.ScalarNode {
				return e, lineErr(v.Line, "\"key\" must be a string")
			}
			if v.Tag != "!!null" {
				e.key = v.Value
			}
		case "weight":
			if v.Kind != yaml.ScalarNode || v.Tag == "!!bool" || v.Tag == "!!null" {
				return e, lineErr(v.Line, "\"weight\" must be a number")
			}
			if err := v.Decode(&e.weight); err != nil {
				return e, lineErr(v.Line, "\"weight\" %q is not a number", v.Value)
			}
		default:
			return e, lineErr(k.Line, "unknown field %q (want key, weight)", k.Value)
		}
	}
	if !seen["key"] {
		return e, lineErr(n.Line, "\"key\" is missing")
	}
	return e, nil
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// lineError is a problem at a line of a partitions file.
type lineError struct {
	line int
	msg  string
}

func (e *lineError) Error() string { return fmt.Sprintf("line %d: %s", e.line, e.msg) }

func lineErr(line int, format string, args ...any) error {
	return &lineError{line: line, msg: fmt.Sprintf(format, args...)}
}
