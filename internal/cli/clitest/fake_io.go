package clitest

import (
	"context"

	"github.com/moby/moby/client"
)

// IOFuncs are the FakeClient's answers for the interactive and resource
// verbs (resize, pause, unpause, update, exec); a nil field answers with
// zero values.
type IOFuncs struct {
	ContainerResizeFunc  func(id string, o client.ContainerResizeOptions) (client.ContainerResizeResult, error)
	ContainerPauseFunc   func(id string) (client.ContainerPauseResult, error)
	ContainerUnpauseFunc func(id string) (client.ContainerUnpauseResult, error)
	ContainerUpdateFunc  func(id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error)
	ExecCreateFunc       func(id string, o client.ExecCreateOptions) (client.ExecCreateResult, error)
	ExecStartFunc        func(execID string, o client.ExecStartOptions) (client.ExecStartResult, error)
	ExecAttachFunc       func(execID string, o client.ExecAttachOptions) (client.ExecAttachResult, error)
	ExecInspectFunc      func(execID string) (client.ExecInspectResult, error)
	ExecResizeFunc       func(execID string, o client.ExecResizeOptions) (client.ExecResizeResult, error)
}

func (f *FakeClient) ContainerResize(_ context.Context, id string, o client.ContainerResizeOptions) (client.ContainerResizeResult, error) {
	if f.ContainerResizeFunc == nil {
		return client.ContainerResizeResult{}, nil
	}
	return f.ContainerResizeFunc(id, o)
}

func (f *FakeClient) ContainerPause(_ context.Context, id string, _ client.ContainerPauseOptions) (client.ContainerPauseResult, error) {
	if f.ContainerPauseFunc == nil {
		return client.ContainerPauseResult{}, nil
	}
	return f.ContainerPauseFunc(id)
}

func (f *FakeClient) ContainerUnpause(_ context.Context, id string, _ client.ContainerUnpauseOptions) (client.ContainerUnpauseResult, error) {
	if f.ContainerUnpauseFunc == nil {
		return client.ContainerUnpauseResult{}, nil
	}
	return f.ContainerUnpauseFunc(id)
}

func (f *FakeClient) ContainerUpdate(_ context.Context, id string, o client.ContainerUpdateOptions) (client.ContainerUpdateResult, error) {
	if f.ContainerUpdateFunc == nil {
		return client.ContainerUpdateResult{}, nil
	}
	return f.ContainerUpdateFunc(id, o)
}

func (f *FakeClient) ExecCreate(_ context.Context, id string, o client.ExecCreateOptions) (client.ExecCreateResult, error) {
	if f.ExecCreateFunc == nil {
		return client.ExecCreateResult{}, nil
	}
	return f.ExecCreateFunc(id, o)
}

func (f *FakeClient) ExecStart(_ context.Context, execID string, o client.ExecStartOptions) (client.ExecStartResult, error) {
	if f.ExecStartFunc == nil {
		return client.ExecStartResult{}, nil
	}
	return f.ExecStartFunc(execID, o)
}

func (f *FakeClient) ExecAttach(_ context.Context, execID string, o client.ExecAttachOptions) (client.ExecAttachResult, error) {
	if f.ExecAttachFunc == nil {
		return client.ExecAttachResult{}, nil
	}
	return f.ExecAttachFunc(execID, o)
}

func (f *FakeClient) ExecInspect(_ context.Context, execID string, _ client.ExecInspectOptions) (client.ExecInspectResult, error) {
	if f.ExecInspectFunc == nil {
		return client.ExecInspectResult{}, nil
	}
	return f.ExecInspectFunc(execID)
}

func (f *FakeClient) ExecResize(_ context.Context, execID string, o client.ExecResizeOptions) (client.ExecResizeResult, error) {
	if f.ExecResizeFunc == nil {
		return client.ExecResizeResult{}, nil
	}
	return f.ExecResizeFunc(execID, o)
}
