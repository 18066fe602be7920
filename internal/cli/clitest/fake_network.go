package clitest

import (
	"context"

	"github.com/moby/moby/client"
)

// NetworkFake answers the network verbs; a nil func gives an empty result.
type NetworkFake struct {
	NetworkCreateFunc     func(name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error)
	NetworkListFunc       func(o client.NetworkListOptions) (client.NetworkListResult, error)
	NetworkInspectFunc    func(id string) (client.NetworkInspectResult, error)
	NetworkRemoveFunc     func(id string) (client.NetworkRemoveResult, error)
	NetworkPruneFunc      func(o client.NetworkPruneOptions) (client.NetworkPruneResult, error)
	NetworkConnectFunc    func(id string, o client.NetworkConnectOptions) (client.NetworkConnectResult, error)
	NetworkDisconnectFunc func(id string, o client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error)
}

func (f *NetworkFake) NetworkCreate(_ context.Context, name string, o client.NetworkCreateOptions) (client.NetworkCreateResult, error) {
	if f.NetworkCreateFunc == nil {
		return client.NetworkCreateResult{}, nil
	}
	return f.NetworkCreateFunc(name, o)
}

func (f *NetworkFake) NetworkList(_ context.Context, o client.NetworkListOptions) (client.NetworkListResult, error) {
	if f.NetworkListFunc == nil {
		return client.NetworkListResult{}, nil
	}
	return f.NetworkListFunc(o)
}

func (f *NetworkFake) NetworkInspect(_ context.Context, id string, _ client.NetworkInspectOptions) (client.NetworkInspectResult, error) {
	if f.NetworkInspectFunc == nil {
		return client.NetworkInspectResult{}, nil
	}
	return f.NetworkInspectFunc(id)
}

func (f *NetworkFake) NetworkRemove(_ context.Context, id string, _ client.NetworkRemoveOptions) (client.NetworkRemoveResult, error) {
	if f.NetworkRemoveFunc == nil {
		return client.NetworkRemoveResult{}, nil
	}
	return f.NetworkRemoveFunc(id)
}

func (f *NetworkFake) NetworkPrune(_ context.Context, o client.NetworkPruneOptions) (client.NetworkPruneResult, error) {
	if f.NetworkPruneFunc == nil {
		return client.NetworkPruneResult{}, nil
	}
	return f.NetworkPruneFunc(o)
}

func (f *NetworkFake) NetworkConnect(_ context.Context, id string, o client.NetworkConnectOptions) (client.NetworkConnectResult, error) {
	if f.NetworkConnectFunc == nil {
		return client.NetworkConnectResult{}, nil
	}
	return f.NetworkConnectFunc(id, o)
}

func (f *NetworkFake) NetworkDisconnect(_ context.Context, id string, o client.NetworkDisconnectOptions) (client.NetworkDisconnectResult, error) {
	if f.NetworkDisconnectFunc == nil {
		return client.NetworkDisconnectResult{}, nil
	}
	return f.NetworkDisconnectFunc(id, o)
}
