package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/runtime/specgen"
)

func newFeaturesCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "show the enabled features",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "    ")
			return enc.Encode(specgen.Features())
		},
	}
}
