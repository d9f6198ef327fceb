package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/web"
)

// registerPages adds the signed-in app shell's pages: the dialer (credits.go
// serves /credits, history.go /history).
func (h *handlers) registerPages(r gin.IRouter) {
	h.registerHistory(r)
	for _, pg := range []struct{ path, name, title string }{
		{"/dial", "dial", "Dial"},
	} {
		r.GET(pg.path, requireUser(), func(c *gin.Context) {
			p := web.PageFor(c, pg.title, pg.name)
			if pg.name == "dial" {
				// Checkout returns here with ?topup=<id> (credits.go);
				// otherwise a failed auto top-up is worth the banner.
				p.Flash = h.topUpFlash(c)
				if pr, ok := principal(c); ok && p.Flash == "" {
					p.Flash, p.FlashAction = h.AutoTopUpBanner(c.Request.Context(), pr.Account.ID)
				}
			}
			h.d.Pages.Serve(c, http.StatusOK, pg.name, p)
		})
	}
}
