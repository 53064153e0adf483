package chat

import "errors"

// Kind classifies an engine error; the API maps each to an HTTP status.
type Kind int

// Error kinds.
const (
	KindInvalid Kind = iota + 1
	KindUnauthenticated
	KindForbidden
	KindNotFound
	KindConflict
	KindUnavailable
)

// Error is an error a client caused or can act on; its message is safe to show.
type Error struct {
	Kind Kind
	Msg  string
}

func (e *Error) Error() string { return e.Msg }

// Invalid reports bad input.
func Invalid(msg string) error { return &Error{KindInvalid, msg} }

// Unauthenticated reports missing or wrong credentials.
func Unauthenticated(msg string) error { return &Error{KindUnauthenticated, msg} }

// Forbidden reports an action the caller may not take.
func Forbidden(msg string) error { return &Error{KindForbidden, msg} }

// NotFound reports an unknown id.
func NotFound(msg string) error { return &Error{KindNotFound, msg} }

// Conflict reports a change that lost a race or does not fit the current state.
func Conflict(msg string) error { return &Error{KindConflict, msg} }

// Unavailable reports something switched off.
func Unavailable(msg string) error { return &Error{KindUnavailable, msg} }

// KindOf returns the kind of err, or 0 for internal errors.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
