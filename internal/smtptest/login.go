package smtptest

import "github.com/emersion/go-sasl"

// loginServer is the server side of AUTH LOGIN, which go-sasl does not provide: the
// client sends the user name and the password, each after a prompt (or the user name
// as the initial response).
type loginServer struct {
	step         int
	user         string
	authenticate func(user, pass string) error
}

func newLoginServer(authenticate func(user, pass string) error) sasl.Server {
	return &loginServer{authenticate: authenticate}
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if response != nil {
			l.user, l.step = string(response), 2
			return []byte("Password:"), false, nil
		}
		l.step = 1
		return []byte("Username:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	default:
		return nil, true, l.authenticate(l.user, string(response))
	}
}
