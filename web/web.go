// Package web holds Mobayilo's server-rendered pages: html/template pages
// around one layout, and the CSS, JavaScript and icons they use, all embedded
// in the binary so nothing is fetched from a CDN.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed templates/*.html
var templateFS embed.FS

// Page is what every template renders.
type Page struct {
	Title string
	// Nav names the bottom-bar tab to mark as current: "dial", "history",
	// "credits", "settings", or "" for none.
	Nav       string
	RequestID string
	CSRFToken string
	Flash     string
	// FlashAction, when set, is a link shown with the flash: the one thing
	// to do about it.
	FlashAction *Link
	// Viewer is the signed-in person, nil when nobody is signed in.
	Viewer *Viewer
	Data   any
	// Sandbox shows the sandbox banner; the Renderer sets it on every page
	// of a deployment in sandbox mode.
	Sandbox bool
}

// Link is a labelled link to a page of ours.
type Link struct {
	Href, Text string
}

// Viewer is what the layout shows of the signed-in person.
type Viewer struct {
	Email          string
	IsAdmin        bool // a Mobayilo operator
	IsCompanyAdmin bool // owns a company wallet
	IsSeat         bool
	BalanceCents   int64
}

// pageNames lists the pages a Renderer knows: every templates/<name>.html
// but the layout, each defining "content" inside templates/layout.html.
func pageNames() ([]string, error) {
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name != "layout" {
			names = append(names, name)
		}
	}
	return names, nil
}

// keypadKey is one key of the dialer's keypad, with the letters phones
// print under it.
type keypadKey struct{ Key, Letters string }

var keypad = []keypadKey{{"1", ""}, {"2", "ABC"}, {"3", "DEF"}, {"4", "GHI"}, {"5", "JKL"}, {"6", "MNO"},
	{"7", "PQRS"}, {"8", "TUV"}, {"9", "WXYZ"}, {"*", ""}, {"0", "+"}, {"#", ""}}

// tab is one entry of the bottom navigation bar.
type tab struct {
	Key, Label, Icon string
	Current          bool
}

func newTab(nav, key, label, icon string) tab {
	return tab{Key: key, Label: label, Icon: icon, Current: nav == key}
}

// Renderer renders the pages parsed once by New.
type Renderer struct {
	pages   map[string]*template.Template
	sandbox bool
}

// WithSandboxBanner returns a Renderer that marks every page it renders as
// the sandbox's, so nobody mistakes test money for real.
func (r *Renderer) WithSandboxBanner() *Renderer {
	c := *r
	c.sandbox = true
	return &c
}

// New parses the layout and every page. It fails if any template does not
// parse or refers to a static asset that is not embedded.
func New() (*Renderer, error) {
	as, err := loadAssets()
	if err != nil {
		return nil, err
	}
	base, err := template.New("layout.html").Funcs(template.FuncMap{
		"asset":      as.url,
		"countries":  func() []country { return countries },
		"keypadKeys": func() []keypadKey { return keypad },
		"page":       func() string { return "" },
		"tab":        newTab,
	}).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	names, err := pageNames()
	if err != nil {
		return nil, err
	}
	rd := &Renderer{pages: make(map[string]*template.Template, len(names))}
	for _, name := range names {
		t, err := base.Clone()
		if err != nil {
			return nil, fmt.Errorf("web: clone layout for %s: %w", name, err)
		}
		t.Funcs(template.FuncMap{"page": func() string { return name }})
		if _, err := t.ParseFS(templateFS, "templates/"+name+".html"); err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		if t.Lookup("content") == nil {
			return nil, fmt.Errorf("web: %s.html defines no \"content\" template", name)
		}
		// A trial run catches what parsing cannot, such as a link to a
		// static file that is not embedded. Data is nil here: pages read it
		// inside {{with .Data}}.
		if err := t.ExecuteTemplate(io.Discard, "layout.html", Page{Title: "check", Nav: "dial", CSRFToken: "check", Flash: "check", RequestID: "check", Sandbox: true}); err != nil {
			return nil, fmt.Errorf("web: render %s: %w", name, err)
		}
		rd.pages[name] = t
	}
	return rd, nil
}

// Render writes page name with the given status. The page is rendered into
// a buffer first, so a template error leaves w untouched for the caller to
// answer with an error page instead of half a page.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, p Page) error {
	t, ok := r.pages[name]
	if !ok {
		return fmt.Errorf("web: no page named %q", name)
	}
	p.Sandbox = p.Sandbox || r.sandbox
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", p); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, err := buf.WriteTo(w)
	return err
}
