package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/mobayilo/mobayilo/internal/testenv"
	"github.com/mobayilo/mobayilo/web"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(testenv.Main(m))
}

// newEngine serves the web pages the way the API server mounts them.
func newEngine(t testing.TB, middleware ...gin.HandlerFunc) *gin.Engine {
	t.Helper()
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	e.Use(middleware...)
	web.Register(e, rd, nil)
	// The signed-in pages are package api's, behind its session middleware;
	// here they are served plainly so the shell can be tested on its own.
	for _, pg := range []struct{ path, name, title string }{
		{"/dial", "dial", "Dial"}, {"/history", "history", "History"},
		{"/credits", "credits", "Credits"}, {"/settings", "settings", "Settings"},
	} {
		h := func(c *gin.Context) { rd.Serve(c, http.StatusOK, pg.name, web.PageFor(c, pg.title, pg.name)) }
		e.GET(pg.path, h)
		e.HEAD(pg.path, h)
	}
	e.NoRoute(web.NotFound(rd))
	return e
}

func get(t testing.TB, h http.Handler, path string, header ...string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

var currentTab = regexp.MustCompile(`<a class="tab" href="(/[a-z]+)" aria-current="page">`)

func TestPages_RenderWithTitleAndBottomNav(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		path, title, current string
	}{
		{"/", "International calls from your browser", ""},
		{"/dial", "Dial", "/dial"},
		{"/history", "History", "/history"},
		{"/credits", "Credits", "/credits"},
		{"/settings", "Settings", "/settings"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			rec := get(t, e, tc.path, "Accept", "text/html")
			if rec.Code != http.StatusOK {
				t.Fatalf("status = %d, want 200", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q", ct)
			}
			body := rec.Body.String()
			if want := "<title>" + tc.title + " · Mobayilo</title>"; !strings.Contains(body, want) {
				t.Errorf("body has no %q", want)
			}
			if !strings.Contains(body, `<meta name="viewport"`) {
				t.Error("no viewport meta")
			}
			for _, tab := range []string{"Dial", "History", "Credits", "Settings"} {
				if !strings.Contains(body, `<span class="tab-label">`+tab+`</span>`) {
					t.Errorf("bottom nav has no %s tab", tab)
				}
			}
			var got []string
			for _, m := range currentTab.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			want := []string{}
			if tc.current != "" {
				want = []string{tc.current}
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("tabs marked current = %v, want %v", got, want)
			}
		})
	}
}

func TestPages_AnswerHEAD(t *testing.T) {
	e := newEngine(t)
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/credits", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("HEAD /credits = %d, want 200", rec.Code)
	}
}

func TestHome_HasPriceCheckForTheRatesAPI(t *testing.T) {
	body := get(t, newEngine(t), "/").Body.String()
	for _, want := range []string{
		`action="/api/rates/calculate"`,
		`name="phone_number"`,
		`name="country"`,
		`<option value="NG">Nigeria (+234)</option>`,
		`href="/dial"`,
		"Open dialer",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home page has no %q", want)
		}
	}
}

func TestPages_WorkUnderStrictCSP(t *testing.T) {
	e := newEngine(t)
	inlineHandler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	inlineScript := regexp.MustCompile(`(?i)<script(\s[^>]*)?>[^<]+</script>`)
	external := regexp.MustCompile(`(?i)(src|href)="(https?:)?//`)
	for _, path := range []string{"/", "/dial", "/history", "/credits", "/settings", "/nope"} {
		body := get(t, e, path).Body.String()
		for what, re := range map[string]*regexp.Regexp{
			"inline event handler":    inlineHandler,
			"inline script":           inlineScript,
			"style attribute":         regexp.MustCompile(`\sstyle=`),
			"asset from another host": external,
		} {
			if m := re.FindString(body); m != "" {
				t.Errorf("%s has an %s: %q", path, what, m)
			}
		}
		if !strings.Contains(body, `<script src="/static/app.js?v=`) {
			t.Errorf("%s does not load app.js from /static", path)
		}
	}
}

func TestNotFound_BrowserGetsStyledPage(t *testing.T) {
	rec := get(t, newEngine(t), "/does-not-exist", "Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("Content-Type = %q, want HTML", ct)
	}
	body := rec.Body.String()
	for _, want := range []string{"Page not found", `class="tabbar"`, "Go home"} {
		if !strings.Contains(body, want) {
			t.Errorf("404 page has no %q", want)
		}
	}
	if currentTab.MatchString(body) {
		t.Error("404 page marks a tab as current")
	}
}

func TestNotFound_APIGetsJSONError(t *testing.T) {
	e := newEngine(t)
	for _, tc := range []struct {
		name, path, accept string
	}{
		{"api path, browser Accept", "/api/nope", "text/html,*/*;q=0.8"},
		{"api path, no Accept", "/api/v1/rates/x", ""},
		{"client prefers JSON", "/x", "application/json"},
		{"JSON ranked above HTML", "/x", "text/html;q=0.5, application/json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(t, e, tc.path, "Accept", tc.accept)
			if rec.Code != http.StatusNotFound {
				t.Fatalf("status = %d, want 404", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Fatalf("Content-Type = %q, want JSON", ct)
			}
			var body struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q: %v", rec.Body, err)
			}
			if body.Error.Code != "not_found" || body.Error.Message != "no route for GET "+tc.path {
				t.Errorf("error = %+v", body.Error)
			}
		})
	}
}

func TestNotFound_WildcardAcceptGetsHTML(t *testing.T) {
	for _, accept := range []string{"*/*", "", "application/json;q=0.5, text/html", "application/json, text/html"} {
		rec := get(t, newEngine(t), "/x", "Accept", accept)
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
			t.Errorf("Accept %q: Content-Type = %q, want HTML", accept, ct)
		}
	}
}

func TestStatic_ServesEmbeddedFilesWithTypesAndLongCache(t *testing.T) {
	e := newEngine(t)
	for path, want := range map[string]string{
		"/static/app.css":              "text/css; charset=utf-8",
		"/static/app.js":               "text/javascript; charset=utf-8",
		"/static/icons/sprite.svg":     "image/svg+xml",
		"/static/icons/favicon.svg":    "image/svg+xml",
		"/static/manifest.webmanifest": "application/manifest+json",
	} {
		rec := get(t, e, path+"?v=anything")
		if rec.Code != http.StatusOK {
			t.Errorf("%s: status = %d", path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type = %q, want %q", path, ct, want)
		}
		if cc := rec.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
			t.Errorf("%s: Cache-Control = %q, want a year", path, cc)
		}
		if rec.Body.Len() == 0 {
			t.Errorf("%s: empty body", path)
		}
	}
}

func TestStatic_RevalidatesWithETag(t *testing.T) {
	e := newEngine(t)
	etag := get(t, e, "/static/app.css").Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	if rec := get(t, e, "/static/app.css", "If-None-Match", etag); rec.Code != http.StatusNotModified {
		t.Errorf("conditional GET = %d, want 304", rec.Code)
	}
}

func TestStatic_MissingFilesAndFoldersAre404(t *testing.T) {
	e := newEngine(t)
	for _, path := range []string{"/static/nope.css", "/static/icons", "/static/icons/", "/static/../web.go", "/static/templates/home.html"} {
		if rec := get(t, e, path); rec.Code != http.StatusNotFound {
			t.Errorf("%s: status = %d, want 404", path, rec.Code)
		} else if strings.Contains(rec.Body.String(), "package web") {
			t.Errorf("%s leaked source", path)
		}
	}
}

func TestStatic_WorksMountedByHand(t *testing.T) {
	srv := http.StripPrefix("/static/", web.Static())
	rec := get(t, srv, "/static/app.js")
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
}

func TestRender_EscapesFlash(t *testing.T) {
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = rd.Render(rec, http.StatusOK, "credits", web.Page{
		Title: `Credits "&" <b>`,
		Nav:   "credits",
		Flash: `<script>alert("x")</script>`,
	})
	if err != nil {
		t.Fatal(err)
	}
	body := rec.Body.String()
	if strings.Contains(body, `<script>alert`) || strings.Contains(body, "<b>") {
		t.Fatalf("unescaped markup in page:\n%s", body)
	}
	if !strings.Contains(body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Errorf("flash not shown escaped")
	}
}

func TestRender_CSRFMetaOnlyWithToken(t *testing.T) {
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := rd.Render(rec, http.StatusOK, "home", web.Page{CSRFToken: `tok"en`}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rec.Body.String(), `<meta name="csrf-token" content="tok&#34;en">`) {
		t.Error("no escaped csrf-token meta")
	}
	rec = httptest.NewRecorder()
	if err := rd.Render(rec, http.StatusOK, "home", web.Page{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(rec.Body.String(), "csrf-token") {
		t.Error("csrf-token meta without a token")
	}
}

func TestRender_ErrorPageShowsRequestIDOnly(t *testing.T) {
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	err = rd.Render(rec, http.StatusServiceUnavailable, "error", web.Page{
		Title:     "Something went wrong",
		RequestID: "req-42abc",
		Data:      "pq: connection refused", // internals must never reach the page
	})
	if err != nil {
		t.Fatal(err)
	}
	if rec.Code != http.StatusServiceUnavailable {
		t.Errorf("status = %d", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "req-42abc") || !strings.Contains(body, "Something went wrong") {
		t.Error("error page lacks its title or the request id")
	}
	if strings.Contains(body, "connection refused") {
		t.Error("error page shows internals")
	}
}

func TestRender_UnknownPageIsAnErrorAndWritesNothing(t *testing.T) {
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if err := rd.Render(rec, http.StatusOK, "nope", web.Page{}); err == nil {
		t.Fatal("no error for an unknown page")
	}
	if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
		t.Error("wrote a response for an unknown page")
	}
}

func TestRegister_PagesTakeCSRFTokenFromContext(t *testing.T) {
	rd, err := web.New()
	if err != nil {
		t.Fatal(err)
	}
	e := gin.New()
	e.Use(func(c *gin.Context) {
		c.Set(web.CSRFTokenKey, "csrf-7")
	})
	web.Register(e, rd, nil)
	body := get(t, e, "/").Body.String()
	if !strings.Contains(body, `<meta name="csrf-token" content="csrf-7">`) {
		t.Error("csrf token from context not on page")
	}
}
