package formatter

import (
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"github.com/moby/moby/api/types/container"
)

type row struct{ name, state string }

func (r row) Name() string  { return r.name }
func (r row) State() string { return r.state }
func (r row) MarshalJSON() ([]byte, error) {
	return MarshalFields(r)
}

var header = Header{"Name": "NAME", "State": "STATE"}

func TestWrite(t *testing.T) {
	rows := []any{row{"web", "running"}, row{"a-much-longer-name", "exited"}}
	cases := []struct {
		name   string
		format Format
		rows   []any
		want   string
	}{
		{"table pads to the widest cell plus three", `table {{.Name}}\t{{.State}}`, rows,
			"NAME                 STATE\nweb                  running\na-much-longer-name   exited\n"},
		{"table columns are at least ten wide", `table {{.State}}\t{{.Name}}`, []any{row{"x", "up"}},
			"STATE     NAME\nup        x\n"},
		{"table header without rows", `table {{.Name}}\t{{.State}}`, nil, "NAME      STATE\n"},
		{"table header keeps helpers out", `table {{upper .Name}}\t{{truncate .State 2}}`, rows,
			"NAME                 STATE\nWEB                  ru\nA-MUCH-LONGER-NAME   ex\n"},
		{"table unknown field header", `table {{.Name}}\t{{.Nope}}`, nil, "NAME      <no value>\n"},
		{"table keyword with spaces", "table   {{.Name}}  ", []any{row{"web", ""}}, "NAME\nweb\n"},
		{"json is one object per line", "json", rows,
			`{"Name":"web","State":"running"}` + "\n" + `{"Name":"a-much-longer-name","State":"exited"}` + "\n"},
		{"template without header", `{{.Name}}:{{.State}}`, rows, "web:running\na-much-longer-name:exited\n"},
		{"escaped tab and newline", `{{.Name}}\t{{.State}}\n`, rows[:1], "web\trunning\n\n"},
		{"template with no rows prints nothing", `{{.Name}}`, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := (Context{Output: &b, Format: c.format}).Write(header, c.rows); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got\n%q\nwant\n%q", b.String(), c.want)
			}
		})
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name, format, prefix string
	}{
		{"unclosed action", "{{.Name", "failed to parse template: "},
		{"unknown function", "{{frob .Name}}", "failed to parse template: "},
		{"unknown field", "{{.Nope}}", "failed to execute template: "},
		{"wrong arity", "{{upper}}", "failed to execute template: "},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := (Context{Output: &bytes.Buffer{}, Format: Format(c.format)}).Write(header, []any{row{"a", "b"}})
			if err == nil || !strings.HasPrefix(err.Error(), c.prefix) {
				t.Fatalf("err %v, want prefix %q", err, c.prefix)
			}
		})
	}
}

func TestFuncs(t *testing.T) {
	v := struct {
		S    string
		L    []string
		HTML string
	}{"hello world", []string{"a", "b"}, "<a&b>"}
	cases := []struct{ tmpl, want string }{
		{`{{json .L}}`, `["a","b"]`},
		{`{{json .HTML}}`, `"<a&b>"`}, // no HTML escaping, as docker
		{`{{join .L ", "}}`, "a, b"},
		{`{{split "a:b:c" ":"}}`, "[a b c]"},
		{`{{upper .S}} {{lower "ABC"}}`, "HELLO WORLD abc"},
		{`{{title .S}}`, "Hello World"},
		{`{{title "ünïcode-word x_y"}}`, "Ünïcode-Word X_y"},
		{`{{truncate .S 5}}|{{truncate "ab" 5}}|{{truncate "abcde" 5}}`, "hello|ab|abcde"},
		{`[{{pad "x" 2 1}}][{{pad "" 2 1}}]`, "[  x ][]"},
		{`{{println "a" 1}}b`, "a 1\nb"},
	}
	for _, c := range cases {
		t.Run(c.tmpl, func(t *testing.T) {
			tmpl, err := Parse(c.tmpl)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tmpl.Execute(&b, v); err != nil {
				t.Fatal(err)
			}
			if b.String() != c.want {
				t.Fatalf("got %q, want %q", b.String(), c.want)
			}
		})
	}
}

func TestExecute(t *testing.T) {
	v := struct{ A int }{3}
	for format, want := range map[string]string{"json": "{\"A\":3}\n", "{{.A}}": "3\n", "{{json .}}": "{\"A\":3}\n"} {
		var b bytes.Buffer
		if err := Execute(&b, format, v); err != nil || b.String() != want {
			t.Fatalf("%s: got %q (%v), want %q", format, b.String(), err, want)
		}
	}
	if err := Execute(&bytes.Buffer{}, "{{.A", v); err == nil {
		t.Fatal("bad template accepted")
	}
}

func TestEllipsis(t *testing.T) {
	cases := []struct {
		in   string
		n    int
		want string
	}{
		{"short", 20, "short"},
		{"exactly-twenty-chars", 20, "exactly-twenty-chars"},
		{"httpd -f -p 8080 -h /srv", 20, "httpd -f -p 8080 -h…"},
		{"ééééé", 3, "éé…"},
	}
	for _, c := range cases {
		if got := Ellipsis(c.in, c.n); got != c.want {
			t.Errorf("Ellipsis(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func TestDisplayPorts(t *testing.T) {
	any4 := netip.MustParseAddr("0.0.0.0")
	any6 := netip.MustParseAddr("::")
	p := func(ip netip.Addr, priv, pub uint16, proto string) container.PortSummary {
		return container.PortSummary{IP: ip, PrivatePort: priv, PublicPort: pub, Type: proto}
	}
	cases := []struct {
		name  string
		ports []container.PortSummary
		want  string
	}{
		{"none", nil, ""},
		{"exposed only", []container.PortSummary{p(netip.Addr{}, 80, 0, "tcp")}, "80/tcp"},
		{"published", []container.PortSummary{p(any4, 80, 8080, "tcp")}, "0.0.0.0:8080->80/tcp"},
		{"ipv6 in brackets", []container.PortSummary{p(any6, 80, 8080, "tcp")}, "[::]:8080->80/tcp"},
		{"sorted by protocol then port", []container.PortSummary{p(netip.Addr{}, 53, 0, "udp"), p(any4, 443, 443, "tcp"), p(any4, 80, 80, "tcp")},
			"0.0.0.0:80->80/tcp, 0.0.0.0:443->443/tcp, 53/udp"},
		{"consecutive ports make a range", []container.PortSummary{p(any4, 8001, 9001, "tcp"), p(any4, 8000, 9000, "tcp"), p(any4, 8002, 9002, "tcp")},
			"0.0.0.0:9000-9002->8000-8002/tcp"},
		{"exposed range", []container.PortSummary{p(netip.Addr{}, 7000, 0, "tcp"), p(netip.Addr{}, 7001, 0, "tcp")}, "7000-7001/tcp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := DisplayPorts(c.ports); got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestShortID(t *testing.T) {
	for in, want := range map[string]string{
		"sha256:1111111111111111111111111111111111111111111111111111111111111111": "111111111111",
		"abc": "abc",
	} {
		if got := ShortID(in); got != want {
			t.Errorf("ShortID(%q) = %q", in, got)
		}
	}
}
