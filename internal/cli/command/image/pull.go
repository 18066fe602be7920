package image

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/distribution/reference"
	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/jsonmessage"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/dockerconfig"
)

// registryAPI is the part of the Engine API client pull and push use.
type registryAPI interface {
	ImagePull(ctx context.Context, ref string, opts client.ImagePullOptions) (client.ImagePullResponse, error)
	ImagePush(ctx context.Context, ref string, opts client.ImagePushOptions) (client.ImagePushResponse, error)
}

func registryClient(cli *command.Cli) (registryAPI, error) {
	api, err := cli.Client()
	if err != nil {
		return nil, err
	}
	r, ok := api.(registryAPI)
	if !ok {
		return nil, errors.New("this client cannot pull or push")
	}
	return r, nil
}

// encodedAuth is the X-Registry-Auth value for the registry of named,
// from the docker CLI's config.
func encodedAuth(named reference.Named) (string, error) {
	f, err := dockerconfig.Load(dockerconfig.Dir())
	if err != nil {
		return "", err
	}
	cfg, err := f.Get(dockerconfig.ServerKey(reference.Domain(named)))
	if err != nil {
		return "", err
	}
	return dockerconfig.EncodeAuth(cfg), nil
}

// displayStream renders a pull or push progress stream as the docker CLI
// does: bars on a terminal, one line per step elsewhere.
func displayStream(cli *command.Cli, rc io.Reader, quiet bool) error {
	out := cli.Out()
	if quiet {
		out = io.Discard
	}
	var fd uintptr
	isTerm := false
	if f, ok := cli.Out().(*os.File); ok && !quiet {
		fd = f.Fd()
		isTerm = term.IsTerminal(int(fd))
	}
	return jsonmessage.DisplayJSONMessagesStream(rc, out, fd, isTerm, nil)
}

type pullOptions struct {
	platform string
	quiet    bool
	all      bool
}

// NewPullCommand returns `berth image pull` (also `berth pull`).
func NewPullCommand(cli *command.Cli) *cobra.Command {
	var opts pullOptions
	cmd := &cobra.Command{
		Use:   "pull [OPTIONS] NAME[:TAG|@DIGEST]",
		Short: "Download an image from a registry",
		Args:  command.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPull(cmd.Context(), cli, args[0], opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.platform, "platform", os.Getenv("DOCKER_DEFAULT_PLATFORM"), "Set platform if server is multi-platform capable")
	f.BoolVarP(&opts.quiet, "quiet", "q", false, "Suppress verbose output")
	f.BoolVarP(&opts.all, "all-tags", "a", false, "Download all tagged images in the repository")
	return cmd
}

// registryRef normalises name for pull and push as the docker CLI does:
// docker.io/library/ for a bare name, :latest unless all (-a) is asked
// (announced unless quiet), and no tag together with -a.
func registryRef(cli *command.Cli, name string, all, quiet bool) (reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, err
	}
	if all && !reference.IsNameOnly(named) {
		return nil, errors.New("tag can't be used with --all-tags/-a")
	}
	if !all && reference.IsNameOnly(named) {
		named = reference.TagNameOnly(named)
		if t, ok := named.(reference.Tagged); ok && !quiet {
			fmt.Fprintf(cli.Out(), "Using default tag: %s\n", t.Tag())
		}
	}
	return named, nil
}

// registryCall is what pull and push need before their request: the
// normalised reference, the API client and the credentials for its registry.
func registryCall(cli *command.Cli, name string, all, quiet bool) (reference.Named, registryAPI, string, error) {
	named, err := registryRef(cli, name, all, quiet)
	if err != nil {
		return nil, nil, "", err
	}
	api, err := registryClient(cli)
	if err != nil {
		return nil, nil, "", err
	}
	auth, err := encodedAuth(named)
	if err != nil {
		return nil, nil, "", err
	}
	return named, api, auth, nil
}

func runPull(ctx context.Context, cli *command.Cli, name string, opts pullOptions) error {
	named, api, auth, err := registryCall(cli, name, opts.all, opts.quiet)
	if err != nil {
		return err
	}
	po := client.ImagePullOptions{All: opts.all, RegistryAuth: auth}
	if opts.platform != "" {
		p, err := parsePlatform(opts.platform)
		if err != nil {
			return err
		}
		po.Platforms = []ocispec.Platform{p}
	}
	rc, err := api.ImagePull(ctx, reference.FamiliarString(named), po)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := displayStream(cli, rc, opts.quiet); err != nil {
		return err
	}
	if !opts.all {
		fmt.Fprintln(cli.Out(), named.String())
	}
	return nil
}

// parsePlatform reads os[/arch[/variant]].
func parsePlatform(s string) (ocispec.Platform, error) {
	var p ocispec.Platform
	parts := splitN(s, '/')
	if len(parts) == 0 || len(parts) > 3 || parts[0] == "" {
		return p, fmt.Errorf("invalid platform %q: want os[/arch[/variant]]", s)
	}
	p.OS = parts[0]
	if len(parts) > 1 {
		p.Architecture = parts[1]
	}
	if len(parts) > 2 {
		p.Variant = parts[2]
	}
	return p, nil
}

func splitN(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// PullMissing pulls the image name (tag "latest" when it has none) as
// docker run and create do when the daemon does not have it, showing the
// progress on out (the CLI's stderr).
func PullMissing(ctx context.Context, cli *command.Cli, name, platform string, out io.Writer) error {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return err
	}
	named = reference.TagNameOnly(named)
	fmt.Fprintf(out, "Unable to find image '%s' locally\n", reference.FamiliarString(named))
	api, err := registryClient(cli)
	if err != nil {
		return err
	}
	auth, err := encodedAuth(named)
	if err != nil {
		return err
	}
	po := client.ImagePullOptions{RegistryAuth: auth}
	if platform != "" {
		p, err := parsePlatform(platform)
		if err != nil {
			return err
		}
		po.Platforms = []ocispec.Platform{p}
	}
	rc, err := api.ImagePull(ctx, reference.FamiliarString(named), po)
	if err != nil {
		return err
	}
	defer rc.Close()
	var fd uintptr
	isTerm := false
	if f, ok := out.(*os.File); ok {
		fd = f.Fd()
		isTerm = term.IsTerminal(int(fd))
	}
	return jsonmessage.DisplayJSONMessagesStream(rc, out, fd, isTerm, nil)
}
