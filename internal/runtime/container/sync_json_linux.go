package container

import (
	"encoding/json"

	"github.com/berth-engine/berth/internal/runtime/specjson"
)

// The init socket's messages are JSON, and syncMsg reaches the whole spec
// (Config carries a Spec and a Process). encoding/json's first use of a
// type builds its field lists and encoders for every type it reaches, with
// reflection: ~0.6 ms of every create, paid at the first message from the
// init, even though that message is a pid. These codecs write and read the
// same bytes as encoding/json without reflection; anything the decoder does
// not accept, and any value the encoder cannot write as json.Marshal would,
// goes to encoding/json, which then decides the result and the error.

// decodeSyncMsg is json.Unmarshal(data, m) for a zero m.
func decodeSyncMsg(data []byte, m *syncMsg) error {
	d := specjson.NewDecoder(data)
	if !d.Null() && d.Object() {
		fields := [...]string{"type", "pid", "message", "config", "time"}
		for n := 0; ; n++ {
			key, ok := d.Key(n)
			if !ok {
				break
			}
			switch d.Match(key, fields[:]) {
			case 0:
				specjson.String(d, &m.Type)
			case 1:
				specjson.Int(d, &m.Pid)
			case 2:
				specjson.String(d, &m.Message)
			case 3:
				specjson.Ptr(d, &m.Config, decodeInitConfig)
			case 4:
				specjson.Int(d, &m.Time)
			default:
				d.Skip()
			}
		}
	}
	if d.Finish() != nil {
		*m = syncMsg{}
		return json.Unmarshal(data, m)
	}
	return nil
}

func decodeInitConfig(d *specjson.Decoder, c *initConfig) {
	if d.Null() || !d.Object() {
		return
	}
	fields := [...]string{"exec", "id", "bundle", "rootfs", "spec", "process", "seccomp_bpf", "no_pivot",
		"no_mountns", "cgroup_tasks", "new_userns", "new_netns", "new_uts", "new_cgroupns", "cgroupns",
		"hooks_sync", "fifo_fd", "console_fd", "preserve_fds", "trace"}
	for n := 0; ; n++ {
		key, ok := d.Key(n)
		if !ok {
			return
		}
		switch d.Match(key, fields[:]) {
		case 0:
			specjson.Bool(d, &c.Exec)
		case 1:
			specjson.String(d, &c.ID)
		case 2:
			specjson.String(d, &c.Bundle)
		case 3:
			specjson.String(d, &c.Rootfs)
		case 4:
			specjson.SpecPtr(d, &c.Spec)
		case 5:
			specjson.ProcessPtr(d, &c.Process)
		case 6:
			specjson.Base64(d, &c.SeccompBPF)
		case 7:
			specjson.Bool(d, &c.NoPivot)
		case 8:
			specjson.Bool(d, &c.NoMountNS)
		case 9:
			specjson.Slice(d, &c.CgroupTasks, specjson.String[string])
		case 10:
			specjson.Bool(d, &c.NewUserNS)
		case 11:
			specjson.Bool(d, &c.NewNetNS)
		case 12:
			specjson.Bool(d, &c.NewUTS)
		case 13:
			specjson.Bool(d, &c.NewCgroupNS)
		case 14:
			specjson.Bool(d, &c.CgroupNS)
		case 15:
			specjson.Bool(d, &c.HooksSync)
		case 16:
			specjson.Int(d, &c.FifoFd)
		case 17:
			specjson.Int(d, &c.ConsoleFd)
		case 18:
			specjson.Int(d, &c.PreserveFDs)
		case 19:
			specjson.Bool(d, &c.Trace)
		default:
			d.Skip()
		}
	}
}

// encodeSyncMsg is json.Marshal(m), byte for byte.
func encodeSyncMsg(m *syncMsg) ([]byte, error) {
	var e specjson.Encoder
	e.Raw(`{"type":`)
	e.String(m.Type)
	if m.Pid != 0 {
		e.Raw(`,"pid":`)
		e.Int(int64(m.Pid))
	}
	if m.Message != "" {
		e.Raw(`,"message":`)
		e.String(m.Message)
	}
	if m.Config != nil {
		e.Raw(`,"config":`)
		encodeInitConfig(&e, m.Config)
	}
	if m.Time != 0 {
		e.Raw(`,"time":`)
		e.Int(m.Time)
	}
	e.Raw("}")
	data, ok := e.Bytes()
	if !ok {
		return json.Marshal(m)
	}
	return data, nil
}

func encodeInitConfig(e *specjson.Encoder, c *initConfig) {
	e.Raw("{")
	if c.Exec {
		e.Raw(`"exec":true,`)
	}
	e.Raw(`"id":`)
	e.String(c.ID)
	e.Raw(`,"bundle":`)
	e.String(c.Bundle)
	e.Raw(`,"rootfs":`)
	e.String(c.Rootfs)
	if c.Spec != nil {
		e.Raw(`,"spec":`)
		specjson.EncodeSpec(e, c.Spec)
	}
	e.Raw(`,"process":`)
	specjson.EncodeProcess(e, c.Process)
	if len(c.SeccompBPF) != 0 {
		e.Raw(`,"seccomp_bpf":`)
		e.Base64(c.SeccompBPF)
	}
	flag := func(name string, set bool) {
		if set {
			e.Raw(`,"` + name + `":true`)
		}
	}
	flag("no_pivot", c.NoPivot)
	flag("no_mountns", c.NoMountNS)
	if len(c.CgroupTasks) != 0 {
		e.Raw(`,"cgroup_tasks":`)
		specjson.EncodeStrings(e, c.CgroupTasks)
	}
	flag("new_userns", c.NewUserNS)
	flag("new_netns", c.NewNetNS)
	flag("new_uts", c.NewUTS)
	flag("new_cgroupns", c.NewCgroupNS)
	flag("cgroupns", c.CgroupNS)
	flag("hooks_sync", c.HooksSync)
	num := func(name string, n int) {
		if n != 0 {
			e.Raw(`,"` + name + `":`)
			e.Int(int64(n))
		}
	}
	num("fifo_fd", c.FifoFd)
	num("console_fd", c.ConsoleFd)
	num("preserve_fds", c.PreserveFDs)
	flag("trace", c.Trace)
	e.Raw("}")
}
