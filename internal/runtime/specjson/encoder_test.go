package specjson

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func compareMarshal(t *testing.T, name string, s *specs.Spec, fast bool) {
	t.Helper()
	want, wantErr := json.Marshal(s)
	got, gotErr := MarshalSpec(s)
	if !bytes.Equal(got, want) || (gotErr == nil) != (wantErr == nil) {
		t.Errorf("%s: MarshalSpec\n%s (%v)\njson.Marshal\n%s (%v)", name, got, gotErr, want, wantErr)
	}
	var e Encoder
	EncodeSpec(&e, s)
	if _, ok := e.Bytes(); fast && !ok {
		t.Errorf("%s: the generated encoder gave up", name)
	}
}

func TestMarshalTestdataSpecs(t *testing.T) {
	for name, data := range testdataSpecs(t) {
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		compareMarshal(t, name, &s, name != "full")
	}
	compareMarshal(t, "nil", nil, true)
	compareMarshal(t, "zero", &specs.Spec{}, true)
}

func TestMarshalEdgeCases(t *testing.T) {
	zero, one := 0, 1
	var u16 uint16
	for name, s := range map[string]*specs.Spec{
		"strings":                      {Hostname: "<a href=\"x\">&amp;</a>\\ \b\f\n\r\t\x00\x01\x1f\x7f é\u2028\u2029\U0001F600", Domainname: "\xff\xc3(\xed\xa0\x80 \xf0\x9f\x98"},
		"annotation order and escapes": {Annotations: map[string]string{"b": "1", "a": "2", "<": ">", "\u2028": "\xff", "": ""}},
		"empty vs nil":                 {Mounts: []specs.Mount{}, Process: &specs.Process{Args: []string{}, Env: nil, User: specs.User{AdditionalGids: []uint32{}}}},
		"empty map":                    {Annotations: map[string]string{}},
		"empty structs":                {Process: &specs.Process{}, Root: &specs.Root{}, Hooks: &specs.Hooks{}, Linux: &specs.Linux{Resources: &specs.LinuxResources{}}},
		"zero pointers":                {Process: &specs.Process{OOMScoreAdj: &zero}, Linux: &specs.Linux{Resources: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: &u16}}}},
		"non-zero":                     {Process: &specs.Process{OOMScoreAdj: &one, Terminal: true}},
		"nil elements":                 {Mounts: []specs.Mount{{}, {Options: []string{""}}}, Hooks: &specs.Hooks{Prestart: []specs.Hook{{}}}},
		"embedded fields":              {Linux: &specs.Linux{Resources: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: -1, Minor: 2}}}}}}},
		"map of structs":               {Linux: &specs.Linux{NetDevices: map[string]specs.LinuxNetDevice{"z": {}, "a": {Name: "n"}}}},
	} {
		compareMarshal(t, name, s, true)
	}
	// Other platforms' sections are encoding/json's.
	compareMarshal(t, "windows", &specs.Spec{Windows: &specs.Windows{LayerFolders: nil, HyperV: &specs.WindowsHyperV{}}}, false)
	compareMarshal(t, "freebsd", &specs.Spec{FreeBSD: &specs.FreeBSD{Jail: &specs.FreeBSDJail{Ip4: specs.FreeBSDShareNew}}}, false)
	// The interface{} field is encoding/json's.
	compareMarshal(t, "credentialSpec", &specs.Spec{Windows: &specs.Windows{CredentialSpec: map[string]any{"b": []any{1.5, "<"}, "a": nil}}}, false)
}

func TestMarshalFull(t *testing.T) {
	var s specs.Spec
	if err := json.Unmarshal(fullLinuxSpec(t), &s); err != nil {
		t.Fatal(err)
	}
	compareMarshal(t, "full", &s, true)

	var p specs.Process
	if err := json.Unmarshal(fullProcess(t), &p); err != nil {
		t.Fatal(err)
	}
	want, _ := json.Marshal(&p)
	if got, err := MarshalProcess(&p); err != nil || !bytes.Equal(got, want) {
		t.Errorf("process: %s (%v), want %s", got, err, want)
	}
	st := specs.State{Version: "1", ID: "<id>", Status: specs.StateRunning, Pid: 7, Bundle: "/b", Annotations: map[string]string{"k": "v"}}
	want, _ = json.Marshal(&st)
	if got, err := MarshalState(&st); err != nil || !bytes.Equal(got, want) {
		t.Errorf("state: %s (%v), want %s", got, err, want)
	}
	for _, v := range []any{(*specs.Process)(nil), (*specs.State)(nil)} {
		want, _ := json.Marshal(v)
		var got []byte
		switch v := v.(type) {
		case *specs.Process:
			got, _ = MarshalProcess(v)
		case *specs.State:
			got, _ = MarshalState(v)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%T nil: %s, want %s", v, got, want)
		}
	}
	// What is decoded from the encoder's output is what was encoded.
	data, _ := MarshalSpec(&s)
	var back specs.Spec
	if err := UnmarshalSpec(data, &back); err != nil || !reflect.DeepEqual(back, s) {
		t.Errorf("round trip: %v", err)
	}
}

// The seccomp cache key hashes this output: it must stay json.Marshal's.
func TestMarshalSeccomp(t *testing.T) {
	var s specs.Spec
	if err := json.Unmarshal(testdataSpecs(t)["docker-seccomp.json"], &s); err != nil {
		t.Fatal(err)
	}
	for _, sc := range []*specs.LinuxSeccomp{s.Linux.Seccomp, nil, {}} {
		want, _ := json.Marshal(sc)
		if got, err := MarshalSeccomp(sc); err != nil || !bytes.Equal(got, want) {
			t.Errorf("MarshalSeccomp: %s (%v), want %s", got, err, want)
		}
	}
}
