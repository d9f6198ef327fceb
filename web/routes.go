package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

// Keys under which middleware leaves per-request values in the gin context
// for the pages to show.
const (
	RequestIDKey = "request_id"
	CSRFTokenKey = "csrf_token"
)

// route is one page of the app shell.
type route struct {
	path, name, title, nav string
}

// routes are the public pages; pages that need a signed-in user are
// registered by package api, behind its session middleware.
var routes = []route{
	{"/", "home", "International calls from your browser", ""},
}

// Register adds the public pages and the static files to r. dialer, when
// not nil, answers "/" for a signed-in viewer instead of the home page: the
// dialer is the app's first screen, and visitors keep the rate lookup.
func Register(r gin.IRouter, rd *Renderer, dialer gin.HandlerFunc) {
	for _, rt := range routes {
		h := func(c *gin.Context) {
			p := PageFor(c, rt.title, rt.nav)
			if rt.path == "/" && dialer != nil && p.Viewer != nil {
				dialer(c)
				return
			}
			rd.Serve(c, http.StatusOK, rt.name, p)
		}
		r.GET(rt.path, h)
		r.HEAD(rt.path, h)
	}
	static := gin.WrapH(http.StripPrefix("/static/", Static()))
	r.GET("/static/*filepath", static)
	r.HEAD("/static/*filepath", static)
}

// NotFound answers unmatched routes: the styled 404 page for people, and the
// API's JSON error for /api/ paths and clients that prefer JSON.
func NotFound(rd *Renderer) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := c.Request.URL.Path
		if p == "/api" || strings.HasPrefix(p, "/api/") || prefersJSON(c.GetHeader("Accept")) {
			c.JSON(http.StatusNotFound, errorBody{Error: errorDetail{
				Code:    "not_found",
				Message: "no route for " + c.Request.Method + " " + p,
			}})
			return
		}
		rd.Serve(c, http.StatusNotFound, "not_found", PageFor(c, "Page not found", ""))
	}
}

// errorBody is the API's error shape, {"error":{"code","message"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ViewerKey is the gin context key under which api's session middleware
// leaves the signed-in *Viewer.
const ViewerKey = "viewer"

// PageFor starts a Page with what every page shows: request id, CSRF token
// and the signed-in viewer, from the gin context.
func PageFor(c *gin.Context, title, nav string) Page {
	p := Page{
		Title:     title,
		Nav:       nav,
		RequestID: c.GetString(RequestIDKey),
		CSRFToken: c.GetString(CSRFTokenKey),
	}
	if v, ok := c.Get(ViewerKey); ok {
		p.Viewer, _ = v.(*Viewer)
	}
	return p
}

// Serve renders a page, falling back to the error page and then to plain
// text, so a broken template still answers with a 500 rather than an empty
// 200.
func (rd *Renderer) Serve(c *gin.Context, status int, name string, p Page) {
	err := rd.Render(c.Writer, status, name, p)
	if err == nil {
		return
	}
	_ = c.Error(err)
	if c.Writer.Written() {
		return
	}
	if rd.Render(c.Writer, http.StatusInternalServerError, "error", Page{Title: "Something went wrong", RequestID: p.RequestID}) != nil {
		c.String(http.StatusInternalServerError, "Internal Server Error")
	}
	c.Abort()
}

// prefersJSON reports whether an Accept header ranks application/json above
// text/html. Ties go to HTML, so browsers and "*/*" get the page.
func prefersJSON(accept string) bool {
	if accept == "" {
		return false
	}
	return quality(accept, "application", "json") > quality(accept, "text", "html")
}

// quality is the q-value the most specific range in accept gives type/sub.
func quality(accept, typ, sub string) float64 {
	best, bestRank := 0.0, -1
	for _, part := range strings.Split(accept, ",") {
		mediaRange, params, _ := strings.Cut(part, ";")
		t, s, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mediaRange)), "/")
		if !ok {
			continue
		}
		var rank int
		switch {
		case t == typ && s == sub:
			rank = 2
		case t == typ && s == "*":
			rank = 1
		case t == "*" && s == "*":
			rank = 0
		default:
			continue
		}
		if rank <= bestRank {
			continue
		}
		q := 1.0
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
		}
		best, bestRank = q, rank
	}
	return best
}
