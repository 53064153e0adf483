package chat

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// describeCallError says why a webhook could not be reached in words an operator can
// act on. It never repeats the network error itself: that names the resolver
// ("lookup crm.example.com on 10.0.0.10:53") and the addresses dialled, which are the
// cluster's business, and the URL, which may carry credentials.
func describeCallError(err error) string {
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return fmt.Sprintf("the action's host %q could not be resolved: no such host", dnsErr.Name)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("the action's host %q could not be resolved: name resolution failed", dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the action's host refused the connection: is its service running on that port?"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "the action's host could not be reached: no route to it"
	case errors.Is(err, syscall.ECONNRESET):
		return "the action's host closed the connection before answering"
	case errors.As(err, &certErr), errors.As(err, &unknownAuthority), errors.As(err, &hostname), errors.As(err, &invalid):
		return "the action's host presented a TLS certificate the runtime does not trust"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "the action's host did not answer in time"
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil && !isNetworkError(ue.Err) {
		return "the action's webhook could not be called: " + ue.Err.Error()
	}
	return "the action's webhook could not be reached: a network error"
}

// isNetworkError reports whether err comes from the network, whose text names
// addresses.
func isNetworkError(err error) bool {
	var opErr *net.OpError
	var netErr net.Error
	return errors.As(err, &opErr) || errors.As(err, &netErr)
}
