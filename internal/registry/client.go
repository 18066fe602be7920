package registry

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/distribution/reference"

	"github.com/berth-engine/berth/internal/errdefs"
)

// DockerHub is the registry host docker.io names resolve to.
const DockerHub = "registry-1.docker.io"

// Options configure a Client.
type Options struct {
	// Insecure lists registries reached over plain http or unverified
	// https: host[:port] names or CIDRs (daemon.json's
	// insecure-registries). Loopback addresses are always insecure.
	Insecure []string
	// Mirrors are base URLs tried before Docker Hub when pulling a
	// docker.io image (daemon.json's registry-mirrors).
	Mirrors []string
	// UserAgent is sent with every request.
	UserAgent string
	// Transport replaces the default transport (tests).
	Transport http.RoundTripper
}

// Auth is a user's credentials for one registry (docker's AuthConfig).
type Auth struct {
	Username      string
	Password      string
	IdentityToken string // an OAuth refresh token
	RegistryToken string // a bearer token used as it is
}

// Client reaches registries. It is safe for concurrent use.
type Client struct {
	opts     Options
	nets     []*net.IPNet
	hosts    map[string]bool
	secure   *http.Client
	insecure *http.Client // skips certificate verification
}

// New returns a client; ErrInvalidParameter for an entry of
// opts.Insecure or opts.Mirrors that cannot be parsed.
func New(opts Options) (*Client, error) {
	c := &Client{opts: opts, hosts: map[string]bool{}}
	for _, s := range opts.Insecure {
		if strings.Contains(s, "/") && !strings.Contains(s, "://") {
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("insecure registry %s is not a valid CIDR: %v", s, err))
			}
			c.nets = append(c.nets, n)
			continue
		}
		s = strings.TrimPrefix(strings.TrimPrefix(s, "http://"), "https://")
		c.hosts[strings.TrimSuffix(s, "/")] = true
	}
	for _, m := range opts.Mirrors {
		u, err := url.Parse(m)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, fmt.Sprintf("invalid mirror: %q is not a valid URI", m))
		}
	}
	rt := opts.Transport
	irt := opts.Transport
	if rt == nil {
		base := &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
			DisableCompression:    true,
			ReadBufferSize:        256 << 10,
			WriteBufferSize:       256 << 10,
		}
		ins := base.Clone()
		ins.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} //nolint:gosec // insecure-registries asks for it
		rt, irt = base, ins
	}
	c.secure = &http.Client{Transport: rt}
	c.insecure = &http.Client{Transport: irt}
	return c, nil
}

// Close drops the client's idle connections.
func (c *Client) Close() {
	c.secure.CloseIdleConnections()
	c.insecure.CloseIdleConnections()
}

// IsInsecure reports whether host (host[:port]) may be reached over plain
// http: a loopback address, a listed host or an address in a listed CIDR.
func (c *Client) IsInsecure(host string) bool {
	if c.hosts[host] {
		return true
	}
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(strings.Trim(h, "[]"))
	if ip == nil {
		if ips, err := net.LookupIP(h); err == nil && len(ips) > 0 {
			ip = ips[0]
		}
	}
	if ip == nil {
		return false
	}
	if ip.IsLoopback() {
		return true
	}
	for _, n := range c.nets {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// Host is the registry host a reference's domain is served by:
// docker.io → registry-1.docker.io, anything else as it is.
func Host(domain string) string {
	if domain == "docker.io" || domain == "index.docker.io" {
		return DockerHub
	}
	return domain
}

// endpoint is one base URL a repository may be reached at.
type endpoint struct {
	host     string // host[:port]
	scheme   string // "" until pinged for an insecure host: https, then http
	insecure bool
}

func (c *Client) endpoints(domain string, pull bool) []endpoint {
	var out []endpoint
	if pull && domain == "docker.io" {
		for _, m := range c.opts.Mirrors {
			u, _ := url.Parse(m)
			out = append(out, endpoint{host: u.Host, scheme: u.Scheme, insecure: u.Scheme == "http" || c.IsInsecure(u.Host)})
		}
	}
	h := Host(domain)
	e := endpoint{host: h, insecure: c.IsInsecure(h)}
	if !e.insecure {
		e.scheme = "https"
	}
	return append(out, e)
}

// session is an authenticated conversation with one registry host for a
// set of scopes.
type session struct {
	c        *Client
	hc       *http.Client
	base     string // scheme://host
	auth     Auth
	scopes   []string
	basic    bool   // the registry asked for basic auth
	realm    string // the token server, when it asked for a bearer
	service  string
	mu       sync.Mutex
	token    string
	tokenErr error
}

// open pings e, choosing its scheme, and reads how it wants to be
// authenticated; with auth set and a bearer challenge it fetches a token
// for scopes at once, so bad credentials fail here.
func (c *Client) open(ctx context.Context, e endpoint, auth Auth, scopes []string) (*session, error) {
	hc := c.secure
	if e.insecure {
		hc = c.insecure
	}
	schemes := []string{e.scheme}
	if e.scheme == "" {
		schemes = []string{"https", "http"}
	}
	var resp *http.Response
	var err error
	var base string
	for _, sch := range schemes {
		base = sch + "://" + e.host
		var req *http.Request
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, base+"/v2/", nil)
		if err != nil {
			return nil, errdefs.New(errdefs.ErrInvalidParameter, err.Error())
		}
		c.setUA(req)
		resp, err = hc.Do(req)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
	}
	if err != nil {
		return nil, errdefs.New(errdefs.ErrUnavailable, err.Error())
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	s := &session{c: c, hc: hc, base: base, auth: auth, scopes: scopes}
	switch resp.StatusCode {
	case http.StatusOK:
		return s, nil
	case http.StatusUnauthorized:
	default:
		if resp.StatusCode >= 500 {
			return nil, responseError(resp)
		}
		return s, nil // a registry that does not implement the ping: go on unauthenticated
	}
	scheme, params := parseChallenge(resp.Header.Get("WWW-Authenticate"))
	switch scheme {
	case "basic":
		s.basic = true
	case "bearer":
		s.realm, s.service = params["realm"], params["service"]
		if s.realm == "" {
			return nil, fmt.Errorf("%w: registry %s asked for a bearer token without a realm", errdefs.ErrSystem, e.host)
		}
		if _, err := s.bearer(ctx); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("%w: registry %s asked for unsupported authentication %q", errdefs.ErrSystem, e.host, scheme)
	}
	return s, nil
}

func (c *Client) setUA(req *http.Request) {
	if c.opts.UserAgent != "" {
		req.Header.Set("User-Agent", c.opts.UserAgent)
	}
}

// parseChallenge reads a WWW-Authenticate header: its scheme (lower
// case) and its key="value" parameters.
func parseChallenge(h string) (string, map[string]string) {
	h = strings.TrimSpace(h)
	scheme, rest, _ := strings.Cut(h, " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		var v string
		if strings.HasPrefix(after, `"`) {
			after = after[1:]
			var b strings.Builder
			i := 0
			for ; i < len(after); i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
					b.WriteByte(after[i])
					continue
				}
				if after[i] == '"' {
					break
				}
				b.WriteByte(after[i])
			}
			v = b.String()
			if i < len(after) {
				i++
			}
			rest = after[i:]
		} else {
			v, rest, _ = strings.Cut(after, ",")
			v = strings.TrimSpace(v)
		}
		params[k] = v
	}
	return strings.ToLower(scheme), params
}

// bearer returns the session's token, fetching it once.
func (s *session) bearer(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" || s.tokenErr != nil {
		return s.token, s.tokenErr
	}
	if s.auth.RegistryToken != "" {
		s.token = s.auth.RegistryToken
		return s.token, nil
	}
	s.token, s.tokenErr = s.fetchToken(ctx)
	return s.token, s.tokenErr
}

func (s *session) fetchToken(ctx context.Context) (string, error) {
	u, err := url.Parse(s.realm)
	if err != nil {
		return "", fmt.Errorf("%w: token realm %q: %v", errdefs.ErrSystem, s.realm, err)
	}
	q := u.Query()
	if s.service != "" {
		q.Set("service", s.service)
	}
	for _, sc := range s.scopes {
		q.Add("scope", sc)
	}
	var req *http.Request
	if s.auth.IdentityToken != "" {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {s.auth.IdentityToken}, "client_id": {"berth"}}
		if s.service != "" {
			form.Set("service", s.service)
		}
		if len(s.scopes) > 0 {
			form.Set("scope", strings.Join(s.scopes, " "))
		}
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(form.Encode()))
		if err != nil {
			return "", err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		u.RawQuery = q.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		if s.auth.Username != "" || s.auth.Password != "" {
			req.SetBasicAuth(s.auth.Username, s.auth.Password)
		}
	}
	s.c.setUA(req)
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", errdefs.New(errdefs.ErrUnavailable, err.Error())
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", responseError(resp)
	}
	var tr struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tr); err != nil {
		return "", fmt.Errorf("%w: token from %s: %v", errdefs.ErrSystem, s.realm, err)
	}
	if tr.Token == "" {
		tr.Token = tr.AccessToken
	}
	if tr.Token == "" {
		return "", fmt.Errorf("%w: token server %s sent no token", errdefs.ErrUnauthorized, s.realm)
	}
	return tr.Token, nil
}

// do sends req with the session's credentials.
func (s *session) do(ctx context.Context, req *http.Request) (*http.Response, error) {
	return s.send(ctx, req, true)
}

func (s *session) send(ctx context.Context, req *http.Request, mayRetry bool) (*http.Response, error) {
	s.c.setUA(req)
	switch {
	case s.basic:
		if s.auth.Username == "" && s.auth.Password == "" {
			// dockerd's words for a registry that wants a password
			// it was not given.
			return nil, errdefs.New(errdefs.ErrUnauthorized, fmt.Sprintf("%s %q: no basic auth credentials", methodName(req.Method), req.URL.Redacted()))
		}
		req.SetBasicAuth(s.auth.Username, s.auth.Password)
	case s.realm != "":
		tok, err := s.bearer(ctx)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, errdefs.New(errdefs.ErrUnavailable, err.Error())
	}
	// A token that expired during a long pull or push is fetched again,
	// once, for a request that can be sent again (no body).
	if mayRetry && resp.StatusCode == http.StatusUnauthorized && s.realm != "" && s.auth.RegistryToken == "" && req.Body == nil {
		resp.Body.Close()
		s.mu.Lock()
		s.token, s.tokenErr = "", nil
		s.mu.Unlock()
		return s.send(ctx, req.Clone(ctx), false)
	}
	return resp, nil
}

// methodName is an HTTP method as net/http's errors spell it (Get, Head).
func methodName(m string) string {
	if m == "" {
		return "Get"
	}
	return m[:1] + strings.ToLower(m[1:])
}

// Login checks auth against the registry at host (a domain as a
// reference names it, or a URL such as https://host/v1/): nil when the
// registry accepts it, ErrUnauthorized with docker's message when it does
// not, ErrUnavailable when it cannot be reached.
func (c *Client) Login(ctx context.Context, host string, auth Auth) error {
	host = strings.TrimSuffix(host, "/")
	if u, err := url.Parse(host); err == nil && u.Host != "" && strings.Contains(host, "://") {
		host = u.Host
	}
	eps := c.endpoints(host, false)
	e := eps[len(eps)-1]
	s, err := c.open(ctx, e, auth, nil)
	if err != nil {
		var re *Error
		if errors.As(err, &re) && re.Status == http.StatusUnauthorized {
			return errdefs.New(errdefs.ErrUnauthorized, fmt.Sprintf("login attempt to %s/v2/ failed with status: 401 Unauthorized", s0(e)))
		}
		return err
	}
	if !s.basic {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := s.do(ctx, req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return errdefs.New(errdefs.ErrUnauthorized, fmt.Sprintf("login attempt to %s/v2/ failed with status: %s", s.base, resp.Status))
	}
	if resp.StatusCode != http.StatusOK {
		return responseError(resp)
	}
	return nil
}

func s0(e endpoint) string {
	if e.scheme == "" {
		return "https://" + e.host
	}
	return e.scheme + "://" + e.host
}

// Repository opens name for pulling (push false) or pushing; mountFrom
// names repositories of the same registry blobs may be mounted from
// (their pull scope is asked for too). With several endpoints (mirrors
// of Docker Hub) the first that answers is used.
func (c *Client) Repository(ctx context.Context, name reference.Named, auth Auth, push bool, mountFrom ...string) (*Repository, error) {
	path := reference.Path(name)
	actions := "pull"
	if push {
		actions = "pull,push"
	}
	scopes := []string{"repository:" + path + ":" + actions}
	for _, m := range mountFrom {
		if m != path {
			scopes = append(scopes, "repository:"+m+":pull")
		}
	}
	var lastErr error
	for _, e := range c.endpoints(reference.Domain(name), !push) {
		s, err := c.open(ctx, e, auth, scopes)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			lastErr = err
			continue
		}
		return &Repository{s: s, name: name, path: path}, nil
	}
	return nil, lastErr
}
