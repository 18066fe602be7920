package registry

import "github.com/opencontainers/go-digest"

func toDigest(s string) digest.Digest { return digest.Digest(s) }
