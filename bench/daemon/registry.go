package main

import (
	"archive/tar"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/distribution/reference"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berth-engine/berth/internal/registry"
)

const (
	registryLayers    = 4
	registryLayerSize = 25 << 20 // random, so gzip cannot shrink it
	registryReps      = 3
)

// localRegistry is Debian's docker-registry serving a directory on
// 127.0.0.1, which both dockerd and berthd treat as insecure.
type localRegistry struct {
	host   string
	cmd    *exec.Cmd
	exited chan struct{}
}

func startRegistry(ctx context.Context, dir string) (*localRegistry, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("docker-registry is not installed (scripts/deps.sh installs it)")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	host := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: %s\n  secret: bench\n", filepath.Join(dir, "data"), host)
	if err := os.WriteFile(filepath.Join(dir, "config.yml"), []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	r := &localRegistry{host: host, cmd: exec.Command(bin, "serve", filepath.Join(dir, "config.yml")), exited: make(chan struct{})}
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { r.cmd.Wait(); close(r.exited) }()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get("http://" + host + "/v2/"); err == nil {
			resp.Body.Close()
			return r, nil
		}
		select {
		case <-r.exited:
			b, _ := os.ReadFile(filepath.Join(dir, "log"))
			return nil, fmt.Errorf("docker-registry exited: %s", b)
		case <-ctx.Done():
			r.stop()
			return nil, ctx.Err()
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("docker-registry did not answer on %s", host)
		}
	}
}

// stop ends the registry by its pid.
func (r *localRegistry) stop() {
	if r == nil || r.cmd.Process == nil {
		return
	}
	_ = terminate(r.cmd.Process.Pid, r.exited, 5*time.Second)
}

// pushBenchImage builds an image of registryLayers gzip layers, each one
// file of random bytes, and pushes it as ref with berth's distribution
// client. It returns the bytes the layers take in the registry.
func pushBenchImage(ctx context.Context, dir string, named reference.NamedTagged) (int64, error) {
	c, err := registry.New(registry.Options{})
	if err != nil {
		return 0, err
	}
	repo, err := c.Repository(ctx, named, registry.Auth{}, true)
	if err != nil {
		return 0, err
	}
	now := time.Now().UTC()
	img := ocispec.Image{Created: &now, Platform: ocispec.Platform{OS: "linux", Architecture: "amd64"}, RootFS: ocispec.RootFS{Type: "layers"}}
	man := ocispec.Manifest{MediaType: registry.MediaTypeDockerManifest, Layers: []ocispec.Descriptor{}}
	man.SchemaVersion = 2
	var total int64
	for i := range registryLayers {
		p := filepath.Join(dir, fmt.Sprintf("layer%d.tar.gz", i))
		diffID, blob, size, err := writeRandomLayer(p, fmt.Sprintf("data/layer%d.bin", i))
		if err != nil {
			return 0, err
		}
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		err = repo.PutBlob(ctx, blob, size, f)
		f.Close()
		os.Remove(p)
		if err != nil {
			return 0, err
		}
		img.RootFS.DiffIDs = append(img.RootFS.DiffIDs, diffID)
		man.Layers = append(man.Layers, ocispec.Descriptor{MediaType: registry.MediaTypeDockerLayer, Digest: blob, Size: size})
		total += size
	}
	cfg, _ := json.Marshal(img)
	cd := digest.FromBytes(cfg)
	if err := repo.PutBlob(ctx, cd, int64(len(cfg)), bytesReader(cfg)); err != nil {
		return 0, err
	}
	man.Config = ocispec.Descriptor{MediaType: registry.MediaTypeDockerConfig, Digest: cd, Size: int64(len(cfg))}
	data, _ := json.Marshal(man)
	if _, err := repo.PutManifest(ctx, named.Tag(), registry.MediaTypeDockerManifest, data); err != nil {
		return 0, err
	}
	return total, nil
}

type bytesReaderT struct {
	b []byte
	i int
}

func bytesReader(b []byte) io.Reader { return &bytesReaderT{b: b} }
func (r *bytesReaderT) Read(p []byte) (int, error) {
	if r.i >= len(r.b) {
		return 0, io.EOF
	}
	n := copy(p, r.b[r.i:])
	r.i += n
	return n, nil
}

// writeRandomLayer writes a gzip layer tar holding one file of random
// bytes at name, returning its diff ID, blob digest and size.
func writeRandomLayer(path, name string) (digest.Digest, digest.Digest, int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return "", "", 0, err
	}
	defer f.Close()
	blob := digest.SHA256.Digester()
	zw, err := gzip.NewWriterLevel(io.MultiWriter(f, blob.Hash()), gzip.BestSpeed)
	if err != nil {
		return "", "", 0, err
	}
	diff := digest.SHA256.Digester()
	tw := tar.NewWriter(io.MultiWriter(zw, diff.Hash()))
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: "data/", Mode: 0o755, ModTime: time.Unix(0, 0)}); err != nil {
		return "", "", 0, err
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: registryLayerSize, ModTime: time.Unix(0, 0)}); err != nil {
		return "", "", 0, err
	}
	if _, err := io.CopyN(tw, rand.Reader, registryLayerSize); err != nil {
		return "", "", 0, err
	}
	if err := tw.Close(); err != nil {
		return "", "", 0, err
	}
	if err := zw.Close(); err != nil {
		return "", "", 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return "", "", 0, err
	}
	return diff.Digest(), blob.Digest(), st.Size(), nil
}

// benchRegistry times, with the docker CLI against each engine, a pull of
// a 100 MB image of four gzip layers from a local docker-registry, its push
// to a fresh registry, and a load of its docker save tar; MB/s of the
// layers' bytes (the tar's for load), median of registryReps runs, engines
// interleaved.
func benchRegistry(ctx context.Context, o options, p pair, dir string, res *results) error {
	reg, err := startRegistry(ctx, filepath.Join(dir, "registry"))
	if err != nil {
		return err
	}
	defer reg.stop()
	n, _ := reference.ParseNormalizedNamed(reg.host + "/bench/big:1")
	named := n.(reference.NamedTagged)
	ref := reference.FamiliarString(named)
	logf(o, "building and pushing the %d MiB image", registryLayers*registryLayerSize>>20)
	size, err := pushBenchImage(ctx, dir, named)
	if err != nil {
		return fmt.Errorf("bench image: %w", err)
	}
	engines := p.all()
	pulls := map[*engine][]time.Duration{}
	pushes := map[*engine][]time.Duration{}
	loads := map[*engine][]time.Duration{}
	timed := func(e *engine, args ...string) (time.Duration, error) {
		t0 := time.Now()
		_, err := e.cli(ctx, o.docker, args...)
		return time.Since(t0), err
	}
	var tarball string
	var tarSize int64
	for rep := range registryReps {
		for _, e := range engines {
			_, _ = e.cli(ctx, o.docker, "rmi", "-f", ref)
			d, err := timed(e, "pull", ref)
			if err != nil {
				return err
			}
			pulls[e] = append(pulls[e], d)
		}
		if tarball == "" {
			// docker save's tar when Docker runs (what its users have), else berth's.
			src := engines[0] // p.all() puts docker first
			tarball = filepath.Join(dir, "big.tar")
			if _, err := src.cli(ctx, o.docker, "save", "-o", tarball, ref); err != nil {
				return err
			}
			st, err := os.Stat(tarball)
			if err != nil {
				return err
			}
			tarSize = st.Size()
		}
		for i, e := range engines {
			// A fresh registry each time: nothing to skip or mount.
			to, err := startRegistry(ctx, filepath.Join(dir, fmt.Sprintf("push-%d-%d", rep, i)))
			if err != nil {
				return err
			}
			target := to.host + "/bench/big:1"
			_, err = e.cli(ctx, o.docker, "tag", ref, target)
			var d time.Duration
			if err == nil {
				d, err = timed(e, "push", target)
			}
			to.stop()
			os.RemoveAll(filepath.Join(dir, fmt.Sprintf("push-%d-%d", rep, i)))
			if err != nil {
				return err
			}
			_, _ = e.cli(ctx, o.docker, "rmi", target)
			pushes[e] = append(pushes[e], d)
		}
		for _, e := range engines {
			_, _ = e.cli(ctx, o.docker, "rmi", "-f", ref)
			d, err := timed(e, "load", "-i", tarball)
			if err != nil {
				return err
			}
			loads[e] = append(loads[e], d)
		}
	}
	for _, e := range engines {
		_, _ = e.cli(ctx, o.docker, "rmi", "-f", ref)
	}
	os.Remove(tarball)
	get := func(m map[*engine][]time.Duration, e *engine, size int64) *figure {
		if e == nil {
			return nil
		}
		return throughput(size, m[e])
	}
	mb := float64(size) / 1e6
	res.add(row{Bench: "registry", Name: fmt.Sprintf("pull %.0f MB, %d gzip layers, local registry", mb, registryLayers), Stat: "median", Unit: "MB/s",
		Docker: get(pulls, p.docker, size), Berth: get(pulls, p.berth, size), Budget: &budget{MinRatio: 1.5},
		Note: "docker pull against each engine after rmi; MB/s of the compressed layers"})
	res.add(row{Bench: "registry", Name: fmt.Sprintf("push %.0f MB to a fresh local registry", mb), Stat: "median", Unit: "MB/s",
		Docker: get(pushes, p.docker, size), Berth: get(pushes, p.berth, size), Budget: &budget{MinRatio: 1.5},
		Note: "docker push of the pulled image; dockerd compresses its layers again, berthd sends the blobs it pulled"})
	res.add(row{Bench: "registry", Name: fmt.Sprintf("load %.0f MB docker save tar", float64(tarSize)/1e6), Stat: "median", Unit: "MB/s",
		Docker: get(loads, p.docker, tarSize), Berth: get(loads, p.berth, tarSize), Budget: &budget{MinRatio: 1.5},
		Note: "docker load -i after rmi; MB/s of the tar"})
	return nil
}
