package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/web"
)

// registerPages adds the signed-in app shell's pages that later issues fill
// in: call history (dialer.go serves the dialer, credits.go /credits).
func (h *handlers) registerPages(r gin.IRouter) {
	r.GET("/history", requireUser(), func(c *gin.Context) {
		h.d.Pages.Serve(c, http.StatusOK, "history", web.PageFor(c, "History", "history"))
	})
}
