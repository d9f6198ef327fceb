package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/web"
)

// registerCLI adds the CLI API (/api/cli/*, bearer tokens) and the Settings
// page where people manage their tokens and sessions.
func (h *handlers) registerCLI(r gin.IRouter) {
	r.GET("/settings", requireUser(), func(c *gin.Context) {
		h.d.Pages.Serve(c, http.StatusOK, "settings", web.PageFor(c, "Settings", "settings"))
	})
}
