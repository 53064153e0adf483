package api

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// publicOrigin is the origin (scheme://host[:port]) of the LiveChat's public URL, or
// "" when it names none.
func (s *Server) publicOrigin() string {
	cfg, _ := s.engine.Config()
	if cfg == nil || cfg.LiveChat.PublicURL == "" {
		return ""
	}
	u, err := url.Parse(cfg.LiveChat.PublicURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// originAllowed enforces allowedOrigins the way browsers make it meaningful: a page
// on another site always sends its Origin and must be listed, or be the LiveChat's
// public URL (the runtime's own pages, such as the widget demo). The request's Host
// is no evidence: whoever sends a forged Origin sends a matching Host too, and a
// DNS-rebinding page is same-origin with it. A request without an Origin is no
// cross-site browser request (browsers omit it on same-origin GETs) and passes.
func originAllowed(origin string, allowed []string, publicOrigin string) bool {
	return origin == "" || slices.Contains(allowed, origin) || (publicOrigin != "" && strings.EqualFold(origin, publicOrigin))
}

// consoleOriginAllowed decides whether a browser page may open the operator feed: the
// console is served at the LiveChat's public URL, so only that origin may, and so may
// a page on the loopback interface served by this runtime (kubectl port-forward, the
// standalone quick start), whose origin a page elsewhere cannot claim. An Origin that
// merely equals the Host header is no evidence: a DNS-rebinding page forges both, with
// or without a public URL. Clients that are not browsers send no Origin and are judged
// by their token alone.
func consoleOriginAllowed(r *http.Request, publicOrigin string) bool {
	origin := r.Header.Get("Origin")
	switch {
	case origin == "":
		return true
	case publicOrigin != "" && strings.EqualFold(origin, publicOrigin):
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host != "" && strings.EqualFold(u.Host, r.Host) && isLoopback(u.Hostname())
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
