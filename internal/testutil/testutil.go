// Package testutil finds the shared fixtures (../shared beside the repository
// root) for tests.
package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

// RepoRoot returns the directory holding go.mod, searching upward from the
// working directory (a package directory while tests run).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("testutil: go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of name inside ../shared. When ../shared is absent
// the test is skipped with a clear message, except under CI (CI=true), where
// the fixtures must be present and their absence is a failure.
func Shared(tb testing.TB, name ...string) string {
	tb.Helper()
	root := filepath.Join(RepoRoot(tb), "..", "shared")
	if _, err := os.Stat(root); err != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("shared fixtures missing at %s (required in CI)", root)
		}
		tb.Skipf("shared fixtures not found at %s: skipping", root)
	}
	return filepath.Join(append([]string{root}, name...)...)
}

// Long reports whether the long verification mode is on (D3_LONG=1), which
// runs the full 500-problem and every-format checks that CI leaves out.
func Long() bool { return os.Getenv("D3_LONG") == "1" }
