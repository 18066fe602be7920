//go:build !linux

package netns

import "errors"

// Do runs fn where the caller is when path is ""; other namespaces exist on
// Linux only.
func Do(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return errors.New("network namespaces are Linux only")
}
