// Package registry holds `berth login` and `berth logout`, which keep
// credentials where the docker CLI keeps them (dockerconfig).
package registry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	registrytypes "github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/dockerconfig"
)

type loginAPI interface {
	RegistryLogin(ctx context.Context, opts client.RegistryLoginOptions) (client.RegistryLoginResult, error)
}

type loginOptions struct {
	user          string
	password      string
	passwordStdin bool
}

// NewLoginCommand returns `berth login`.
func NewLoginCommand(cli *command.Cli) *cobra.Command {
	var opts loginOptions
	cmd := &cobra.Command{
		Use:   "login [OPTIONS] [SERVER]",
		Short: "Authenticate to a registry",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			return runLogin(cmd.Context(), cli, server, opts)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&opts.user, "username", "u", "", "Username")
	f.StringVarP(&opts.password, "password", "p", "", "Password or Personal Access Token (PAT)")
	f.BoolVar(&opts.passwordStdin, "password-stdin", false, "Take the Password or Personal Access Token (PAT) from stdin")
	return cmd
}

// serverKey reads a login argument: a host[:port], a URL, or nothing for
// Docker Hub.
func serverKey(server string) string {
	s := strings.TrimSuffix(server, "/")
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		if k := dockerconfig.ServerKey(server); k == dockerconfig.IndexServer {
			return k
		}
		s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
		s, _, _ = strings.Cut(s, "/")
	}
	return dockerconfig.ServerKey(s)
}

func runLogin(ctx context.Context, cli *command.Cli, server string, opts loginOptions) error {
	if opts.password != "" && opts.passwordStdin {
		return errors.New("--password and --password-stdin are mutually exclusive")
	}
	if opts.passwordStdin {
		if opts.user == "" {
			return errors.New("must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(cli.Stdin())
		if err != nil {
			return err
		}
		opts.password = strings.TrimRight(string(b), "\r\n")
	}
	if opts.password != "" && !opts.passwordStdin {
		fmt.Fprintln(cli.Err(), "WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
	}
	key := serverKey(server)
	f, err := dockerconfig.Load(dockerconfig.Dir())
	if err != nil {
		return err
	}
	if opts.user == "" || opts.password == "" {
		kept, _ := f.Get(key)
		in := bufio.NewReader(cli.Stdin())
		if opts.user == "" {
			opts.user = kept.Username
			if opts.user == "" {
				fmt.Fprint(cli.Out(), "Username: ")
				line, _ := in.ReadString('\n')
				opts.user = strings.TrimSpace(line)
			}
		}
		if opts.password == "" && opts.user == kept.Username {
			opts.password = kept.Password
		}
		if opts.password == "" {
			fmt.Fprint(cli.Out(), "Password: ")
			line, _ := in.ReadString('\n')
			opts.password = strings.TrimRight(line, "\r\n")
			fmt.Fprintln(cli.Out())
		}
		if opts.user == "" {
			return errors.New("Error: Non-null Username Required")
		}
		if opts.password == "" {
			return errors.New("Error: Password Required")
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	la, ok := api.(loginAPI)
	if !ok {
		return errors.New("this client cannot log in")
	}
	res, err := la.RegistryLogin(ctx, client.RegistryLoginOptions{Username: opts.user, Password: opts.password, ServerAddress: key})
	if err != nil {
		return err
	}
	cfg := registrytypes.AuthConfig{Username: opts.user, Password: opts.password, ServerAddress: key}
	if res.Auth.IdentityToken != "" {
		cfg.Password, cfg.IdentityToken = "", res.Auth.IdentityToken
	}
	if err := f.Store(key, cfg); err != nil {
		return fmt.Errorf("error saving credentials: %w", err)
	}
	status := res.Auth.Status
	if status == "" {
		status = "Login Succeeded"
	}
	fmt.Fprintln(cli.Out(), status)
	return nil
}

// NewLogoutCommand returns `berth logout`.
func NewLogoutCommand(cli *command.Cli) *cobra.Command {
	return &cobra.Command{
		Use:   "logout [SERVER]",
		Short: "Log out from a registry",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			server := ""
			if len(args) > 0 {
				server = args[0]
			}
			key := serverKey(server)
			f, err := dockerconfig.Load(dockerconfig.Dir())
			if err != nil {
				return err
			}
			had, err := f.Erase(key)
			if err != nil {
				return err
			}
			if !had {
				fmt.Fprintf(cli.Out(), "Not logged in to %s\n", key)
				return nil
			}
			fmt.Fprintf(cli.Out(), "Removing login credentials for %s\n", key)
			return nil
		},
	}
}
