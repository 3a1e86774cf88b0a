package cmd

import (
	"os"
	"strconv"

	"github.com/charmbracelet/x/term"
)

// defaultTerminalWidth is assumed when stdout is a terminal of unknown size.
const defaultTerminalWidth = 80

// terminalWidth is the width of the terminal stdout writes to: $COLUMNS if
// set, else the terminal's size, else 80.
func terminalWidth(f *Factory) int {
	if v, ok := f.Lookup("COLUMNS"); ok {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			return n
		}
	}
	if fh, ok := f.IO.Out.(*os.File); ok && f.IO.OutIsTTY {
		if w, _, err := term.GetSize(fh.Fd()); err == nil && w > 0 {
			return w
		}
	}
	return defaultTerminalWidth
}
