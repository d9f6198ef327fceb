package api

import "github.com/gin-gonic/gin"

// registerPages adds the signed-in app shell's pages (dialer.go serves the
// dialer, credits.go /credits, history.go /history).
func (h *handlers) registerPages(r gin.IRouter) {
	h.registerHistory(r)
}
