package smtp_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/smtp"
)

// A server that takes the message and then drops the connection, before the client's
// RSET or QUIT: the message was delivered, so Deliver must succeed, or the outbox
// would send it again.
func TestAMessageTakenIsDeliveredEvenIfTheGoodbyeFails(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	took := make(chan bool, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		r, w := bufio.NewReader(c), bufio.NewWriter(c)
		say := func(line string) { _, _ = w.WriteString(line + "\r\n"); _ = w.Flush() }
		say("220 drop.example ESMTP")
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				took <- false
				return
			}
			switch cmd := strings.ToUpper(strings.TrimSpace(line)); {
			case strings.HasPrefix(cmd, "EHLO"):
				say("250-drop.example")
				say("250 8BITMIME")
			case strings.HasPrefix(cmd, "MAIL"), strings.HasPrefix(cmd, "RCPT"), cmd == "NOOP":
				say("250 OK")
			case cmd == "DATA":
				say("354 go ahead")
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						took <- false
						return
					}
					if l == ".\r\n" {
						break
					}
				}
				say("250 2.0.0 queued")
				took <- true
				return // drop the connection: the client's RSET and QUIT fail
			default:
				say("502 not here")
			}
		}
	}()
	host, port, _ := net.SplitHostPort(l.Addr().String())
	p, _ := strconv.Atoi(port)
	m, err := smtp.New(&config.SMTPProvider{Host: host, Port: int32(p), TLS: smtp.TLSNone, From: "support@example.com"}, nil,
		smtp.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = m.Deliver(context.Background(), delivery())
	if !<-took {
		t.Fatal("the server did not get the message")
	}
	if err != nil {
		t.Errorf("Deliver: %v, but the server took the message", err)
	}
}
