package cmd

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/parti-dev/parti/calculator/model"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestPartitionsFileFormats(t *testing.T) {
	for name, tc := range map[string]struct {
		file, content string
		want          []model.Partition
	}{
		"yaml list":   {"p.yaml", "- key: a\n  weight: 2.5\n- key: b\n", []model.Partition{{Key: "a", Weight: 2.5}, {Key: "b", Weight: 1}}},
		"yaml object": {"p.yml", "partitions:\n  - {key: x, weight: 3}\n  - key: y\n", []model.Partition{{Key: "x", Weight: 3}, {Key: "y", Weight: 1}}},
		"json object": {"p.json", "{\n\t\"partitions\": [\n\t\t{\"key\": \"t-1\", \"weight\": 4},\n\t\t{\"key\": \"t-2\"}\n\t]\n}\n",
			[]model.Partition{{Key: "t-1", Weight: 4}, {Key: "t-2", Weight: 1}}},
		"json list":    {"p.json", `[{"key":"a","weight":1e2}]`, []model.Partition{{Key: "a", Weight: 100}}},
		"numeric keys": {"p.yaml", "- key: 7\n", []model.Partition{{Key: "7", Weight: 1}}},
	} {
		t.Run(name, func(t *testing.T) {
			got, err := loadPartitionsFile(writeFile(t, tc.file, tc.content))
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

// Every invalid file exits 2 through the CLI, before any connection, with
// a message naming the file and the entry at fault.
func TestPartitionsFileErrorsExitTwo(t *testing.T) {
	for name, tc := range map[string]struct {
		content string
		want    []string
	}{
		"duplicate key":   {"- key: a\n- key: b\n- key: a\n", []string{`partition #3 "a"`, "duplicate", "line 3"}},
		"zero weight":     {"- key: a\n  weight: 0\n", []string{`partition #1 "a"`, "weight"}},
		"negative weight": {`[{"key":"a"},{"key":"b","weight":-1}]`, []string{`partition #2 "b"`, "weight"}},
		"infinite weight": {"- key: a\n  weight: .inf\n", []string{`partition #1 "a"`, "weight"}},
		"weight not num":  {"- key: a\n  weight: heavy\n", []string{"partition #1", `"weight" "heavy" is not a number`, "line 2"}},
		"weight bool":     {"- key: a\n  weight: true\n", []string{"partition #1", "must be a number"}},
		"empty key":       {"- key: \"\"\n", []string{"partition #1", "key"}},
		"missing key":     {"- weight: 2\n", []string{"partition #1", `"key" is missing`}},
		"unknown field":   {"- key: a\n  wieght: 2\n", []string{"partition #1", `unknown field "wieght"`, "line 2"}},
		"unknown top":     {"parts:\n  - key: a\n", []string{`unknown field "parts"`}},
		"repeated field":  {"- key: a\n  key: b\n", []string{`field "key" given twice`}},
		"not a list":      {"partitions: 12\n", []string{`"partitions" must be a list`}},
		"scalar":          {"hello\n", []string{"want a list"}},
		"entry scalar":    {"- a\n", []string{"partition #1", "want an object"}},
		"malformed yaml":  {"- key: [a\n", []string{"malformed"}},
		"malformed json":  {`{"partitions": [{"key": "a",}`, []string{"malformed"}},
		"empty file":      {"", []string{"empty"}},
		"empty list":      {"[]", []string{"no partitions"}},
		"two documents":   {"- key: a\n---\n- key: b\n", []string{"more than one YAML document"}},
	} {
		t.Run(name, func(t *testing.T) {
			p := writeFile(t, "parts.yaml", tc.content)
			r := runCLI(t, nil, "run", "--partitions-file", p)
			require.Equal(t, ExitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, p)
			for _, w := range tc.want {
				assert.Contains(t, r.stderr, w)
			}
		})
	}
}

func TestPartitionsFileMissing(t *testing.T) {
	p := filepath.Join(t.TempDir(), "nope.yaml")
	r := runCLI(t, nil, "run", "--partitions-file", p)
	assert.Equal(t, ExitUsage, r.code)
	assert.Contains(t, r.stderr, "--partitions-file")
	assert.Contains(t, r.stderr, p)

	r = runCLI(t, nil, "run", "--partitions-file", t.TempDir()) // a folder
	assert.Equal(t, ExitUsage, r.code, r.stderr)
}

func TestDemoPartitions(t *testing.T) {
	p := demoPartitions(64)
	require.Len(t, p, 64)
	assert.Equal(t, model.Partition{Key: "p-000", Weight: 1}, p[0])
	assert.Equal(t, "p-063", p[63].Key)
	assert.Equal(t, "p-1233", demoPartitions(1234)[1233].Key)
	assert.Equal(t, "p-0000", demoPartitions(1234)[0].Key)
	require.NoError(t, model.ValidatePartitions(demoPartitions(1001)))
}
