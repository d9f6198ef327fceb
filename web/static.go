package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed static
var staticFS embed.FS

// asset is one embedded static file, read once.
type asset struct {
	body        []byte
	contentType string
	etag        string
	version     string
}

type assets map[string]asset

// contentTypes pins the types the browser must see, rather than trusting the
// host's mime.types: a stylesheet served as text/plain is ignored once
// X-Content-Type-Options is nosniff.
var contentTypes = map[string]string{
	".css":         "text/css; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".webmanifest": "application/manifest+json",
	".json":        "application/json",
	".txt":         "text/plain; charset=utf-8",
	".woff2":       "font/woff2",
}

var loadAssets = sync.OnceValues(func() (assets, error) {
	as := assets{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		version := hex.EncodeToString(sum[:])[:12]
		ext := path.Ext(p)
		ct, ok := contentTypes[ext]
		if !ok {
			if ct = mime.TypeByExtension(ext); ct == "" {
				ct = "application/octet-stream"
			}
		}
		as[strings.TrimPrefix(p, "static/")] = asset{body: body, contentType: ct, etag: `"` + version + `"`, version: version}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read static files: %w", err)
	}
	return as, nil
})

// url is the template function "asset": the URL of an embedded file with its
// content hash as a query, so a deploy changes the URL and the year-long
// cache below never serves a stale file.
func (as assets) url(name string) (string, error) {
	a, ok := as[name]
	if !ok {
		return "", fmt.Errorf("web: no static file %q", name)
	}
	return "/static/" + name + "?v=" + a.version, nil
}

// Static serves the embedded static files by their path below static/, so
// mount it as http.StripPrefix("/static/", web.Static()). Files are cached
// for a year; pages link them with a content hash (see the "asset" template
// function), so a new build is fetched at once.
func Static() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		as, err := loadAssets()
		if err != nil {
			http.Error(w, "static files unavailable", http.StatusInternalServerError)
			return
		}
		a, ok := as[strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", a.etag)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
}

// VoiceSDK is the live dialer's Twilio Voice SDK: web/voice bundles it with
// esbuild (`make voice-sdk`) into static/vendor, at build time and never
// committed, so sandbox builds need no Node.
const VoiceSDK = "vendor/voice-sdk.js"

// AssetURL is the hashed URL of an embedded static file, and false when
// this build has no such file (the Voice SDK in a build made without it).
func AssetURL(name string) (string, bool) {
	as, err := loadAssets()
	if err != nil {
		return "", false
	}
	u, err := as.url(name)
	return u, err == nil
}
