package container

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func fullInitConfig() *initConfig {
	r := fullRecord()
	return &initConfig{
		Exec: true, ID: "c<1>", Bundle: "/b", Rootfs: "/b/rootfs", Spec: r.Spec,
		Process:    &specs.Process{Args: []string{"sh", "-c", "echo \u2028"}, Cwd: "/", Env: []string{"A=b"}},
		SeccompBPF: []byte{0, 1, 2, 250, 251}, NoPivot: true, NoMountNS: true, CgroupTasks: []string{"/sys/fs/cgroup/cpu/x/tasks"},
		NewUserNS: true, NewNetNS: true, NewUTS: true, NewCgroupNS: true, CgroupNS: true, HooksSync: true,
		FifoFd: 3, ConsoleFd: 4, PreserveFDs: 5, Trace: true,
	}
}

// A new initConfig field fails here until the codecs handle it.
func TestFullInitConfigSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(*fullInitConfig())
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Errorf("fullInitConfig leaves initConfig.%s zero: set it, and handle it in sync_json_linux.go", v.Type().Field(i).Name)
		}
	}
	m := reflect.ValueOf(syncMsg{Type: "t", Pid: 1, Message: "m", Config: fullInitConfig(), Time: 2})
	for i := 0; i < m.NumField(); i++ {
		if m.Field(i).IsZero() {
			t.Errorf("syncMsg.%s is not covered by the tests", m.Type().Field(i).Name)
		}
	}
}

func TestEncodeSyncMsg(t *testing.T) {
	minimal := &initConfig{}
	for name, m := range map[string]syncMsg{
		"full":              {Type: msgConfig, Pid: 7, Message: "<&>", Config: fullInitConfig(), Time: -5},
		"minimal":           {Type: msgConfig, Config: minimal},
		"pid":               {Type: msgPid, Pid: 42},
		"ready":             {Type: msgReady},
		"error":             {Type: msgError, Message: "mount \"/x\": \xff\n"},
		"trace":             {Type: msgTrace, Message: "phase", Time: 123456789},
		"empty":             {},
		"empty bpf":         {Type: msgConfig, Config: &initConfig{SeccompBPF: []byte{}, CgroupTasks: []string{}}},
		"interface in spec": {Config: &initConfig{Spec: &specs.Spec{Windows: &specs.Windows{CredentialSpec: 1.5}}}},
	} {
		want, wantErr := json.Marshal(m)
		got, gotErr := encodeSyncMsg(&m)
		if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s: encodeSyncMsg\n%s (%v)\njson.Marshal\n%s (%v)", name, got, gotErr, want, wantErr)
		}
	}
}

func compareSyncMsg(t *testing.T, name string, data []byte) {
	t.Helper()
	var want, got syncMsg
	wantErr := json.Unmarshal(data, &want)
	gotErr := decodeSyncMsg(data, &got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("%s: error %v, encoding/json %v", name, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decoded %+v\nencoding/json %+v", name, got, want)
	}
}

func TestDecodeSyncMsg(t *testing.T) {
	full, err := json.Marshal(syncMsg{Type: msgConfig, Pid: 7, Message: "m", Config: fullInitConfig(), Time: 9})
	if err != nil {
		t.Fatal(err)
	}
	compareSyncMsg(t, "full", append(full, '\n'))
	var m syncMsg
	if err := decodeSyncMsg(full, &m); err != nil || !reflect.DeepEqual(m.Config, fullInitConfig()) {
		t.Errorf("round trip: %v %+v", err, m.Config)
	}
	for _, tc := range []struct{ name, doc string }{
		{"pid", `{"type":"pid","pid":42}` + "\n"},
		{"folded keys", `{"TYPE":"config","Config":{"ID":"x","Seccomp_BPF":"AAE=","CGROUP_TASKS":["a"],"FIFO_FD":3,"Spec":{"HOSTNAME":"h"}}}`},
		{"nulls", `{"type":null,"config":{"spec":null,"process":null,"seccomp_bpf":null,"cgroup_tasks":null,"exec":null}}`},
		{"null config", `{"type":"config","config":{"id":"a"},"config":null}`},
		{"repeated config merges", `{"config":{"id":"a","fifo_fd":3},"config":{"bundle":"b"}}`},
		{"empty bpf", `{"config":{"seccomp_bpf":"","cgroup_tasks":[]}}`},
		{"unknown keys", `{"type":"ready","extra":{"a":[1]},"config":{"other":true}}`},
		{"bad base64", `{"config":{"seccomp_bpf":"!!"}}`},
		{"bpf as array", `{"config":{"seccomp_bpf":[1,2]}}`},
		{"type error", `{"type":1}`},
		{"spec type error", `{"config":{"process":{"args":"sh"}}}`},
		{"overflow", `{"pid":9223372036854775808}`},
		{"syntax error", `{"type":"pid"`},
		{"trailing data", `{"type":"pid"} x`},
	} {
		compareSyncMsg(t, tc.name, []byte(tc.doc))
	}
}
