package specjson

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// coldEnv makes the test binary decode one file once, in a fresh process, and
// print how long that took: "<decoder>:<file>".
const coldEnv = "SPECJSON_COLD_DECODE"

func TestMain(m *testing.M) {
	if v := os.Getenv(coldEnv); v != "" {
		os.Exit(coldDecode(v))
	}
	os.Exit(m.Run())
}

func coldDecode(v string) int {
	decoder, file, _ := strings.Cut(v, ":")
	data, err := os.ReadFile(file)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var s specs.Spec
	start := time.Now()
	if decoder == "specjson" {
		err = UnmarshalSpec(data, &s)
	} else {
		err = json.Unmarshal(data, &s)
	}
	elapsed := time.Since(start)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(elapsed.Nanoseconds())
	return 0
}

// BenchmarkColdDecode measures what berth-runtime pays: the first decode of a
// config.json in a new process (cold-ns/op; ns/op is dominated by the exec).
func BenchmarkColdDecode(b *testing.B) {
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	for _, file := range []string{"runc-spec.json", "docker-seccomp.json"} {
		path, err := filepath.Abs(filepath.Join("testdata", file))
		if err != nil {
			b.Fatal(err)
		}
		for _, decoder := range []string{"encoding-json", "specjson"} {
			b.Run(decoder+"/"+file, func(b *testing.B) {
				var total time.Duration
				for range b.N {
					cmd := exec.Command(self)
					cmd.Env = append(os.Environ(), coldEnv+"="+decoder+":"+path)
					out, err := cmd.Output()
					if err != nil {
						b.Fatalf("%v: %s", err, out)
					}
					ns, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
					if err != nil {
						b.Fatal(err)
					}
					total += time.Duration(ns)
				}
				b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "cold-ns/op")
			})
		}
	}
}

// BenchmarkWarmDecode is the steady-state cost, for comparison.
func BenchmarkWarmDecode(b *testing.B) {
	for _, file := range []string{"runc-spec.json", "docker-seccomp.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", file))
		if err != nil {
			b.Fatal(err)
		}
		b.Run("encoding-json/"+file, func(b *testing.B) {
			for range b.N {
				var s specs.Spec
				if err := json.Unmarshal(data, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("specjson/"+file, func(b *testing.B) {
			for range b.N {
				var s specs.Spec
				if err := UnmarshalSpec(data, &s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
