package cmdutil

import (
	"fmt"
	"sync"
	"time"

	"github.com/mobayilo/mobayilo/internal/cli/iostreams"
)

var spinnerFrames = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

// StartProgress tells the person on stderr that moby is waiting. On a
// terminal that allows colour (not NO_COLOR, not TERM=dumb) it animates a
// spinner before msg until stop is called, and then clears the line;
// elsewhere (a pipe, a log file, NO_COLOR) it prints msg once, so logs never
// fill with control characters. stop may be called more than once.
func StartProgress(ios *iostreams.IOStreams, msg string) (stop func()) {
	if !ios.ErrColorEnabled() {
		fmt.Fprintln(ios.ErrOut, msg)
		return func() {}
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			fmt.Fprintf(ios.ErrOut, "\r%s %s", spinnerFrames[i%len(spinnerFrames)], msg)
			select {
			case <-done:
				fmt.Fprint(ios.ErrOut, "\r\x1b[K")
				return
			case <-t.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			<-finished
		})
	}
}
