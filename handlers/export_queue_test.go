package handlers

import "time"

// SetTicketClock makes place tickets read and write times with now, so a
// test can see one expire without waiting.
func (h *Handler) SetTicketClock(now func() time.Time) { h.tickets.now = now }
