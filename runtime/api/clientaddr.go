package api

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies reads --trusted-proxies: comma-separated CIDRs (10.0.0.0/8) or
// single addresses (10.0.0.7) of the reverse proxies in front of the runtime.
func ParseTrustedProxies(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for field := range strings.SplitSeq(v, ",") {
		field = strings.TrimSpace(field)
		if field == "" {
			continue
		}
		if p, err := netip.ParsePrefix(field); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(field)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR (10.0.0.0/8) nor an address", field)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// clientAddr is the address a request comes from, as far as the runtime can trust:
// the connection's peer, unless the peer is a trusted proxy; then X-Forwarded-For,
// read from the right (each proxy appends the address it saw), up to the first hop
// that is not a trusted proxy. Anyone can send an X-Forwarded-For, so it is ignored
// from peers that are not trusted proxies.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer := remoteAddr(r)
	if !s.trustedProxy(peer) {
		if r.Header.Get("X-Forwarded-For") != "" && s.warnedForwarded.CompareAndSwap(false, true) {
			s.log.Warn("requests arrive with X-Forwarded-For from a peer that is no trusted proxy, which is ignored: "+
				"if it is your reverse proxy, list it in --trusted-proxies, or all its clients share its limits per address", "peer", peer)
		}
		return peer
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for hop := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			break // a garbled hop: the last proxy that can be trusted stands for it
		}
		client = a
		if !s.trustedProxy(a) {
			break
		}
	}
	return client
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// remoteAddr is the connection's peer; the zero Addr when the server cannot tell.
func remoteAddr(r *http.Request) netip.Addr {
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	a, _ := netip.ParseAddr(r.RemoteAddr)
	return a.Unmap()
}

// parseHop reads one X-Forwarded-For entry: an address, possibly with a port.
func parseHop(hop string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(hop); err == nil {
		return a.Unmap(), true
	}
	if host, _, err := net.SplitHostPort(hop); err == nil {
		if a, err := netip.ParseAddr(host); err == nil {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// addrKey groups addresses the way one client holds them: an IPv4 address alone, an
// IPv6 address by its /64, which a single host can hand out at will.
func addrKey(a netip.Addr) string {
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
