#!/usr/bin/env bash
# Build the Pulumi engine from the published Go modules into build/engine/ (ignored, never committed):
#   pulumi                        the CLI, github.com/pulumi/pulumi/pkg/v3/cmd/pulumi at the version go.mod pins
#   pulumi-language-python        the witness's Python language host (witness/engine/langhost, see its doc)
#   pulumi-language-python-exec   the Python SDK's launcher, copied from the sdk/v3 module as Pulumi ships it
# Release flags as Pulumi's own builds: CGO_ENABLED=0, -trimpath, -tags osusergo,grpcnotrace, and the
# version ldflag (without it `pulumi version` is empty and plugin version-range checks fail).
# Go's module and build caches stay in their default places, so a rebuild with warm caches is quick.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${ENGINE_DIR:-$root/build/engine}"
cd "$here"

command -v go >/dev/null 2>&1 || { echo "build.sh: Go is not installed (the witness needs Go >= 1.26)" >&2; exit 3; }

version="$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/pkg/v3)"
sdk_version="$(go list -m -f '{{.Version}}' github.com/pulumi/pulumi/sdk/v3)"
if [ "$version" != "$sdk_version" ]; then
  echo "build.sh: pkg/v3 is $version but sdk/v3 is $sdk_version: the CLI must be built with the same sdk" >&2
  exit 1
fi

# A replace in force would mean the binary is not what the published modules say. The wrapper has none;
# `go list -m all` shows every replacement actually applied to the build.
applied="$(go list -m -f '{{if .Replace}}{{.Path}} {{.Version}} => {{.Replace.Path}} {{.Replace.Version}}{{end}}' all)"
if [ -n "$applied" ]; then
  echo "build.sh: unexpected replace directives in force:" >&2
  echo "$applied" >&2
  exit 1
fi
# Dependencies' own replace directives are ignored by Go. These are known: pkg/v3's sdk points at the
# monorepo folder (we use the published sdk/v3 at the same version instead); a clipboard fork used only
# on Windows; sdk/v3's pin of golang.org/x/text to v0.41.0, which Pulumi's own CLI build does not apply
# either (the CLI is built in pkg/, whose go.mod requires x/text v0.43.0 and has no such replace).
# Any other one would change what the CLI is built from: refuse it.
for mod in github.com/pulumi/pulumi/pkg/v3 github.com/pulumi/pulumi/sdk/v3; do
  gomod="$(go mod download -json "$mod@$version" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')"
  while IFS= read -r line; do
    [ -z "$line" ] && continue
    case "$line" in
      "github.com/pulumi/pulumi/sdk/v3 => ../sdk"|"github.com/atotto/clipboard => github.com/tgummerer/clipboard "*|\
      "golang.org/x/text => golang.org/x/text v0.41.0")
        echo "build.sh: $mod@$version: ignored replace (expected): $line" ;;
      *)
        echo "build.sh: $mod@$version: unexpected replace: $line" >&2; exit 1 ;;
    esac
  done < <(awk '/^replace \(/{b=1;next} b&&/^\)/{b=0} b{sub(/^[ \t]+/,"");print} /^replace [^(]/{sub(/^replace /,"");print}' "$gomod")
done

mkdir -p "$out"
flags=(-trimpath -tags osusergo,grpcnotrace
       -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$version")
start=$SECONDS
CGO_ENABLED=0 go build "${flags[@]}" -o "$out/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
CGO_ENABLED=0 go build "${flags[@]}" -o "$out/pulumi-language-python" ./langhost
sdk_dir="$(go list -m -f '{{.Dir}}' github.com/pulumi/pulumi/sdk/v3)"
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$out/pulumi-language-python-exec"
echo "build.sh: engine $version built into $out in $((SECONDS - start)) s"
"$out/pulumi" version
