package atomicfile

import (
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"sync"
)

// live holds the temporaries being written or waiting to be renamed, so
// that RemoveTemps can delete them when the process is stopped. Its lock
// is held while a temporary is created and while a Set's renames run.
var live struct {
	sync.Mutex
	paths   map[string]bool
	stopped bool // by RemoveTemps: nothing more is created or renamed
}

// errStopped refuses work after RemoveTemps.
var errStopped = errors.New("stopping: temporaries removed")

// createTemp creates a new temporary file for target in its directory,
// mode 0644 less the umask. Its name, ".BASE.chanprune-tmp-RANDOM",
// cannot be an existing file (O_EXCL), so a temporary that a SIGKILL left
// is never overwritten, and never read unless named.
func createTemp(target string) (*os.File, error) {
	live.Lock()
	defer live.Unlock()
	if live.stopped {
		return nil, errStopped
	}
	name := filepath.Join(filepath.Dir(target), "."+filepath.Base(target)+".chanprune-tmp-"+rand.Text()[:12])
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, err
	}
	if live.paths == nil {
		live.paths = map[string]bool{}
	}
	live.paths[name] = true
	return f, nil
}

// dropTemp removes a temporary that will not be renamed.
func dropTemp(name string) {
	live.Lock()
	defer live.Unlock()
	os.Remove(name)
	delete(live.paths, name)
}

// Stopped says whether RemoveTemps has run.
func Stopped() bool {
	live.Lock()
	defer live.Unlock()
	return live.stopped
}

// RemoveTemps removes every temporary not yet renamed, for a process about
// to exit on a signal. It waits for a Set's renames under way to finish,
// and no temporary is created or renamed afterwards.
func RemoveTemps() {
	live.Lock()
	defer live.Unlock()
	live.stopped = true
	for name := range live.paths {
		os.Remove(name)
	}
	clear(live.paths)
}
