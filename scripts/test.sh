#!/usr/bin/env bash
# The test command of the README and of CI, on a fresh Debian 12 machine as
# root: installs what it needs, builds, then runs vet, the unit and root
# tests, the integration tests (runc comparison table) and the OCI runtime
# validation suite against berth-runtime with runc 1.1.5's passes as the
# floor. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH
export GOFLAGS=${GOFLAGS:--mod=mod}

scripts/deps.sh
make build
echo "== go vet"
go vet ./...
echo "== unit and root tests"
go test -count=1 ./internal/... ./cmd/...
echo "== OCI runtime validation suite (runtime-tools)"
# Floor: every test runc 1.1.5 passes here, at least its 3275 ok, fewer than its 35 not ok.
# The per-test TAP files are kept only for the run's duration (pass --out to
# the script yourself to keep them).
tap=$(mktemp -d /tmp/berth-validation-tap.XXXXXX)
trap 'rm -rf "$tap"' EXIT
scripts/runtime-validation.sh --out "$tap" --baseline test/validation/runc-1.1.5.pass --min-ok 3275 --max-not-ok 34 "$PWD/bin/berth-runtime"
echo "== integration tests (berth-runtime vs runc)"
BERTH_RUNTIME=$PWD/bin/berth-runtime go test -count=1 -v ./integration/...
