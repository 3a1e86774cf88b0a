package calculator

// loopReclaimForTest exposes the pending reclaims; only call it while the
// loop is parked (inside a synctest bubble after synctest.Wait).
func (c *Calculator) loopReclaimForTest() map[string]string { return c.loop.reclaim }
