// Package deploycheck holds tests that keep docker-compose.yml, the
// Dockerfile and .env.example in step with the code. They read the files and
// need no Docker.
package deploycheck

import (
	"bufio"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/mobayilo/mobayilo/internal/config"
)

// appServices run the mobayilo binary; the value is the subcommand each runs.
var appServices = map[string]string{"migrate": "migrate", "api": "api", "worker": "worker"}

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

type service struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     []string       `yaml:"command"`
	Environment environment    `yaml:"environment"`
	DependsOn   dependsOn      `yaml:"depends_on"`
	Ports       []yaml.Node    `yaml:"ports"`
	Healthcheck map[string]any `yaml:"healthcheck"`
	Volumes     []string       `yaml:"volumes"`
}

// environment accepts both compose forms: a mapping, or a list of NAME=value.
type environment map[string]string

func (e *environment) UnmarshalYAML(n *yaml.Node) error {
	*e = environment{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]any // merge keys (<<: *anchor) are resolved here
		if err := n.Decode(&m); err != nil {
			return err
		}
		for k, v := range m {
			if v == nil {
				(*e)[k] = ""
			} else {
				(*e)[k] = fmt.Sprint(v)
			}
		}
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, item := range l {
			k, v, _ := strings.Cut(item, "=")
			(*e)[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment must be a mapping or a list", n.Line)
	}
	return nil
}

// dependsOn accepts both compose forms: a list of names, or a mapping of
// name to {condition: …}.
type dependsOn map[string]string

func (d *dependsOn) UnmarshalYAML(n *yaml.Node) error {
	*d = dependsOn{}
	switch n.Kind {
	case yaml.SequenceNode:
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		for _, name := range l {
			(*d)[name] = "service_started"
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		if err := n.Decode(&m); err != nil {
			return err
		}
		for name, v := range m {
			(*d)[name] = orDefault(v.Condition, "service_started")
		}
	default:
		return fmt.Errorf("line %d: depends_on must be a list or a mapping", n.Line)
	}
	return nil
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	return root
}

func loadCompose(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var c composeFile
	if err := yaml.Unmarshal(b, &c); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(c.Services) == 0 {
		t.Fatal("docker-compose.yml has no services")
	}
	return c
}

func TestCompose_EveryServiceHasAnImageOrBuild(t *testing.T) {
	for name, s := range loadCompose(t).Services {
		if s.Image == "" && s.Build == nil {
			t.Errorf("service %s has neither image nor build", name)
		}
	}
}

func TestCompose_HasTheProductionStack(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"} {
		if _, ok := c.Services[name]; !ok {
			t.Errorf("service %s is missing", name)
		}
	}
	for name, sub := range appServices {
		s := c.Services[name]
		if s.Build == nil {
			t.Errorf("%s is not built from the Dockerfile", name)
		}
		if len(s.Command) == 0 || s.Command[0] != sub {
			t.Errorf("%s runs %v, want `mobayilo %s`", name, s.Command, sub)
		}
	}
}

func TestCompose_DependsOnNamesExistingServices(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for dep, cond := range s.DependsOn {
			target, ok := c.Services[dep]
			if !ok {
				t.Errorf("%s depends on unknown service %s", name, dep)
				continue
			}
			switch cond {
			case "service_started", "service_completed_successfully":
			case "service_healthy":
				if target.Healthcheck == nil {
					t.Errorf("%s waits for %s to be healthy, but %s has no healthcheck", name, dep, dep)
				}
			default:
				t.Errorf("%s depends on %s with unknown condition %q", name, dep, cond)
			}
		}
	}
}

func TestCompose_AppServicesWaitForMigrationsAndTemporal(t *testing.T) {
	c := loadCompose(t)
	if got := c.Services["migrate"].DependsOn["postgres"]; got != "service_healthy" {
		t.Errorf("migrate depends on postgres with %q, want service_healthy", got)
	}
	for _, name := range []string{"api", "worker"} {
		d := c.Services[name].DependsOn
		if d["migrate"] != "service_completed_successfully" {
			t.Errorf("%s does not wait for migrate to complete: %v", name, d)
		}
		if d["temporal"] != "service_healthy" {
			t.Errorf("%s does not wait for a healthy temporal: %v", name, d)
		}
	}
}

func TestCompose_AppServicesSetOnlyConfigVariables(t *testing.T) {
	known := config.VariableNames()
	for name := range appServices {
		for k := range loadCompose(t).Services[name].Environment {
			if !slices.Contains(known, k) {
				t.Errorf("%s sets %s, which internal/config does not read", name, k)
			}
		}
	}
}

func TestCompose_AppServicesSetDatabaseAndTemporalAddress(t *testing.T) {
	c := loadCompose(t)
	for name := range appServices {
		env := c.Services[name].Environment
		for _, k := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS"} {
			if env[k] == "" {
				t.Errorf("%s does not set %s", name, k)
			}
		}
		if got := env["TEMPORAL_ADDRESS"]; got != "temporal:7233" {
			t.Errorf("%s: TEMPORAL_ADDRESS = %q, want the temporal service", name, got)
		}
		if u, err := url.Parse(interpolate(t, env["DATABASE_URL"])); err != nil || u.Hostname() != "postgres" {
			t.Errorf("%s: DATABASE_URL %q does not point at the postgres service", name, env["DATABASE_URL"])
		}
	}
}

// With nothing in the operator's environment, compose's defaults must give
// every app process a configuration that passes validation.
func TestCompose_AppServicesConfigLoadsWithComposeDefaults(t *testing.T) {
	c := loadCompose(t)
	for name := range appServices {
		environ := map[string]string{}
		for k, v := range c.Services[name].Environment {
			environ[k] = interpolate(t, v)
		}
		if _, err := config.Load(environ); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// A production stack that forgot a secret must refuse to start, never run
// the sandbox quietly: with compose's defaults, the api and the worker fail
// the deployment check naming what is missing.
func TestCompose_APIAndWorkerRefuseToStartWithoutLiveSettings(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"api", "worker"} {
		environ := map[string]string{}
		for k, v := range c.Services[name].Environment {
			environ[k] = interpolate(t, v)
		}
		cfg, err := config.Load(environ)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		err = cfg.CheckDeployment()
		if err == nil || !strings.Contains(err.Error(), "STRIPE_SECRET_KEY") || !strings.Contains(err.Error(), "TWILIO_AUTH_TOKEN") {
			t.Errorf("%s starts with compose's defaults (%v); it must refuse without live settings", name, err)
		}
		environ["MOBAYILO_SANDBOX"] = "true"
		if cfg, _ = config.Load(environ); cfg.CheckDeployment() != nil {
			t.Errorf("%s: MOBAYILO_SANDBOX=true must start a demo stack: %v", name, cfg.CheckDeployment())
		}
	}
}

func TestCompose_APIPortMatchesPublishedContainerPort(t *testing.T) {
	api := loadCompose(t).Services["api"]
	port := api.Environment["PORT"]
	if port == "" {
		t.Fatal("api does not set PORT")
	}
	var published []string
	for _, p := range api.Ports {
		published = append(published, containerPort(t, &p))
	}
	if !slices.Contains(published, port) {
		t.Fatalf("api listens on PORT=%s but publishes container ports %v", port, published)
	}
}

// containerPort reads a port entry in short ("[ip:]host:container[/proto]")
// or long ({target: …}) syntax.
func containerPort(t *testing.T, n *yaml.Node) string {
	t.Helper()
	if n.Kind == yaml.MappingNode {
		var long struct {
			Target any `yaml:"target"`
		}
		if err := n.Decode(&long); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprint(long.Target)
	}
	short := n.Value
	short, _, _ = strings.Cut(short, "/")
	return short[strings.LastIndex(short, ":")+1:]
}

func TestCompose_TemporalHasItsOwnDatabasesAndTheAppsNamespace(t *testing.T) {
	c := loadCompose(t)
	temporal := c.Services["temporal"].Environment
	if temporal["DB"] != "postgres12" || temporal["POSTGRES_SEEDS"] != "postgres" {
		t.Errorf("temporal does not persist to the postgres service: %v", temporal)
	}
	u, err := url.Parse(interpolate(t, c.Services["api"].Environment["DATABASE_URL"]))
	if err != nil {
		t.Fatal(err)
	}
	appDB := strings.TrimPrefix(u.Path, "/")
	dbs := []string{orDefault(temporal["DBNAME"], "temporal"), orDefault(temporal["VISIBILITY_DBNAME"], "temporal_visibility")}
	if slices.Contains(dbs, appDB) {
		t.Errorf("temporal databases %v include the app's %q", dbs, appDB)
	}
	if got, want := interpolate(t, temporal["DEFAULT_NAMESPACE"]), interpolate(t, c.Services["worker"].Environment["TEMPORAL_NAMESPACE"]); got != want {
		t.Errorf("temporal creates namespace %q but the worker uses %q", got, want)
	}
}

var interpolation = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate resolves ${NAME:-default} as compose does for an operator who
// has set nothing.
func interpolate(t *testing.T, s string) string {
	t.Helper()
	return interpolation.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		g := interpolation.FindStringSubmatch(m)
		switch {
		case strings.HasSuffix(g[2], "-"):
			return g[3]
		case strings.HasSuffix(g[2], "?"):
			t.Errorf("%s is required by docker-compose.yml (%s): give it a default", g[1], m)
		}
		return ""
	})
}

func TestDockerfile_BuildsServerAndCLIWithoutCgo(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	for _, want := range []string{"./cmd/mobayilo", "./cmd/moby", "CGO_ENABLED=0", `ENTRYPOINT ["/usr/local/bin/mobayilo"]`} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile does not contain %q", want)
		}
	}
}

func TestDockerfile_CopiedPathsExist(t *testing.T) {
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ignored := dockerignore(t, root)
	copies := 0
	for _, line := range instructions(t, f) {
		fields := strings.Fields(line)
		if len(fields) < 3 || !strings.EqualFold(fields[0], "COPY") && !strings.EqualFold(fields[0], "ADD") {
			continue
		}
		args, fromStage := fields[1:], false
		for len(args) > 0 && strings.HasPrefix(args[0], "--") {
			fromStage = fromStage || strings.HasPrefix(args[0], "--from=")
			args = args[1:]
		}
		if fromStage {
			continue // copies out of a build stage, not the context
		}
		for _, src := range args[:len(args)-1] {
			copies++
			matches, err := filepath.Glob(filepath.Join(root, src))
			if err != nil || len(matches) == 0 {
				t.Errorf("Dockerfile copies %s, which does not exist", src)
			}
			if slices.Contains(ignored, filepath.Clean(src)) {
				t.Errorf("Dockerfile copies %s, which .dockerignore excludes", src)
			}
		}
	}
	if copies == 0 {
		t.Fatal("found no COPY from the build context")
	}
}

// instructions joins continuation lines and drops comments.
func instructions(t *testing.T, f *os.File) []string {
	t.Helper()
	var out []string
	var cur strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(line, `\`); ok {
			cur.WriteString(cont + " ")
			continue
		}
		cur.WriteString(line)
		if s := strings.TrimSpace(cur.String()); s != "" {
			out = append(out, s)
		}
		cur.Reset()
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func dockerignore(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	var patterns []string
	for _, line := range strings.Split(string(b), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			patterns = append(patterns, filepath.Clean(line))
		}
	}
	return patterns
}

// Temporal runs with one task-queue partition (the file says why): its
// dynamic config file is mounted where DYNAMIC_CONFIG_FILE_PATH points, and
// sets both partition counts to 1.
func TestCompose_TemporalRunsOneTaskQueuePartition(t *testing.T) {
	tmp := loadCompose(t).Services["temporal"]
	path := tmp.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	var src string
	for _, v := range tmp.Volumes {
		if parts := strings.Split(v, ":"); len(parts) >= 2 && parts[1] == path {
			src = parts[0]
		}
	}
	if path == "" || src == "" {
		t.Fatalf("temporal: DYNAMIC_CONFIG_FILE_PATH %q is not a mounted file (volumes %v)", path, tmp.Volumes)
	}
	b, err := os.ReadFile(filepath.Join(repoRoot(t), src))
	if err != nil {
		t.Fatal(err)
	}
	var dc map[string][]struct {
		Value any `yaml:"value"`
	}
	if err := yaml.Unmarshal(b, &dc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"matching.numTaskqueueReadPartitions", "matching.numTaskqueueWritePartitions"} {
		if len(dc[k]) != 1 || fmt.Sprint(dc[k][0].Value) != "1" {
			t.Errorf("%s = %v, want 1", k, dc[k])
		}
	}
}
