package container

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func fullRecord() record {
	limit := int64(1 << 20)
	return record{
		ID:            "c1",
		InitPid:       4242,
		InitStartTime: 987654321,
		Bundle:        "/b",
		Rootfs:        "/b/rootfs",
		Created:       time.Date(2026, 12, 5, 1, 2, 3, 456789, time.UTC),
		Owner:         "root",
		Spec: &specs.Spec{
			Version:  specs.Version,
			Process:  &specs.Process{Args: []string{"sh"}, Cwd: "/", User: specs.User{UID: 1, AdditionalGids: []uint32{2, 3}}},
			Root:     &specs.Root{Path: "rootfs", Readonly: true},
			Hostname: "h",
			Mounts:   []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc"}},
			Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{{Type: specs.PIDNamespace}},
				Resources:  &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}},
			},
		},
		Cgroup:         json.RawMessage(`{"path":"/sys/fs/cgroup/x","v2":true}`),
		NamespacePaths: map[string]string{"NEWNET": "/proc/1/ns/net"},
		SystemdCgroup:  true,
	}
}

// Every field of record must be set by fullRecord, so that a new field
// fails here until decodeRecord handles it.
func TestFullRecordSetsEveryField(t *testing.T) {
	v := reflect.ValueOf(fullRecord())
	for i := 0; i < v.NumField(); i++ {
		if v.Field(i).IsZero() {
			t.Errorf("fullRecord leaves record.%s zero: set it, and decode it in decodeRecord", v.Type().Field(i).Name)
		}
	}
}

func compareRecord(t *testing.T, name string, data []byte) {
	t.Helper()
	var want, got record
	wantErr := json.Unmarshal(data, &want)
	gotErr := decodeRecord(data, &got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
		t.Errorf("%s: error %v, encoding/json %v", name, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decoded %+v\nencoding/json %+v", name, got, want)
	}
}

func TestDecodeRecord(t *testing.T) {
	full, err := json.Marshal(fullRecord())
	if err != nil {
		t.Fatal(err)
	}
	var got record
	if err := decodeRecord(full, &got); err != nil {
		t.Fatal(err)
	}
	if want := fullRecord(); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip: got %+v, want %+v", got, want)
	}
	compareRecord(t, "full", full)

	for _, tc := range []struct{ name, doc string }{
		{"empty", `{}`},
		{"null", `null`},
		{"folded keys", `{"ID":"x","Init_Pid":5,"SPEC":{"HOSTNAME":"h"},"Namespace_Paths":{"a":"b"},"SYSTEMD_CGROUP":true}`},
		{"null values", `{"id":"x","id":null,"created":null,"cgroup":null,"spec":null,"namespace_paths":null}`},
		{"repeated keys", `{"spec":{"hostname":"a","process":{"cwd":"/"}},"spec":{"domainname":"d"},"cgroup":[1,2],"cgroup":{"a":1}}`},
		{"unknown keys", `{"status":"running","pid":1,"id":"x"}`},
		{"created with zone", `{"created":"2026-12-05T01:02:03.000456789+02:00"}`},
		{"created not a string", `{"created":5}`},
		{"created invalid", `{"created":"yesterday"}`},
		{"created object", `{"created":{}}`},
		{"type error", `{"id":"x","init_pid":"5"}`},
		{"overflow", `{"init_start_time":-1}`},
		{"spec type error", `{"spec":{"process":{"user":{"uid":"0"}}}}`},
		{"syntax error", `{"id":"x",}`},
		{"trailing data", `{"id":"x"}x`},
		{"truncated", `{"id":"x"`},
	} {
		compareRecord(t, tc.name, []byte(tc.doc))
	}
}

func TestEncodeRecord(t *testing.T) {
	withZone := fullRecord()
	withZone.Created = time.Now().In(time.FixedZone("x", 5400)) // monotonic reading and a zone
	withZone.Spec.Windows = &specs.Windows{CredentialSpec: map[string]any{"<": 1.5}}
	html := record{ID: "<&>\u2028\xff", Owner: "\"\\\n", Cgroup: json.RawMessage(" { \"a\" : [ \"<b>\", 1 ] , \"\u2029\":null } ")}
	for name, r := range map[string]record{
		"full":        fullRecord(),
		"zero":        {},
		"zone":        withZone,
		"html":        html,
		"bad cgroup":  {Cgroup: json.RawMessage(`{"a":`)},
		"bad time":    {Created: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)},
		"empty paths": {NamespacePaths: map[string]string{}, Cgroup: json.RawMessage{}},
	} {
		want, wantErr := json.Marshal(&r)
		got, gotErr := encodeRecord(&r)
		if !bytes.Equal(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("%s: encodeRecord\n%s (%v)\njson.Marshal\n%s (%v)", name, got, gotErr, want, wantErr)
		}
	}
}
