package registry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/registry"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/clitest"
	"github.com/berth-engine/berth/internal/cli/command"
)

type loginFake struct {
	*clitest.FakeClient
	got client.RegistryLoginOptions
}

func (f *loginFake) RegistryLogin(_ context.Context, o client.RegistryLoginOptions) (client.RegistryLoginResult, error) {
	f.got = o
	if o.Password != "right" {
		return client.RegistryLoginResult{}, errors.New("login attempt to http://" + o.ServerAddress + "/v2/ failed with status: 401 Unauthorized")
	}
	return client.RegistryLoginResult{Auth: registry.AuthResponse{Status: "Login Succeeded"}}, nil
}

func run(t *testing.T, fake *loginFake, newCmd func(*command.Cli) *cobra.Command, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cli := command.NewCli(&out, &errb, func(string) string { return "" })
	cli.In = strings.NewReader(stdin)
	cli.NewClient = func(string) (command.APIClient, error) { return fake, nil }
	cmd := newCmd(cli)
	cmd.SetArgs(args)
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

func TestLoginLogout(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", dir)
	fake := &loginFake{FakeClient: &clitest.FakeClient{}}
	if _, _, err := run(t, fake, NewLoginCommand, "", "-u", "u", "-p", "wrong", "127.0.0.1:5000"); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err == nil {
		t.Fatal("a refused login was saved")
	}
	out, _, err := run(t, fake, NewLoginCommand, "right\n", "-u", "u", "--password-stdin", "http://127.0.0.1:5000/")
	if err != nil || out != "Login Succeeded\n" || fake.got.ServerAddress != "127.0.0.1:5000" || fake.got.Username != "u" {
		t.Fatalf("login: %q %v %+v", out, err, fake.got)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "config.json"))
	if !strings.Contains(string(data), `"127.0.0.1:5000"`) {
		t.Fatalf("config.json: %s", data)
	}
	// Kept credentials are used when none are given.
	if out, _, err := run(t, fake, NewLoginCommand, "", "127.0.0.1:5000"); err != nil || out != "Login Succeeded\n" || fake.got.Password != "right" {
		t.Fatalf("login with kept credentials: %q %v", out, err)
	}
	if _, _, err := run(t, fake, NewLoginCommand, "", "-p", "x", "--password-stdin", "h"); err == nil {
		t.Fatal("--password with --password-stdin accepted")
	}
	if out, _, err := run(t, fake, NewLogoutCommand, "", "127.0.0.1:5000"); err != nil || out != "Removing login credentials for 127.0.0.1:5000\n" {
		t.Fatalf("logout: %q %v", out, err)
	}
	if out, _, err := run(t, fake, NewLogoutCommand, "", "127.0.0.1:5000"); err != nil || out != "Not logged in to 127.0.0.1:5000\n" {
		t.Fatalf("second logout: %q %v", out, err)
	}
}
