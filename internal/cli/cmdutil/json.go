package cmdutil

import (
	"encoding/json"

	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

// Exporter writes a command's result as machine-readable data. Every
// command's --json goes through the one implementation, so output looks the
// same everywhere: indented for a human at a terminal, one line in a pipe.
type Exporter interface {
	Write(ios *iostreams.IOStreams, data any) error
}

// JSONExporter is the Exporter behind --json.
type JSONExporter struct{}

// Write encodes data as JSON on stdout.
func (JSONExporter) Write(ios *iostreams.IOStreams, data any) error {
	enc := json.NewEncoder(ios.Out)
	enc.SetEscapeHTML(false) // URLs with & stay readable
	if ios.IsStdoutTTY() {
		enc.SetIndent("", "  ")
	}
	return enc.Encode(data)
}
