//go:build tools

// Package tools pins the Pulumi engine's Go modules so that `go build` can build the CLI from the
// published modules (see witness/engine/build.sh). A dependency's `replace` directives are ignored
// by Go, which is why this wrapper builds where `go install pkg/v3/cmd/pulumi@v3.X` refuses.
package tools

import (
	_ "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi"
)
