package container

import (
	"bytes"
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

// encodeRecord is json.Marshal(r), byte for byte, without encoding/json's
// reflection: create saves the record, spec included, in a fresh process
// where a first json.Marshal of the spec costs ~0.5 ms.
func encodeRecord(r *record) ([]byte, error) {
	var e specjson.Encoder
	e.Raw(`{"id":`)
	e.String(r.ID)
	e.Raw(`,"init_pid":`)
	e.Int(int64(r.InitPid))
	e.Raw(`,"init_start_time":`)
	e.Uint(r.InitStartTime)
	e.Raw(`,"bundle":`)
	e.String(r.Bundle)
	e.Raw(`,"rootfs":`)
	e.String(r.Rootfs)
	// time.Time's JSON is an RFC 3339 string: nothing in it for encoding/json
	// to compact or escape.
	created, err := r.Created.MarshalJSON()
	if err != nil {
		return json.Marshal(r)
	}
	e.Raw(`,"created":`)
	e.RawBytes(created)
	e.Raw(`,"owner":`)
	e.String(r.Owner)
	e.Raw(`,"spec":`)
	specjson.EncodeSpec(&e, r.Spec)
	if len(r.Cgroup) != 0 {
		// encoding/json compacts a json.RawMessage and escapes it for HTML.
		var compact, escaped bytes.Buffer
		if json.Compact(&compact, r.Cgroup) != nil {
			return json.Marshal(r)
		}
		json.HTMLEscape(&escaped, compact.Bytes())
		e.Raw(`,"cgroup":`)
		e.RawBytes(escaped.Bytes())
	}
	if len(r.NamespacePaths) != 0 {
		e.Raw(`,"namespace_paths":`)
		specjson.EncodeStringMap(&e, r.NamespacePaths)
	}
	if r.SystemdCgroup {
		e.Raw(`,"systemd_cgroup":true`)
	}
	e.Raw("}")
	data, ok := e.Bytes()
	if !ok {
		return json.Marshal(r)
	}
	return data, nil
}
