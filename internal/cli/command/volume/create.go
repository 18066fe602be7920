package volume

import (
	"fmt"
	"strings"

	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
)

type createOptions struct {
	name   string
	driver string
	opts   []string
	labels []string
}

// NewCreateCommand returns `berth volume create`.
func NewCreateCommand(cli *command.Cli) *cobra.Command {
	var o createOptions
	cmd := &cobra.Command{
		Use:   "create [OPTIONS] [VOLUME]",
		Short: "Create a volume",
		Args:  command.RequiresMaxArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if o.name != "" {
					return command.StatusError{Status: "Conflicting options: either specify --name or provide positional arg, not both", StatusCode: 1}
				}
				o.name = args[0]
			}
			api, err := cli.Client()
			if err != nil {
				return err
			}
			driverOpts, err := keyValues(o.opts, "opt")
			if err != nil {
				return err
			}
			labels, err := keyValues(o.labels, "")
			if err != nil {
				return err
			}
			res, err := api.VolumeCreate(cmd.Context(), client.VolumeCreateOptions{Name: o.name, Driver: o.driver, DriverOpts: driverOpts, Labels: labels})
			if err != nil {
				return err
			}
			fmt.Fprintln(cli.Out(), res.Volume.Name)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.driver, "driver", "d", "local", "Specify volume driver name")
	f.StringVar(&o.name, "name", "", "Specify volume name")
	_ = f.MarkHidden("name")
	f.StringArrayVarP(&o.opts, "opt", "o", nil, "Set driver specific options")
	f.StringArrayVar(&o.labels, "label", nil, "Set metadata for a volume")
	return cmd
}

// keyValues parses k=v flags; a label may be a bare key (empty value),
// an option may not, as with docker's flags.
func keyValues(in []string, flag string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range in {
		k, v, ok := strings.Cut(kv, "=")
		if flag != "" && !ok {
			return nil, command.StatusError{Status: fmt.Sprintf("invalid argument %q for \"-o, --%s\" flag: bad format %s", kv, flag, kv), StatusCode: 125}
		}
		out[k] = v
	}
	return out, nil
}
