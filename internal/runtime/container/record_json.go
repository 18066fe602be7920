package container

import (
	"encoding/json"

	"github.com/berth-engine/berth/internal/runtime/specjson"
)

// decodeRecord is json.Unmarshal(data, r) for a zero r, without encoding/json's
// reflection: every berth-runtime command but create starts by reading
// state.json, in a fresh process where encoding/json's caches are cold (see
// specjson). Anything the fast path does not accept goes to encoding/json,
// which then decides the value and the error.
func decodeRecord(data []byte, r *record) error {
	d := specjson.NewDecoder(data)
	if !d.Null() && d.Object() {
		for n := 0; ; n++ {
			key, ok := d.Key(n)
			if !ok {
				break
			}
			switch recordField(d, key) {
			case "id":
				specjson.String(d, &r.ID)
			case "init_pid":
				specjson.Int(d, &r.InitPid)
			case "init_start_time":
				specjson.Uint(d, &r.InitStartTime)
			case "bundle":
				specjson.String(d, &r.Bundle)
			case "rootfs":
				specjson.String(d, &r.Rootfs)
			case "created":
				// encoding/json hands time.Time any value, null included.
				if raw := d.Raw(); !d.Failed() && r.Created.UnmarshalJSON(raw) != nil {
					d.Fail()
				}
			case "owner":
				specjson.String(d, &r.Owner)
			case "spec":
				specjson.SpecPtr(d, &r.Spec)
			case "cgroup":
				// json.RawMessage keeps any value's bytes, null included.
				if raw := d.Raw(); !d.Failed() {
					r.Cgroup = append(r.Cgroup[:0], raw...)
				}
			case "namespace_paths":
				specjson.Map(d, &r.NamespacePaths, specjson.String[string])
			case "systemd_cgroup":
				specjson.Bool(d, &r.SystemdCgroup)
			default:
				d.Skip()
			}
		}
	}
	if d.Finish() != nil {
		*r = record{}
		return json.Unmarshal(data, r)
	}
	return nil
}

// recordField is the json name of record's field that key selects, by
// encoding/json's rules: the exact name, else the case-folded match; "" for
// none.
func recordField(d *specjson.Decoder, key []byte) string {
	switch string(key) {
	case "id":
		return "id"
	case "init_pid":
		return "init_pid"
	case "init_start_time":
		return "init_start_time"
	case "bundle":
		return "bundle"
	case "rootfs":
		return "rootfs"
	case "created":
		return "created"
	case "owner":
		return "owner"
	case "spec":
		return "spec"
	case "cgroup":
		return "cgroup"
	case "namespace_paths":
		return "namespace_paths"
	case "systemd_cgroup":
		return "systemd_cgroup"
	}
	switch string(d.Fold(key)) {
	case "ID":
		return "id"
	case "INIT_PID":
		return "init_pid"
	case "INIT_START_TIME":
		return "init_start_time"
	case "BUNDLE":
		return "bundle"
	case "ROOTFS":
		return "rootfs"
	case "CREATED":
		return "created"
	case "OWNER":
		return "owner"
	case "SPEC":
		return "spec"
	case "CGROUP":
		return "cgroup"
	case "NAMESPACE_PATHS":
		return "namespace_paths"
	case "SYSTEMD_CGROUP":
		return "systemd_cgroup"
	}
	return ""
}
