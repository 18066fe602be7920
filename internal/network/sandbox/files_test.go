package sandbox

import (
	"strings"
	"testing"
)

func TestBuildHosts(t *testing.T) {
	got := string(BuildHosts(Hosts{IPv6: true,
		Extra: []HostEntry{{IP: "10.0.0.9", Names: []string{"db"}}},
		Self:  []HostEntry{{IP: "172.17.0.2", Names: []string{"abc"}}}}))
	want := "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n10.0.0.9\tdb\n172.17.0.2\tabc\n"
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

func TestBuildResolvConf(t *testing.T) {
	host := ResolvConf{Nameservers: []string{"127.0.0.53"}, Search: []string{"lan"}, Path: "/etc/resolv.conf"}
	got, _ := BuildResolvConf(host, ResolvOpts{})
	if !strings.Contains(string(got), "nameserver 8.8.8.8\nnameserver 8.8.4.4\nsearch lan\n") {
		t.Fatalf("loopback-only host: %s", got)
	}
	got, up := BuildResolvConf(host, ResolvOpts{Internal: true})
	if !strings.Contains(string(got), "nameserver 127.0.0.11\nsearch lan\noptions ndots:0\n") || len(up) != 1 || up[0] != "127.0.0.53" {
		t.Fatalf("internal: %s %v", got, up)
	}
	got, _ = BuildResolvConf(host, ResolvOpts{DNS: []string{"10.0.0.1"}, DNSSearch: []string{"a.b"}, DNSOptions: []string{"timeout:1"}})
	if !strings.Contains(string(got), "nameserver 10.0.0.1\nsearch a.b\noptions timeout:1\n") || !strings.Contains(string(got), "# Overrides: [nameservers search options]") {
		t.Fatalf("overrides: %s", got)
	}
}
