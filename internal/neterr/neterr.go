// Package neterr says why an outgoing call failed in words a user can act on, without
// the network error's own text: that names the resolver ("lookup crm.example.com on
// 10.0.0.10:53") and the addresses dialled, which are the cluster's business, and the
// URL, which may carry credentials (a Telegram bot token is part of the path).
package neterr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// Describe says why a call failed. host names the other side ("the action's host",
// "Telegram's API"), call the call ("the action's webhook"); the resolved name is
// quoted when name resolution failed.
func Describe(err error, host, call string) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("%s %q could not be resolved: no such host", host, dnsErr.Name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("%s %q could not be resolved: name resolution failed", host, dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return host + " refused the connection: is its service running on that port?"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return host + " could not be reached: no route to it"
	case errors.Is(err, syscall.ECONNRESET):
		return host + " closed the connection before answering"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid):
		return host + " presented a TLS certificate the runtime does not trust"
	case errors.As(err, &netErr) && netErr.Timeout():
		return host + " did not answer in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil && !isNetworkError(ue.Err) {
		return call + " could not be called: " + ue.Err.Error()
	}
	return call + " could not be reached: a network error"
}

// isNetworkError reports whether err comes from the network, whose text names
// addresses.
func isNetworkError(err error) bool {
	var opErr *net.OpError
	var netErr net.Error
	return errors.As(err, &opErr) || errors.As(err, &netErr)
}
