package specjson

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// fill sets every field reachable from v to a non-zero value, varying with
// seed, except interface fields (decoded by encoding/json, tested apart).
func fill(v reflect.Value, seed *int) {
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d-é\u2028\"\\<>&\t", n))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(-int64(n))
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		v.SetUint(uint64(n))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), seed)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(v.Index(0), seed)
		fill(v.Index(1), seed)
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
		for i := 0; i < 2; i++ {
			k := reflect.New(v.Type().Key()).Elem()
			fill(k, seed)
			e := reflect.New(v.Type().Elem()).Elem()
			fill(e, seed)
			v.SetMapIndex(k, e)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), seed)
			}
		}
	}
}

func fullSpec(t testing.TB) []byte {
	var s specs.Spec
	seed := 0
	fill(reflect.ValueOf(&s).Elem(), &seed)
	data, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func fullProcess(t testing.TB) []byte {
	var p specs.Process
	seed := 100
	fill(reflect.ValueOf(&p).Elem(), &seed)
	data, err := json.Marshal(&p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// fullLinuxSpec is fullSpec without the other platforms' sections, which the
// generated code leaves to encoding/json.
func fullLinuxSpec(t testing.TB) []byte {
	var s specs.Spec
	seed := 0
	fill(reflect.ValueOf(&s).Elem(), &seed)
	s.Solaris, s.Windows, s.VM, s.ZOS, s.FreeBSD = nil, nil, nil, nil, nil
	data, err := json.Marshal(&s)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func testdataSpecs(t testing.TB) map[string][]byte {
	docs := map[string][]byte{"full": fullSpec(t), "full-linux": fullLinuxSpec(t)}
	for _, name := range []string{"runc-spec.json", "docker-seccomp.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = data
	}
	return docs
}

// compareSpec decodes data both ways and reports any difference in value or
// error. fast says whether the generated decoder must accept data without
// handing it to encoding/json.
func compareSpec(t *testing.T, name string, data []byte, fast bool) {
	t.Helper()
	var want, got specs.Spec
	wantErr := json.Unmarshal(data, &want)
	gotErr := UnmarshalSpec(data, &got)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || reflect.TypeOf(gotErr) != reflect.TypeOf(wantErr) {
		t.Errorf("%s: error %T %v, encoding/json %T %v", name, gotErr, gotErr, wantErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		t.Errorf("%s: decoded\n%s\nencoding/json\n%s", name, g, w)
	}
	d := NewDecoder(data)
	var direct specs.Spec
	decodeSpec(d, &direct)
	failed := d.Finish() != nil
	if fast && failed {
		t.Errorf("%s: the generated decoder gave up on a document it should decode", name)
	}
	if wantErr != nil && !failed {
		t.Errorf("%s: the generated decoder accepted a document encoding/json refuses (%v)", name, wantErr)
	}
}

func TestTestdataSpecs(t *testing.T) {
	for name, data := range testdataSpecs(t) {
		fast := name != "full" // other platforms' sections are encoding/json's
		compareSpec(t, name, data, fast)
		var indented bytes.Buffer
		if err := json.Indent(&indented, data, "", "\t"); err != nil {
			t.Fatal(err)
		}
		compareSpec(t, name+" indented", indented.Bytes(), fast)
	}
}

func TestFullProcessAndState(t *testing.T) {
	data := fullProcess(t)
	var want, got specs.Process
	if err := json.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if err := UnmarshalProcess(data, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("process: got %+v, want %+v", got, want)
	}
	d := NewDecoder(data)
	var p specs.Process
	decodeProcess(d, &p)
	if d.Finish() != nil {
		t.Error("process: the generated decoder gave up")
	}

	var st specs.State
	seed := 0
	fill(reflect.ValueOf(&st).Elem(), &seed)
	data, err := json.Marshal(&st)
	if err != nil {
		t.Fatal(err)
	}
	var wantSt, gotSt specs.State
	if err := json.Unmarshal(data, &wantSt); err != nil {
		t.Fatal(err)
	}
	if err := UnmarshalState(data, &gotSt); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(gotSt, wantSt) || !reflect.DeepEqual(gotSt, st) {
		t.Errorf("state: got %+v, want %+v", gotSt, wantSt)
	}
}

// Valid documents whose decoding depends on encoding/json's finer rules; the
// generated decoder must give the same value without falling back.
func TestValidEdgeCases(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"empty object", `{}`},
		{"null document", `null`},
		{"whitespace", " \t\r\n{ \"hostname\" : \"h\" , \"domainname\":\"d\" } \n"},
		{"unknown keys skipped", `{"x":{"a":[1,2.5e-3,-0,true,false,null,{"b":"\u00e9"}]},"hostname":"h","y":[]}`},
		{"folded keys", `{"HOSTNAME":"a","OciVersion":"v","Process":{"ARGS":["x"],"noNEWprivileges":true}}`},
		{"kelvin sign and long s fold", "{\"proce\u017f\u017f\":{\"arg\u017f\":[\"k\"]},\"linux\":{\"\u212aernel\":1,\"ma\u017fkedPaths\":[\"/m\"]}}"},
		{"exact match beats fold", `{"hostname":"exact","HOSTNAME":"fold"}`},
		{"fold after exact", `{"HOSTNAME":"fold","hostname":"exact"}`},
		{"repeated key last wins", `{"hostname":"a","hostname":"b"}`},
		{"repeated struct merges", `{"process":{"cwd":"/a","args":["x"]},"process":{"cwd":"/b"}}`},
		{"repeated map merges", `{"annotations":{"a":"1","b":"2"},"annotations":{"b":"3","c":"4"}}`},
		{"repeated slice reuses elements", `{"mounts":[{"destination":"a","type":"t","options":["o1","o2"]},{"destination":"b"}],"mounts":[{"source":"s"}]}`},
		{"slice shrinks then grows into old elements", `{"mounts":[{"destination":"a","type":"t1"},{"destination":"b","type":"t2"},{"destination":"c","type":"t3"}],"mounts":[{"source":"s"}],"mounts":[{"source":"x"},{"source":"y"},{"source":"z"},{"source":"w"}]}`},
		{"uid slice growth", `{"process":{"user":{"additionalGids":[1,2,3]}},"process":{"user":{"additionalGids":[4]}},"process":{"user":{"additionalGids":[5,6,7,8,9]}}}`},
		{"empty array is non-nil", `{"mounts":[],"process":{"args":[]}}`},
		{"null pointer", `{"process":{"cwd":"/"},"process":null,"root":null}`},
		{"null slice and map", `{"mounts":[{"destination":"a"}],"mounts":null,"annotations":{"a":"b"},"annotations":null}`},
		{"null scalar unchanged", `{"hostname":"h","hostname":null,"process":{"terminal":true,"user":{"uid":5}},"process":{"terminal":null,"user":{"uid":null}}}`},
		{"null struct unchanged", `{"process":{"user":{"uid":1}},"process":{"user":null}}`},
		{"null map value", `{"annotations":{"a":null},"linux":{"resources":{"rdma":{"x":null,"y":{"hcaHandles":null}}}}}`},
		{"null array elements", `{"process":{"args":["a",null,"c"]},"mounts":[null,{"destination":"d"}]}`},
		{"repeated map key", `{"annotations":{"a":"1","a":"2"}}`},
		{"empty pointer object", `{"process":{},"linux":{"resources":{"memory":{}}}}`},
		{"escapes", `{"hostname":"\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00"}`},
		{"lone surrogates", `{"hostname":"\ud800","domainname":"\udc00x","annotations":{"\ud83d\u0041":"\ud83d\ud83d\ude00","z":"\ude00\ud83d"}}`},
		{"surrogate then escape", `{"hostname":"\ud800\n\ud800\\u1234"}`},
		{"invalid utf-8", "{\"hostname\":\"a\xffb\xc3\",\"domainname\":\"\xed\xa0\x80\",\"annotations\":{\"\xfe\":\"\xc0\xaf\"}}"},
		{"valid utf-8", "{\"hostname\":\"h\u00e9\u4e16\U0001F600\"}"},
		{"key escapes", `{"host\u006eame":"h","\u0061nnotations":{"k\u00e9":"v"}}`},
		{"int limits", `{"process":{"oomScoreAdj":-9223372036854775808,"user":{"uid":4294967295,"gid":0}},"linux":{"resources":{"memory":{"limit":9223372036854775807,"swappiness":18446744073709551615},"blockIO":{"weight":65535}}}}`},
		{"negative zero int", `{"process":{"oomScoreAdj":-0}}`},
		{"embedded struct fields", `{"linux":{"resources":{"blockIO":{"weightDevice":[{"major":8,"minor":-1,"weight":10}],"throttleReadBpsDevice":[{"MAJOR":1,"minor":2,"rate":3}]}}}}`},
		{"embedded struct name is not a key", `{"linux":{"resources":{"blockIO":{"weightDevice":[{"LinuxBlockIODevice":{"major":1}}]}}}}`},
		{"file mode", `{"linux":{"devices":[{"path":"/dev/x","type":"c","major":1,"minor":3,"fileMode":438,"uid":0,"gid":0}]}}`},
		{"bools", `{"root":{"path":"r","readonly":true},"root":{"readonly":false},"linux":{"resources":{"memory":{"disableOOMKiller":false,"useHierarchy":true}}}}`},
		{"map of structs", `{"linux":{"netDevices":{"eth0":{"name":"n"},"eth1":{}},"timeOffsets":{"boottime":{"secs":-5,"nanosecs":7}}}}`},
		{"deep unknown", `{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}`},
	} {
		compareSpec(t, tc.name, []byte(tc.doc), true)
	}
}

// Documents that encoding/json refuses, or decodes with rules the generated
// code leaves to it: same value, same error.
func TestFallbackCases(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{"empty", ``},
		{"whitespace only", "  \n"},
		{"truncated", `{"hostname":"h"`},
		{"trailing data", `{} {}`},
		{"trailing comma object", `{"hostname":"h",}`},
		{"trailing comma array", `{"process":{"args":["a",]}}`},
		{"leading comma array", `{"process":{"args":[,"a"]}}`},
		{"missing colon", `{"hostname" "h"}`},
		{"missing comma", `{"hostname":"h" "domainname":"d"}`},
		{"single quotes", `{'hostname':'h'}`},
		{"unquoted key", `{hostname:"h"}`},
		{"bad escape", `{"hostname":"\x"}`},
		{"bad quote escape", `{"hostname":"\'"}`},
		{"bad unicode escape", `{"hostname":"\u12g4"}`},
		{"short unicode escape", `{"hostname":"\u12"}`},
		{"control char in string", "{\"hostname\":\"a\tb\"}"},
		{"control char in skipped string", "{\"x\":\"a\nb\"}"},
		{"syntax error in skipped value", `{"x":[1,2,}],"hostname":"h"}`},
		{"leading zero", `{"process":{"oomScoreAdj":01}}`},
		{"leading zero skipped", `{"x":01}`},
		{"plus sign", `{"process":{"oomScoreAdj":+1}}`},
		{"bare minus", `{"x":-}`},
		{"dot without digits", `{"x":1.}`},
		{"exponent without digits", `{"x":1e+}`},
		{"bad literal", `{"root":{"readonly":tru}}`},
		{"literal run-on", `{"root":{"readonly":truex}}`},
		{"skipped bad literal", `{"x":nul}`},
		{"NaN", `{"x":NaN}`},
		{"overflow uint32", `{"process":{"user":{"uid":4294967296}}}`},
		{"overflow int64", `{"process":{"oomScoreAdj":9223372036854775808}}`},
		{"underflow int64", `{"process":{"oomScoreAdj":-9223372036854775809}}`},
		{"overflow uint64", `{"linux":{"resources":{"memory":{"swappiness":18446744073709551616}}}}`},
		{"huge number", `{"linux":{"resources":{"memory":{"swappiness":1000000000000000000000000000}}}}`},
		{"negative uint", `{"process":{"user":{"uid":-1}}}`},
		{"negative zero uint", `{"process":{"user":{"uid":-0}}}`},
		{"fraction into int", `{"process":{"user":{"uid":1.0}}}`},
		{"exponent into int", `{"process":{"user":{"uid":1e3}}}`},
		{"string into int", `{"process":{"user":{"uid":"1"}}}`},
		{"number into string", `{"hostname":1}`},
		{"bool into string", `{"hostname":true}`},
		{"string into bool", `{"root":{"readonly":"true"}}`},
		{"array into struct", `{"process":[]}`},
		{"object into slice", `{"mounts":{}}`},
		{"string into map", `{"annotations":"a"}`},
		{"number into map value", `{"annotations":{"a":1}}`},
		{"top-level array", `[]`},
		{"top-level string", `"x"`},
		{"error after good fields", `{"hostname":"h","process":{"cwd":"/","user":{"uid":"x"}},"domainname":"d"}`},
		{"two errors", `{"hostname":1,"domainname":2}`},
		{"interface field", `{"windows":{"credentialSpec":{"a":[1,"b",null]}}}`},
		{"windows section", `{"windows":{"layerFolders":["a"],"hyperv":{"utilityVMPath":"p"}}}`},
		{"other platforms' sections", `{"solaris":{"anet":[{"linkname":"l"}]},"vm":{"kernel":{"path":"k"}},"zos":{},"freebsd":{"jail":{"allow":{"mount":["m"]}}}}`},
		{"null windows section", `{"windows":null}`},
		{"interface field null", `{"windows":{"credentialSpec":null}}`},
		{"deep nesting", `{"x":` + strings.Repeat("[", 20000) + strings.Repeat("]", 20000) + `}`},
		{"deep but valid", `{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`},
		{"unterminated string", `{"hostname":"h`},
		{"byte order mark", "\xef\xbb\xbf{}"},
	} {
		compareSpec(t, tc.name, []byte(tc.doc), false)
	}
}

// A non-zero target goes to encoding/json, which merges into it.
func TestNonZeroTarget(t *testing.T) {
	doc := []byte(`{"process":{"cwd":"/b"},"mounts":[{"source":"s"}]}`)
	mk := func() specs.Spec {
		return specs.Spec{Hostname: "keep", Process: &specs.Process{Args: []string{"a"}}, Mounts: []specs.Mount{{Destination: "d", Type: "t"}}}
	}
	want, got := mk(), mk()
	if err := json.Unmarshal(doc, &want); err != nil {
		t.Fatal(err)
	}
	if err := UnmarshalSpec(doc, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if err, want := UnmarshalSpec(doc, nil), json.Unmarshal(doc, (*specs.Spec)(nil)); fmt.Sprint(err) != fmt.Sprint(want) {
		t.Errorf("nil target: %v, want %v", err, want)
	}
}

func TestProcessErrors(t *testing.T) {
	for _, doc := range []string{`{"args":["a"],"user":{"uid":-1}}`, `{"args":"a"}`, `{`, `{"cwd":"/","env":[1]}`} {
		var want, got specs.Process
		wantErr := json.Unmarshal([]byte(doc), &want)
		gotErr := UnmarshalProcess([]byte(doc), &got)
		if wantErr == nil || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v %+v, want %v %+v", doc, gotErr, got, wantErr, want)
		}
	}
}

func TestIntegerBounds(t *testing.T) {
	for _, v := range []string{"0", "-1", "1", "127", "-128", "128", "-129", "255", "256", "32767", "-32768", "65535", "65536",
		"2147483647", "-2147483648", "2147483648", "4294967295", "4294967296", fmt.Sprint(uint64(math.MaxUint64)), "-9223372036854775808"} {
		for _, field := range []string{
			`{"process":{"oomScoreAdj":%s}}`,                       // *int
			`{"process":{"scheduler":{"nice":%s}}}`,                // int32
			`{"process":{"user":{"uid":%s}}}`,                      // uint32
			`{"process":{"consoleSize":{"height":%s}}}`,            // uint
			`{"linux":{"resources":{"blockIO":{"weight":%s}}}}`,    // *uint16
			`{"linux":{"timeOffsets":{"b":{"secs":%s}}}}`,          // int64
			`{"linux":{"resources":{"memory":{"swappiness":%s}}}}`, // *uint64
		} {
			doc := fmt.Sprintf(field, v)
			var want specs.Spec
			wantErr := json.Unmarshal([]byte(doc), &want)
			compareSpec(t, doc, []byte(doc), wantErr == nil)
		}
	}
}

func TestGeneratedFileUpToDate(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	dir := t.TempDir()
	cmd := exec.Command(goBin, "run", "./internal/gen", "-decode", filepath.Join(dir, "decode_gen.go"), "-encode", filepath.Join(dir, "encode_gen.go"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run ./internal/gen: %v\n%s", err, msg)
	}
	for _, name := range []string{"decode_gen.go", "encode_gen.go"} {
		want, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/runtime/specjson", name)
		}
	}
}

// specjson is imported by berth-runtime's every command: it may import only
// the standard library and the runtime-spec module.
func TestImports(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not on PATH")
	}
	out, err := exec.Command(goBin, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if p != "github.com/berth-engine/berth/internal/runtime/specjson" && !strings.HasPrefix(p, "github.com/opencontainers/runtime-spec/") {
			t.Errorf("specjson depends on %s", p)
		}
	}
}

// FuzzUnmarshalSpec checks the contract on arbitrary input: the same value
// and error as encoding/json, and the same bytes from MarshalSpec as from
// json.Marshal for whatever was decoded.
//
// CI runs its seeds only. Locally, for a minute (a short minimization time:
// the seeds are up to 12 KB, and minimizing one takes the default minute):
//
//	go test -run='^$' -fuzz=FuzzUnmarshalSpec -fuzztime=60s -fuzzminimizetime=2s ./internal/runtime/specjson
func FuzzUnmarshalSpec(f *testing.F) {
	for _, data := range testdataSpecs(f) {
		f.Add(data)
	}
	f.Add([]byte(`{"mounts":[{"destination":"a","type":"t"},{"destination":"b"}],"mounts":[{"source":"s"}],"mounts":[{},{},{}]}`))
	f.Add([]byte(`{"HOSTNAME":"\ud83d\ude00\ud800","annotations":{"a":null},"process":{"user":{"uid":4294967295}}}`))
	f.Add([]byte("{\"proce\u017f\u017f\":{\"arg\u017f\":[\"\xff\"]}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got specs.Spec
		wantErr := json.Unmarshal(data, &want)
		gotErr := UnmarshalSpec(data, &got)
		if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("error %v, encoding/json %v", gotErr, wantErr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v, encoding/json %+v", got, want)
		}
		d := NewDecoder(data)
		var direct specs.Spec
		decodeSpec(d, &direct)
		if d.Finish() == nil && wantErr != nil {
			t.Fatalf("accepted what encoding/json refuses: %v", wantErr)
		}
		if d.Finish() == nil && !reflect.DeepEqual(direct, want) {
			t.Fatalf("generated decoder %+v, encoding/json %+v", direct, want)
		}
		// And the encoder writes what json.Marshal writes for that value.
		wantOut, wantErr := json.Marshal(&want)
		gotOut, gotErr := MarshalSpec(&want)
		if !bytes.Equal(gotOut, wantOut) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("MarshalSpec %s (%v), json.Marshal %s (%v)", gotOut, gotErr, wantOut, wantErr)
		}
	})
}
