package clitest

import (
	"context"
	"io"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/events"

	"github.com/moby/moby/client"
)

// FakeClient is an API client whose calls are func fields; a nil field
// answers with zero values. It satisfies command.APIClient.
type FakeClient struct {
	IOFuncs
	Version              string
	PingFunc             func(client.PingOptions) (client.PingResult, error)
	ServerVersionFunc    func() (client.ServerVersionResult, error)
	InfoFunc             func() (client.SystemInfoResult, error)
	ContainerListFunc    func(client.ContainerListOptions) (client.ContainerListResult, error)
	ImageListFunc        func(client.ImageListOptions) (client.ImageListResult, error)
	ContainerCreateFunc  func(o client.ContainerCreateOptions) (client.ContainerCreateResult, error)
	ContainerStartFunc   func(id string, o client.ContainerStartOptions) (client.ContainerStartResult, error)
	ContainerAttachFunc  func(id string, o client.ContainerAttachOptions) (client.ContainerAttachResult, error)
	ContainerStopFunc    func(id string, o client.ContainerStopOptions) (client.ContainerStopResult, error)
	ContainerKillFunc    func(id string, o client.ContainerKillOptions) (client.ContainerKillResult, error)
	ContainerRestartFunc func(id string, o client.ContainerRestartOptions) (client.ContainerRestartResult, error)
	ContainerRemoveFunc  func(id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error)
	ContainerLogsFunc    func(id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error)
	ContainerInspectFunc func(id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error)
	ContainerTopFunc     func(id string, o client.ContainerTopOptions) (client.ContainerTopResult, error)
	ContainerRenameFunc  func(id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error)
	ContainerPruneFunc   func(o client.ContainerPruneOptions) (client.ContainerPruneResult, error)
	ContainerStatsFunc   func(id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error)
	ImageImportFunc      func(src client.ImageImportSource, ref string, o client.ImageImportOptions) (client.ImageImportResult, error)
	ImageInspectFunc     func(id string) (client.ImageInspectResult, error)
	ImageRemoveFunc      func(id string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error)
	ImageTagFunc         func(o client.ImageTagOptions) (client.ImageTagResult, error)
	ImageHistoryFunc     func(id string) (client.ImageHistoryResult, error)
	ImagePruneFunc       func(o client.ImagePruneOptions) (client.ImagePruneResult, error)
	ImageSaveFunc        func(images []string) (client.ImageSaveResult, error)
	ImageLoadFunc        func(input io.Reader) (client.ImageLoadResult, error)
	ContainerCommitFunc  func(id string, o client.ContainerCommitOptions) (client.ContainerCommitResult, error)
	ContainerDiffFunc    func(id string) (client.ContainerDiffResult, error)
	ContainerExportFunc  func(id string) (client.ContainerExportResult, error)
	// EventsFunc answers Events; nil gives a stream that ends at once.
	EventsFunc    func(o client.EventsListOptions) client.EventsResult
	DiskUsageFunc func(o client.DiskUsageOptions) (client.DiskUsageResult, error)
	// The volume verbs; nil answers empty results.
	VolumeCreateFunc  func(o client.VolumeCreateOptions) (client.VolumeCreateResult, error)
	VolumeListFunc    func(o client.VolumeListOptions) (client.VolumeListResult, error)
	VolumeInspectFunc func(name string) (client.VolumeInspectResult, error)
	VolumeRemoveFunc  func(name string, o client.VolumeRemoveOptions) (client.VolumeRemoveResult, error)
	VolumePruneFunc   func(o client.VolumePruneOptions) (client.VolumePruneResult, error)
	// ContainerWaitFunc answers ContainerWait; nil reports status 0 at once.
	ContainerWaitFunc func(id string, o client.ContainerWaitOptions) (container.WaitResponse, error)
	// The network verbs (fake_network.go).
	NetworkFake
}

func (f *FakeClient) Ping(_ context.Context, o client.PingOptions) (client.PingResult, error) {
	if f.PingFunc == nil {
		return client.PingResult{}, nil
	}
	return f.PingFunc(o)
}

func (f *FakeClient) ServerVersion(context.Context, client.ServerVersionOptions) (client.ServerVersionResult, error) {
	if f.ServerVersionFunc == nil {
		return client.ServerVersionResult{}, nil
	}
	return f.ServerVersionFunc()
}

func (f *FakeClient) Info(context.Context, client.InfoOptions) (client.SystemInfoResult, error) {
	if f.InfoFunc == nil {
		return client.SystemInfoResult{}, nil
	}
	return f.InfoFunc()
}

func (f *FakeClient) ContainerList(_ context.Context, o client.ContainerListOptions) (client.ContainerListResult, error) {
	if f.ContainerListFunc == nil {
		return client.ContainerListResult{}, nil
	}
	return f.ContainerListFunc(o)
}

func (f *FakeClient) ImageList(_ context.Context, o client.ImageListOptions) (client.ImageListResult, error) {
	if f.ImageListFunc == nil {
		return client.ImageListResult{}, nil
	}
	return f.ImageListFunc(o)
}

func (f *FakeClient) ContainerCreate(_ context.Context, o client.ContainerCreateOptions) (client.ContainerCreateResult, error) {
	if f.ContainerCreateFunc == nil {
		return client.ContainerCreateResult{}, nil
	}
	return f.ContainerCreateFunc(o)
}

func (f *FakeClient) ContainerStart(_ context.Context, id string, o client.ContainerStartOptions) (client.ContainerStartResult, error) {
	if f.ContainerStartFunc == nil {
		return client.ContainerStartResult{}, nil
	}
	return f.ContainerStartFunc(id, o)
}

func (f *FakeClient) ContainerAttach(_ context.Context, id string, o client.ContainerAttachOptions) (client.ContainerAttachResult, error) {
	if f.ContainerAttachFunc == nil {
		return client.ContainerAttachResult{}, nil
	}
	return f.ContainerAttachFunc(id, o)
}

func (f *FakeClient) ContainerStop(_ context.Context, id string, o client.ContainerStopOptions) (client.ContainerStopResult, error) {
	if f.ContainerStopFunc == nil {
		return client.ContainerStopResult{}, nil
	}
	return f.ContainerStopFunc(id, o)
}

func (f *FakeClient) ContainerKill(_ context.Context, id string, o client.ContainerKillOptions) (client.ContainerKillResult, error) {
	if f.ContainerKillFunc == nil {
		return client.ContainerKillResult{}, nil
	}
	return f.ContainerKillFunc(id, o)
}

func (f *FakeClient) ContainerRestart(_ context.Context, id string, o client.ContainerRestartOptions) (client.ContainerRestartResult, error) {
	if f.ContainerRestartFunc == nil {
		return client.ContainerRestartResult{}, nil
	}
	return f.ContainerRestartFunc(id, o)
}

func (f *FakeClient) ContainerRemove(_ context.Context, id string, o client.ContainerRemoveOptions) (client.ContainerRemoveResult, error) {
	if f.ContainerRemoveFunc == nil {
		return client.ContainerRemoveResult{}, nil
	}
	return f.ContainerRemoveFunc(id, o)
}

func (f *FakeClient) ContainerLogs(_ context.Context, id string, o client.ContainerLogsOptions) (client.ContainerLogsResult, error) {
	if f.ContainerLogsFunc == nil {
		return nil, nil
	}
	return f.ContainerLogsFunc(id, o)
}

func (f *FakeClient) ContainerInspect(_ context.Context, id string, o client.ContainerInspectOptions) (client.ContainerInspectResult, error) {
	if f.ContainerInspectFunc == nil {
		return client.ContainerInspectResult{}, nil
	}
	return f.ContainerInspectFunc(id, o)
}

func (f *FakeClient) ContainerTop(_ context.Context, id string, o client.ContainerTopOptions) (client.ContainerTopResult, error) {
	if f.ContainerTopFunc == nil {
		return client.ContainerTopResult{}, nil
	}
	return f.ContainerTopFunc(id, o)
}

func (f *FakeClient) ContainerRename(_ context.Context, id string, o client.ContainerRenameOptions) (client.ContainerRenameResult, error) {
	if f.ContainerRenameFunc == nil {
		return client.ContainerRenameResult{}, nil
	}
	return f.ContainerRenameFunc(id, o)
}

func (f *FakeClient) ContainerPrune(_ context.Context, o client.ContainerPruneOptions) (client.ContainerPruneResult, error) {
	if f.ContainerPruneFunc == nil {
		return client.ContainerPruneResult{}, nil
	}
	return f.ContainerPruneFunc(o)
}

func (f *FakeClient) ContainerStats(_ context.Context, id string, o client.ContainerStatsOptions) (client.ContainerStatsResult, error) {
	if f.ContainerStatsFunc == nil {
		return client.ContainerStatsResult{}, nil
	}
	return f.ContainerStatsFunc(id, o)
}

func (f *FakeClient) ImageSave(_ context.Context, images []string, _ ...client.ImageSaveOption) (client.ImageSaveResult, error) {
	if f.ImageSaveFunc == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return f.ImageSaveFunc(images)
}

func (f *FakeClient) ImageLoad(_ context.Context, input io.Reader, _ ...client.ImageLoadOption) (client.ImageLoadResult, error) {
	if f.ImageLoadFunc == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return f.ImageLoadFunc(input)
}

func (f *FakeClient) ContainerCommit(_ context.Context, id string, o client.ContainerCommitOptions) (client.ContainerCommitResult, error) {
	if f.ContainerCommitFunc == nil {
		return client.ContainerCommitResult{}, nil
	}
	return f.ContainerCommitFunc(id, o)
}

func (f *FakeClient) ImageImport(_ context.Context, src client.ImageImportSource, ref string, o client.ImageImportOptions) (client.ImageImportResult, error) {
	if f.ImageImportFunc == nil {
		return nil, nil
	}
	return f.ImageImportFunc(src, ref, o)
}

func (f *FakeClient) ImageInspect(_ context.Context, id string, o ...client.ImageInspectOption) (client.ImageInspectResult, error) {
	if f.ImageInspectFunc == nil {
		return client.ImageInspectResult{}, nil
	}
	return f.ImageInspectFunc(id)
}

func (f *FakeClient) ImageRemove(_ context.Context, id string, o client.ImageRemoveOptions) (client.ImageRemoveResult, error) {
	if f.ImageRemoveFunc == nil {
		return client.ImageRemoveResult{}, nil
	}
	return f.ImageRemoveFunc(id, o)
}

func (f *FakeClient) ImageTag(_ context.Context, o client.ImageTagOptions) (client.ImageTagResult, error) {
	if f.ImageTagFunc == nil {
		return client.ImageTagResult{}, nil
	}
	return f.ImageTagFunc(o)
}

func (f *FakeClient) ImageHistory(_ context.Context, id string, o ...client.ImageHistoryOption) (client.ImageHistoryResult, error) {
	if f.ImageHistoryFunc == nil {
		return client.ImageHistoryResult{}, nil
	}
	return f.ImageHistoryFunc(id)
}

func (f *FakeClient) ContainerWait(_ context.Context, id string, o client.ContainerWaitOptions) client.ContainerWaitResult {
	resc := make(chan container.WaitResponse, 1)
	errc := make(chan error, 1)
	var (
		r   container.WaitResponse
		err error
	)
	if f.ContainerWaitFunc != nil {
		r, err = f.ContainerWaitFunc(id, o)
	}
	if err != nil {
		errc <- err
	} else {
		resc <- r
	}
	return client.ContainerWaitResult{Result: resc, Error: errc}
}

func (f *FakeClient) ClientVersion() string {
	if f.Version == "" {
		return client.MaxAPIVersion
	}
	return f.Version
}

func (f *FakeClient) Close() error { return nil }

func (f *FakeClient) ImagePrune(_ context.Context, o client.ImagePruneOptions) (client.ImagePruneResult, error) {
	if f.ImagePruneFunc == nil {
		return client.ImagePruneResult{}, nil
	}
	return f.ImagePruneFunc(o)
}

func (f *FakeClient) ContainerDiff(_ context.Context, id string, _ client.ContainerDiffOptions) (client.ContainerDiffResult, error) {
	if f.ContainerDiffFunc == nil {
		return client.ContainerDiffResult{}, nil
	}
	return f.ContainerDiffFunc(id)
}

func (f *FakeClient) ContainerExport(_ context.Context, id string, _ client.ContainerExportOptions) (client.ContainerExportResult, error) {
	if f.ContainerExportFunc == nil {
		return io.NopCloser(strings.NewReader("")), nil
	}
	return f.ContainerExportFunc(id)
}

func (f *FakeClient) Events(_ context.Context, o client.EventsListOptions) client.EventsResult {
	if f.EventsFunc == nil {
		msgs, errs := make(chan events.Message), make(chan error, 1)
		errs <- io.EOF
		return client.EventsResult{Messages: msgs, Err: errs}
	}
	return f.EventsFunc(o)
}

func (f *FakeClient) DiskUsage(_ context.Context, o client.DiskUsageOptions) (client.DiskUsageResult, error) {
	if f.DiskUsageFunc == nil {
		return client.DiskUsageResult{}, nil
	}
	return f.DiskUsageFunc(o)
}

func (f *FakeClient) VolumeCreate(_ context.Context, o client.VolumeCreateOptions) (client.VolumeCreateResult, error) {
	if f.VolumeCreateFunc == nil {
		return client.VolumeCreateResult{}, nil
	}
	return f.VolumeCreateFunc(o)
}

func (f *FakeClient) VolumeList(_ context.Context, o client.VolumeListOptions) (client.VolumeListResult, error) {
	if f.VolumeListFunc == nil {
		return client.VolumeListResult{}, nil
	}
	return f.VolumeListFunc(o)
}

func (f *FakeClient) VolumeInspect(_ context.Context, name string, _ client.VolumeInspectOptions) (client.VolumeInspectResult, error) {
	if f.VolumeInspectFunc == nil {
		return client.VolumeInspectResult{}, nil
	}
	return f.VolumeInspectFunc(name)
}

func (f *FakeClient) VolumeRemove(_ context.Context, name string, o client.VolumeRemoveOptions) (client.VolumeRemoveResult, error) {
	if f.VolumeRemoveFunc == nil {
		return client.VolumeRemoveResult{}, nil
	}
	return f.VolumeRemoveFunc(name, o)
}

func (f *FakeClient) VolumePrune(_ context.Context, o client.VolumePruneOptions) (client.VolumePruneResult, error) {
	if f.VolumePruneFunc == nil {
		return client.VolumePruneResult{}, nil
	}
	return f.VolumePruneFunc(o)
}
