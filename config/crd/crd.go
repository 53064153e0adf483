// Package crd carries the generated CustomResourceDefinitions, so tools such as
// `switchboard render` check objects against exactly what the API server enforces.
package crd

import "embed"

// Bases holds bases/*.yaml, one CRD a file.
//
//go:embed bases/*.yaml
var Bases embed.FS
