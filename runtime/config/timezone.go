package config

import (
	"errors"
	"time"
	// The zone database travels with the binary, so a name that compiles here is
	// one every runtime can load, whatever its image holds.
	_ "time/tzdata"
)

// DefaultTimeZone is a LiveChat's time zone when it names none.
const DefaultTimeZone = "UTC"

// Location is the time zone of a LiveChat's days: UTC when name is empty.
func Location(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, errors.New("Local is the machine's zone, not a named one")
	}
	return time.LoadLocation(name)
}
