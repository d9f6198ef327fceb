package config_test

import (
	"strings"
	"testing"

	"github.com/mobayilo/mobayilo/internal/config"
)

func TestLoad_SignInSettings(t *testing.T) {
	c, err := config.Load(map[string]string{})
	if err != nil || c.BetaGate || c.MarketingOrigin != "" {
		t.Fatalf("defaults: gate %v origin %q err %v; want the gate off and no marketing origin", c.BetaGate, c.MarketingOrigin, err)
	}
	c, err = config.Load(map[string]string{"BETA_GATE": "true", "MARKETING_ORIGIN": "https://mobayilo.com"})
	if err != nil || !c.BetaGate || c.MarketingOrigin != "https://mobayilo.com" {
		t.Fatalf("set: %+v %v", c, err)
	}
	if _, err := config.Load(map[string]string{"MARKETING_ORIGIN": "http://localhost:3000"}); err != nil {
		t.Fatalf("an origin with a port: %v", err)
	}
	for _, bad := range []string{"mobayilo.com", "https://mobayilo.com/", "https://mobayilo.com/signup", "ftp://mobayilo.com", "https://user@mobayilo.com", "https://mobayilo.com?x=1"} {
		_, err := config.Load(map[string]string{"MARKETING_ORIGIN": bad})
		if err == nil || !strings.Contains(err.Error(), "MARKETING_ORIGIN") {
			t.Errorf("MARKETING_ORIGIN=%q: %v, want an error naming the variable", bad, err)
		}
	}
	if _, err := config.Load(map[string]string{"BETA_GATE": "perhaps"}); err == nil || !strings.Contains(err.Error(), "BETA_GATE") {
		t.Errorf("BETA_GATE=perhaps: %v", err)
	}
}
