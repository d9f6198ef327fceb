package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// modulePath is this repository's module.
const modulePath = "github.com/mobayilo/mobayilo"

// cliPackages are the module's packages moby may link: the CLI itself and
// what it shares with the server on purpose (amounts and the wire bodies).
// Any other package of the module is server code.
var cliPackages = []string{"cmd/moby", "internal/cli", "internal/money", "internal/wire"}

// serverModules are the server's third-party dependencies: databases,
// workflows, providers, the HTTP framework.
var serverModules = []string{
	"gorm.io/", "go.temporal.io/", "github.com/stripe/", "github.com/twilio/", "github.com/gin-gonic/",
	"github.com/glebarez/", "modernc.org/", "github.com/jackc/", "github.com/pressly/goose",
}

// TestDeps_MobyLinksNoServerCode holds the line package wire and money are
// there for: the CLI shares the server's definitions without linking the
// server (its database, Temporal, Stripe, Twilio or handlers).
func TestDeps_MobyLinksNoServerCode(t *testing.T) {
	chains, err := serverImports(t, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range chains {
		t.Errorf("moby links server code: %s", c)
	}
}

// The check itself must be able to fail: the top-up store imports the
// database and the models, a server dependency and a server package of
// this module, and it names the chain to each.
func TestServerImports_NamesTheChainToServerCode(t *testing.T) {
	chains, err := serverImports(t, "../../internal/credits")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{modulePath + "/internal/credits -> gorm.io/gorm", modulePath + "/internal/credits -> " + modulePath + "/models"} {
		if !slices.Contains(chains, want) {
			t.Errorf("chains from internal/credits = %q; want one to be %q", chains, want)
		}
	}
}

// serverImports lists, for each server package the package in dir links,
// the shortest import chain that brings it in ("a -> b -> gorm.io/gorm").
// The walk stops at a server package, so each chain names the first one.
func serverImports(t *testing.T, dir string) ([]string, error) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "list", "-deps", "-json=ImportPath,Imports,Standard", ".")
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -deps in %s: %v\n%s", dir, err, stderr.String())
	}
	type pkg struct {
		ImportPath string
		Imports    []string
		Standard   bool
	}
	pkgs := map[string]pkg{}
	var root string
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("read go list output: %w", err)
		}
		pkgs[p.ImportPath] = p
		root = p.ImportPath // go list -deps prints the package itself last
	}
	// Breadth first, so each chain is a shortest one.
	from := map[string]string{root: ""}
	queue := []string{root}
	var chains []string
	for len(queue) > 0 {
		cur := queue[0]
		queue = queue[1:]
		if isServer(cur, pkgs[cur].Standard) && cur != root {
			chains = append(chains, chainTo(from, cur))
			continue
		}
		for _, imp := range pkgs[cur].Imports {
			if _, seen := from[imp]; !seen {
				from[imp] = cur
				queue = append(queue, imp)
			}
		}
	}
	slices.Sort(chains)
	return chains, nil
}

func isServer(path string, standard bool) bool {
	if standard {
		return false
	}
	if rel, ok := strings.CutPrefix(path, modulePath+"/"); ok {
		return !slices.ContainsFunc(cliPackages, func(p string) bool { return rel == p || strings.HasPrefix(rel, p+"/") })
	}
	return slices.ContainsFunc(serverModules, func(m string) bool { return strings.HasPrefix(path, m) })
}

func chainTo(from map[string]string, p string) string {
	chain := []string{p}
	for from[p] != "" {
		p = from[p]
		chain = append(chain, p)
	}
	slices.Reverse(chain)
	return strings.Join(chain, " -> ")
}
