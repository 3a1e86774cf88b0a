package tui

import "strings"

// sparkRunes are the eight bar heights of a sparkline.
var sparkRunes = []rune("▁▂▃▄▅▆▇█")

// Sparkline draws values as one bar per value, scaled to the largest, using
// at most width cells: with more values than cells it shows the most recent
// ones. Zero and negative values draw the lowest bar.
func Sparkline(values []float64, width int) string {
	if width <= 0 || len(values) == 0 {
		return ""
	}
	if len(values) > width {
		values = values[len(values)-width:]
	}
	hi := 0.0
	for _, v := range values {
		hi = max(hi, v)
	}
	var b strings.Builder
	b.Grow(len(values) * 3)
	top := len(sparkRunes) - 1
	for _, v := range values {
		i := 0
		if hi > 0 && v > 0 {
			i = int(v/hi*float64(top) + 0.5)
			i = min(max(i, 1), top) // anything above zero is visible
		}
		b.WriteRune(sparkRunes[i])
	}
	return b.String()
}

// shareBar draws a worker's weight share against its fair share in width
// cells: the fair share fills half the bar, so a bar reaching the middle
// mark is exactly balanced and a full bar is twice the fair share or more.
func shareBar(share, fair float64, width int) string {
	if width <= 0 {
		return ""
	}
	ratio := 0.0
	if fair > 0 {
		ratio = share / fair
	}
	cells := ratio * float64(width) / 2
	full := min(int(cells), width)
	var b strings.Builder
	for i := range width {
		switch {
		case i < full:
			b.WriteRune('█')
		case i == full && cells-float64(full) >= 0.5:
			b.WriteRune('▌')
		case i == width/2:
			b.WriteRune('┊')
		default:
			b.WriteRune('·')
		}
	}
	return b.String()
}
