package workflows_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/testenv"
)

// goFiles parses every non-test Go file under dir (relative to the module
// root), skipping the module's tool and data folders.
func goFiles(t *testing.T, dir string) map[string]*ast.File {
	t.Helper()
	root := testenv.RepoRoot()
	fset := token.NewFileSet()
	files := map[string]*ast.File{}
	err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		if d.IsDir() {
			switch rel {
			case "tools", ".mobayilo", ".git":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		files[rel] = f
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no Go files under %s", dir)
	}
	return files
}

// TestOnlyTheWorkflowClientsStartSignalOrUpdateWorkflows holds the one way
// in: outside workflows/, no production code calls the Temporal client's
// start, signal or update methods; it calls the typed clients beside each
// workflow instead.
func TestOnlyTheWorkflowClientsStartSignalOrUpdateWorkflows(t *testing.T) {
	forbidden := map[string]bool{"ExecuteWorkflow": true, "SignalWorkflow": true, "SignalWithStartWorkflow": true,
		"UpdateWorkflow": true, "UpdateWithStartWorkflow": true, "NewWithStartWorkflowOperation": true}
	for path, f := range goFiles(t, ".") {
		if filepath.Dir(path) == "workflows" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); ok && forbidden[sel.Sel.Name] {
				t.Errorf("%s calls %s: start, signal and update workflows through the clients in workflows/ (e.g. workflows.Client.StartTopUp)", path, sel.Sel.Name)
			}
			return true
		})
	}
}

// TestWorkflowsImportOnlyWorkflowFacingTypes: workflow code sees its own
// types and the activities' public ones, never the persistence or provider
// layers (which would tie workflow payloads to table and SDK shapes).
func TestWorkflowsImportOnlyWorkflowFacingTypes(t *testing.T) {
	banned := []string{"github.com/mobayilo/mobayilo/models", "github.com/mobayilo/mobayilo/internal/providers", "gorm.io/", "net/http"}
	for path, f := range goFiles(t, "workflows") {
		if filepath.Dir(path) != "workflows" {
			continue
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, b := range banned {
				if p == b || strings.HasPrefix(p, b) {
					t.Errorf("%s imports %s; workflows may import only workflow-facing types", path, p)
				}
			}
		}
	}
}
