package command

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile writes r to path through a temporary file beside it, so that a
// failed export or save leaves no partial archive under the name asked for.
func WriteFile(path string, r io.Reader) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	_, err = io.Copy(f, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Confirm asks a yes/no question on the standard input, as docker's prune
// verbs do; only "y" or "yes" is a yes.
func Confirm(cli *Cli, question string) bool {
	fmt.Fprintf(cli.Out(), "%s [y/N] ", question)
	line, _ := bufio.NewReader(cli.Stdin()).ReadString('\n')
	a := strings.ToLower(strings.TrimSpace(line))
	return a == "y" || a == "yes"
}
