package tui

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// ellipsis marks text cut to fit.
const ellipsis = "…"

// textWidth is the number of terminal cells s takes (s holds no escape
// sequences).
func textWidth(s string) int {
	if isASCII(s) {
		return len(s)
	}
	n := 0
	for _, r := range s {
		if !narrow(r) {
			return ansi.StringWidth(s)
		}
		n++
	}
	return n
}

// narrow reports whether r is one cell wide for certain: Latin and other
// alphabetic scripts before the CJK ranges, and the punctuation, arrows,
// box-drawing, block and shape characters the dashboard draws with.
// Anything else is measured by the grapheme-aware (slower) ansi.StringWidth.
func narrow(r rune) bool {
	return r >= 0x20 && r < 0x300 || r >= 0x370 && r < 0x1100 || r >= 0x2010 && r < 0x2600
}

// screenWidth is the number of cells a styled line takes: SGR and other
// CSI sequences take none.
func screenWidth(s string) int {
	n := 0
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == 0x1b:
			if i+1 >= len(s) || s[i+1] != '[' {
				return ansi.StringWidth(s)
			}
			i += 2
			for i < len(s) && (s[i] < 0x40 || s[i] > 0x7e) {
				i++
			}
			i++
		case c < utf8.RuneSelf:
			if c < 0x20 {
				return ansi.StringWidth(s)
			}
			n++
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			if !narrow(r) {
				return ansi.StringWidth(s)
			}
			n++
			i += size
		}
	}
	return n
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// fit cuts plain text s to at most w cells, ending in "…" when cut.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if textWidth(s) <= w {
		return s
	}
	if w == 1 {
		return ellipsis
	}
	if isASCII(s) {
		return s[:w-1] + ellipsis
	}
	return ansi.Truncate(s, w, ellipsis)
}

// pad cuts or pads plain text s to exactly w cells.
func pad(s string, w int) string {
	s = fit(s, w)
	if n := textWidth(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// padLeft cuts or pads plain text s to exactly w cells, right-aligned.
func padLeft(s string, w int) string {
	s = fit(s, w)
	if n := textWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return s
}

// age formats how long ago t was at now, compactly: 0.4s, 12s, 3m05s,
// 2h10m, 3d4h. A zero t is "-".
func age(now, t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return dur(now.Sub(t))
}

// dur formats a duration compactly (see age); negative durations are 0s.
func dur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d/time.Minute), int(d%time.Minute/time.Second))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}

// millis formats a rebalance duration: 0.42ms, 12.3ms, 1.20s.
func millis(d time.Duration) string {
	switch {
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 2, 64) + "ms"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

// clock formats t as a wall-clock time in loc; "-" for zero.
func clock(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("15:04:05")
}

// weight formats a partition weight: integers without decimals.
func weight(w float64) string {
	if w == float64(int64(w)) && w < 1e12 && w > -1e12 {
		return strconv.FormatInt(int64(w), 10)
	}
	return strconv.FormatFloat(w, 'g', 4, 64)
}

// plural returns "1 worker" / "3 workers".
func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// joinFit joins keys with commas, cut to at most w cells with a "…(+N)"
// suffix counting the keys left out; "-" for none.
func joinFit(keys []string, w int) string {
	if len(keys) == 0 {
		return "-"
	}
	var b strings.Builder
	used := 0
	for i, k := range keys {
		add := textWidth(k)
		if i > 0 {
			add++
		}
		rest := ""
		if i < len(keys)-1 {
			rest = ",…(+" + strconv.Itoa(len(keys)-i-1) + ")"
		}
		lastFits := i == len(keys)-1 && used+add <= w
		if used+add+textWidth(rest) > w && !lastFits {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString("…(+" + strconv.Itoa(len(keys)-i) + ")")
			return fit(b.String(), w)
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k)
		used += add
	}
	return b.String()
}
