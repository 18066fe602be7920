package clitest

import (
	"context"

	"github.com/moby/moby/client"
)

// FakeClient is an API client whose calls are func fields; a nil field
// answers with zero values. It satisfies command.APIClient.
type FakeClient struct {
	Version           string
	PingFunc          func(client.PingOptions) (client.PingResult, error)
	ServerVersionFunc func() (client.ServerVersionResult, error)
	InfoFunc          func() (client.SystemInfoResult, error)
	ContainerListFunc func(client.ContainerListOptions) (client.ContainerListResult, error)
	ImageListFunc     func(client.ImageListOptions) (client.ImageListResult, error)
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

func (f *FakeClient) ClientVersion() string {
	if f.Version == "" {
		return client.MaxAPIVersion
	}
	return f.Version
}

func (f *FakeClient) Close() error { return nil }
