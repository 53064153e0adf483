package main

import (
	"bytes"
	"os"
	"testing"
)

// A change to package config's types that was not followed by `make generate` leaves
// the committed schema describing another wire format.
func TestCommittedSchemaIsCurrent(t *testing.T) {
	t.Chdir("../..") // runtime/config, where go generate runs the command
	want, err := generate()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(File)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("runtime/config/%s is stale: run `make generate` and commit it", File)
	}
}
