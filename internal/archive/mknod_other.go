//go:build !linux

package archive

import (
	"archive/tar"
	"errors"
)

func (a *applier) mknod(dir, base string, hdr *tar.Header) error {
	return errors.New("device nodes and FIFOs are not supported on this system")
}
