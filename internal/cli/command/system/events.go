package system

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/moby/moby/api/types/events"
	"github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/berth-engine/berth/internal/cli/command"
	"github.com/berth-engine/berth/internal/cli/formatter"
)

type eventsOptions struct {
	since, until string
	filter       *command.FilterOpt
	format       string
}

// NewEventsCommand returns `berth system events` (also `berth events`).
func NewEventsCommand(cli *command.Cli) *cobra.Command {
	opts := eventsOptions{filter: command.NewFilterOpt()}
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the server",
		Args:  command.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), cli, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.since, "since", "", "Show all events created since timestamp")
	f.StringVar(&opts.until, "until", "", "Stream events until this timestamp")
	f.VarP(opts.filter, "filter", "f", "Filter output based on conditions provided")
	f.StringVar(&opts.format, "format", "", "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template")
	return cmd
}

// eventView is what --format templates and json see: the message with the
// status, id and from fields docker's CLI still shows for container and
// image events.
type eventView struct {
	Status string `json:"status,omitempty"`
	ID     string `json:"id,omitempty"`
	From   string `json:"from,omitempty"`
	events.Message
}

func newEventView(m events.Message) eventView {
	v := eventView{Message: m}
	if m.Type == events.ContainerEventType || m.Type == events.ImageEventType {
		v.Status, v.ID = string(m.Action), m.Actor.ID
		if m.Type == events.ContainerEventType {
			v.From = m.Actor.Attributes["image"]
		}
	}
	return v
}

func runEvents(ctx context.Context, cli *command.Cli, opts eventsOptions) error {
	var tmpl *template.Template
	switch opts.format {
	case "":
	case formatter.JSONKey:
		tmpl, _ = formatter.Parse("{{json .}}")
	default:
		var err error
		if tmpl, err = formatter.Parse(opts.format); err != nil {
			return command.StatusError{Status: "template parsing error: " + err.Error(), StatusCode: 64}
		}
	}
	api, err := cli.Client()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	res := api.Events(ctx, client.EventsListOptions{Since: opts.since, Until: opts.until, Filters: opts.filter.Value()})
	for {
		select {
		case m := <-res.Messages:
			if err := printEvent(cli.Out(), tmpl, m); err != nil {
				return err
			}
		case err := <-res.Err:
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
	}
}

// printEvent writes one event: through the template, or in docker's line
// format "<time> <type> <action> <id> (k=v, ...)" with the attributes
// sorted by key.
func printEvent(out io.Writer, tmpl *template.Template, m events.Message) error {
	if tmpl != nil {
		var b strings.Builder
		if err := tmpl.Execute(&b, newEventView(m)); err != nil {
			return err
		}
		_, err := fmt.Fprintln(out, b.String())
		return err
	}
	var b strings.Builder
	switch {
	case m.TimeNano != 0:
		b.WriteString(time.Unix(0, m.TimeNano).Format(timeFormat) + " ")
	case m.Time != 0:
		b.WriteString(time.Unix(m.Time, 0).Format(timeFormat) + " ")
	}
	fmt.Fprintf(&b, "%s %s %s", m.Type, m.Action, m.Actor.ID)
	if len(m.Actor.Attributes) > 0 {
		keys := make([]string, 0, len(m.Actor.Attributes))
		for k := range m.Actor.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		attrs := make([]string, len(keys))
		for i, k := range keys {
			attrs[i] = k + "=" + m.Actor.Attributes[k]
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(attrs, ", "))
	}
	_, err := fmt.Fprintln(out, b.String())
	return err
}

// timeFormat is docker's fixed-width RFC 3339 with nanoseconds.
const timeFormat = "2006-01-02T15:04:05.000000000Z07:00"
