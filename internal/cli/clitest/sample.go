package clitest

import (
	"net/netip"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/api/types/system"
)

// Sample is a daemon state for tests, with creation times relative to now
// so that "2 hours ago" style columns are stable.
func Sample(now time.Time) Data {
	ago := func(d time.Duration) int64 { return now.Add(-d).Unix() }
	return Data{
		Version: system.VersionResponse{
			Platform:      system.PlatformInfo{Name: "berth"},
			Version:       "0.3.0",
			APIVersion:    "1.57",
			MinAPIVersion: "1.24",
			Os:            "linux",
			Arch:          "amd64",
			GitCommit:     "abc1234",
			GoVersion:     "go1.26.8",
			KernelVersion: "6.1.0-28-amd64",
			BuildTime:     "2026-12-01T10:00:00.000000000+00:00",
			Components: []system.ComponentVersion{
				{Name: "Engine", Version: "0.3.0", Details: map[string]string{
					"ApiVersion": "1.57", "MinAPIVersion": "1.24", "GitCommit": "abc1234",
					"GoVersion": "go1.26.8", "Os": "linux", "Arch": "amd64",
					"KernelVersion": "6.1.0-28-amd64", "Experimental": "false",
					"BuildTime": "2026-12-01T10:00:00.000000000+00:00",
				}},
				{Name: "berth-runtime", Version: "0.3.0", Details: map[string]string{"GitCommit": "abc1234"}},
			},
		},
		Info: system.Info{
			ID:                "7f1c2b3a-0d4e-4f5a-9b6c-1d2e3f4a5b6c",
			Containers:        3,
			ContainersRunning: 1,
			ContainersPaused:  0,
			ContainersStopped: 2,
			Images:            2,
			Driver:            "overlay2",
			DriverStatus:      [][2]string{{"Backing Filesystem", "extfs"}, {"Supports d_type", "true"}},
			Plugins: system.PluginsInfo{
				Volume:  []string{"local"},
				Network: []string{"host", "null"},
				Log:     []string{"json-file", "local"},
			},
			LoggingDriver:      "json-file",
			CgroupDriver:       "cgroupfs",
			CgroupVersion:      "1",
			KernelVersion:      "6.1.0-28-amd64",
			OperatingSystem:    "Debian GNU/Linux 12 (bookworm)",
			OSVersion:          "12",
			OSType:             "linux",
			Architecture:       "x86_64",
			NCPU:               4,
			MemTotal:           8333729792,
			DockerRootDir:      "/var/lib/berth",
			Name:               "buildhost",
			ServerVersion:      "0.3.0",
			Runtimes:           map[string]system.RuntimeWithStatus{"berth-runtime": {Runtime: system.Runtime{Path: "berth-runtime"}}, "runc": {Runtime: system.Runtime{Path: "/usr/sbin/runc"}}},
			DefaultRuntime:     "berth-runtime",
			InitBinary:         "berth-init",
			SecurityOptions:    []string{"name=seccomp,profile=builtin"},
			LiveRestoreEnabled: true,
			Warnings:           []string{"WARNING: bridge networking is not available yet; the default network is none"},
		},
		Containers: []container.Summary{
			{
				ID:      "3f4e5d6c7b8a99887766554433221100aabbccddeeff00112233445566778899",
				Names:   []string{"/web"},
				Image:   "busybox:latest",
				ImageID: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
				Command: "httpd -f -p 8080 -h /srv/www/a/long/path",
				Created: ago(2*time.Hour + 20*time.Second),
				Ports: []container.PortSummary{
					{IP: netip.MustParseAddr("0.0.0.0"), PrivatePort: 8080, PublicPort: 8080, Type: "tcp"},
					{PrivatePort: 9090, Type: "udp"},
				},
				State:  container.StateRunning,
				Status: "Up 2 hours",
				Labels: map[string]string{"tier": "front"},
			},
			{
				ID:      "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
				Names:   []string{"/job"},
				Image:   "sha256:2222222222222222222222222222222222222222222222222222222222222222",
				ImageID: "sha256:2222222222222222222222222222222222222222222222222222222222222222",
				Command: "true",
				Created: ago(3 * 24 * time.Hour),
				State:   container.StateExited,
				Status:  "Exited (0) 3 days ago",
			},
			{
				ID:      "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
				Names:   []string{"/made"},
				Image:   "busybox",
				ImageID: "sha256:1111111111111111111111111111111111111111111111111111111111111111",
				Command: "sh -c 'echo hi'",
				Created: ago(10*time.Minute + 20*time.Second),
				State:   container.StateCreated,
				Status:  "Created",
			},
		},
		Images: []image.Summary{
			{
				ID:          "sha256:1111111111111111111111111111111111111111111111111111111111111111",
				RepoTags:    []string{"busybox:latest", "localhost:5000/busybox:1.36"},
				RepoDigests: []string{"busybox@sha256:3333333333333333333333333333333333333333333333333333333333333333"},
				Created:     ago(30 * 24 * time.Hour),
				Size:        2167176,
				Containers:  -1,
				SharedSize:  -1,
			},
			{
				ID:         "sha256:2222222222222222222222222222222222222222222222222222222222222222",
				Created:    ago(5*time.Minute + 20*time.Second),
				Size:       1234,
				Containers: -1,
				SharedSize: -1,
			},
		},
		Inspect: map[string]container.InspectResponse{
			"web": {
				ID: "4a5b" + strings.Repeat("0", 60), Name: "/web", Image: "sha256:" + strings.Repeat("b", 64),
				State:      &container.State{Status: container.StateRunning, Running: true, Pid: 4242},
				Config:     &container.Config{Image: "busybox", Cmd: []string{"sleep", "100"}, Labels: map[string]string{"tier": "front"}},
				HostConfig: &container.HostConfig{NetworkMode: "none"},
			},
		},
		History: map[string][]image.HistoryResponseItem{
			"busybox": {{ID: "sha256:" + strings.Repeat("b", 64), Created: ago(3 * time.Hour), Size: 2140000, Comment: "Imported from -"}},
		},
	}
}
