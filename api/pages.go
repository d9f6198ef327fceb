package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/web"
)

// registerPages adds the signed-in app shell's pages that later issues fill
// in: the dialer, call history and credits.
func (h *handlers) registerPages(r gin.IRouter) {
	for _, pg := range []struct{ path, name, title string }{
		{"/dial", "dial", "Dial"},
		{"/history", "history", "History"},
		{"/credits", "credits", "Credits"},
	} {
		r.GET(pg.path, requireUser(), func(c *gin.Context) {
			h.d.Pages.Serve(c, http.StatusOK, pg.name, web.PageFor(c, pg.title, pg.name))
		})
	}
}
