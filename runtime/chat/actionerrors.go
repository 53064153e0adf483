package chat

import "github.com/switchboard-chat/switchboard/internal/neterr"

// describeCallError says why a chat action's webhook could not be reached.
func describeCallError(err error) string {
	return neterr.Describe(err, "the action's host", "the action's webhook")
}
