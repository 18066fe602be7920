package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	goarchive "github.com/moby/go-archive"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

// copyClient is the part of the API client cp uses.
type copyClient interface {
	ContainerStatPath(ctx context.Context, id string, opts client.ContainerStatPathOptions) (client.ContainerStatPathResult, error)
	CopyFromContainer(ctx context.Context, id string, opts client.CopyFromContainerOptions) (client.CopyFromContainerResult, error)
	CopyToContainer(ctx context.Context, id string, opts client.CopyToContainerOptions) (client.CopyToContainerResult, error)
}

type cpOptions struct {
	followLink bool
	copyUIDGID bool
}

// NewCopyCommand returns `berth container cp` (also `berth cp`).
func NewCopyCommand(cli *command.Cli) *cobra.Command {
	var opts cpOptions
	cmd := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tberth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: "Copy files/folders between a container and the local filesystem\n\n" +
			"Use '-' as the source to read a tar archive from stdin\n" +
			"and extract it to a directory destination in a container.\n" +
			"Use '-' as the destination to stream a tar archive of a\n" +
			"container source to stdout.",
		Args: command.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			cc, ok := api.(copyClient)
			if !ok {
				return errors.New("this client cannot copy files")
			}
			return runCopy(cmd.Context(), cli, cc, args[0], args[1], opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.followLink, "follow-link", "L", false, "Always follow symbol link in SRC_PATH")
	flags.BoolVarP(&opts.copyUIDGID, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	return cmd
}

// splitCpArg splits CONTAINER:PATH; an absolute path, or one whose part
// before the first colon starts with ".", is local, as with docker.
func splitCpArg(arg string) (ctr, p string) {
	if filepath.IsAbs(arg) {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}

func runCopy(ctx context.Context, cli *command.Cli, api copyClient, src, dst string, opts cpOptions) error {
	srcCtr, srcPath := splitCpArg(src)
	dstCtr, dstPath := splitCpArg(dst)
	switch {
	case srcCtr != "" && dstCtr != "":
		return errors.New("copying between containers is not supported")
	case srcCtr != "":
		return copyFromContainer(ctx, cli, api, srcCtr, srcPath, dstPath, opts)
	case dstCtr != "":
		return copyToContainer(ctx, cli, api, srcPath, dstCtr, dstPath, opts)
	}
	return errors.New("must specify at least one container source")
}

func copyFromContainer(ctx context.Context, cli *command.Cli, api copyClient, ctr, srcPath, dstPath string, opts cpOptions) error {
	if dstPath != "-" {
		// Keep the trailing separator or "/.": it says "a directory".
		abs, err := filepath.Abs(dstPath)
		if err != nil {
			return err
		}
		dstPath = goarchive.PreserveTrailingDotOrSeparator(abs, dstPath)
	}
	var rebaseName string
	if opts.followLink {
		st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: srcPath})
		if err == nil && st.Stat.Mode&os.ModeSymlink != 0 {
			target := st.Stat.LinkTarget
			if !filepath.IsAbs(target) {
				dir, _ := goarchive.SplitPathDirEntry(srcPath)
				target = filepath.Join(dir, target)
			}
			srcPath, rebaseName = goarchive.GetRebaseName(srcPath, target)
		}
	}
	res, err := api.CopyFromContainer(ctx, ctr, client.CopyFromContainerOptions{SourcePath: srcPath})
	if err != nil {
		return err
	}
	defer res.Content.Close()
	if dstPath == "-" {
		_, err = io.Copy(cli.Out(), res.Content)
		return err
	}
	srcInfo := goarchive.CopyInfo{Path: srcPath, Exists: true, IsDir: res.Stat.Mode.IsDir(), RebaseName: rebaseName}
	content := io.Reader(res.Content)
	if rebaseName != "" {
		_, base := goarchive.SplitPathDirEntry(srcPath)
		rc := goarchive.RebaseArchiveEntries(res.Content, base, rebaseName)
		defer rc.Close()
		content = rc
	}
	return goarchive.CopyTo(content, srcInfo, dstPath)
}

func copyToContainer(ctx context.Context, cli *command.Cli, api copyClient, srcPath, ctr, dstPath string, opts cpOptions) error {
	if srcPath != "-" {
		abs, err := filepath.Abs(srcPath)
		if err != nil {
			return err
		}
		srcPath = goarchive.PreserveTrailingDotOrSeparator(abs, srcPath)
	}
	dstInfo := goarchive.CopyInfo{Path: dstPath}
	st, err := api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: dstPath})
	// A symlink destination is followed (inside the container) once.
	if err == nil && st.Stat.Mode&os.ModeSymlink != 0 {
		target := st.Stat.LinkTarget
		if !filepath.IsAbs(target) {
			dir, _ := goarchive.SplitPathDirEntry(dstPath)
			target = filepath.Join(dir, target)
		}
		dstInfo.Path = target
		st, err = api.ContainerStatPath(ctx, ctr, client.ContainerStatPathOptions{Path: target})
	}
	if err == nil {
		if m := st.Stat.Mode; !m.IsDir() && !m.IsRegular() {
			return fmt.Errorf("destination \"%s:%s\" must be a directory or a regular file", ctr, dstPath)
		}
		dstInfo.Exists, dstInfo.IsDir = true, st.Stat.Mode.IsDir()
	}
	// Otherwise the parent is assumed to exist; the daemon says if not.
	var (
		content  io.Reader
		resolved string
	)
	if srcPath == "-" {
		if !dstInfo.IsDir {
			return fmt.Errorf("destination \"%s:%s\" must be a directory", ctr, dstPath)
		}
		content, resolved = cli.Stdin(), dstInfo.Path
	} else {
		srcInfo, err := goarchive.CopyInfoSourcePath(srcPath, opts.followLink)
		if err != nil {
			return err
		}
		srcArchive, err := goarchive.TarResource(srcInfo)
		if err != nil {
			return err
		}
		defer srcArchive.Close()
		dstDir, prepared, err := goarchive.PrepareArchiveCopy(srcArchive, srcInfo, dstInfo)
		if err != nil {
			return err
		}
		defer prepared.Close()
		content, resolved = prepared, dstDir
	}
	_, err = api.CopyToContainer(ctx, ctr, client.CopyToContainerOptions{
		DestinationPath: resolved,
		Content:         content,
		CopyUIDGID:      opts.copyUIDGID,
	})
	return err
}
