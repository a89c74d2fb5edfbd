#!/usr/bin/env bash
# Import the pinned upstream serving image into a private Azure Container Registry, outside the VMs.
#
#   scripts/import-image.sh REGISTRY SOURCE
#
# REGISTRY: the registry's name (crteamap... from `make supply STACK=...`). SOURCE: the upstream
# reference as in gpuPool.servingImage (vllm/vllm-openai:v0.34.0[@sha256:...]); a name without a
# registry host is Docker Hub's. With a digest, exactly those bytes are imported (the tag only names
# them in the registry). `az acr import` runs inside Azure (the registry's trusted-services bypass),
# so it needs no network path to the registry; reading the digest back is a data-plane call and
# needs one (run it from the hub or a runner in the VNet), and prints what to pin.
# Auth: the caller's Entra ID login (`az login` / the deploy job's OIDC); no admin user, no keys.
set -euo pipefail

if [ "$#" -ne 2 ]; then
    echo "usage: $0 REGISTRY SOURCE" >&2
    exit 2
fi
registry=$1
source=$2

first=${source%%/*}
case "$first" in
    *.* | *:* | localhost) ;;            # a registry host (ghcr.io, nvcr.io, docker.io, ...)
    *) source="docker.io/$source" ;;     # Docker Hub's short form
esac
repository=${source#*/}                  # what az acr import keeps: the path without the source host
target=${repository%@*}                  # repo:tag (the digest is not a tag)

az acr import --name "$registry" --source "$source" --image "$target"
digest=$(az acr repository show --name "$registry" --image "$target" --query digest --output tsv)
case "$digest" in
    sha256:*) ;;
    *) echo "import-image: the registry returned no digest for $target" >&2; exit 1 ;;
esac
if [ "$source" != "${source%@*}" ] && [ "${source#*@}" != "$digest" ]; then
    echo "import-image: imported digest $digest differs from the pinned ${source#*@}" >&2
    exit 1
fi
echo "imported $source into $registry.azurecr.io/$target"
echo "pin it in the stack file: servingImage: ${repository%@*}@$digest"
