#!/usr/bin/env bash
# Copy a model from the hub into its private blob container once, outside the VMs.
#
#   scripts/upload-weights.sh ACCOUNT CONTAINER PATH MODEL [REVISION]
#
# ACCOUNT / CONTAINER / PATH: where the pool reads the weights (`make supply STACK=...` prints them).
# MODEL: the Hugging Face model id; REVISION: a commit or tag (default: main). A gated model needs
# HF_TOKEN in the environment (the hub token; it never goes to the VMs). The upload uses the
# caller's Entra ID login (--auth-mode login, Storage Blob Data Contributor on the container):
# shared keys are off on the account, so no key or SAS exists to pass. It needs a network path to
# the account's private endpoint (the hub or a runner in the VNet).
set -euo pipefail

if [ "$#" -lt 4 ] || [ "$#" -gt 5 ]; then
    echo "usage: $0 ACCOUNT CONTAINER PATH MODEL [REVISION]" >&2
    exit 2
fi
account=$1
container=$2
path=$3
model=$4
revision=${5:-main}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# huggingface_hub reads HF_TOKEN from the environment: the token is never on a command line.
huggingface-cli download "$model" --revision "$revision" --local-dir "$work/model"
rm -rf "$work/model/.cache"   # the CLI's download bookkeeping, not part of the model

az storage blob upload-batch --auth-mode login --account-name "$account" --destination "$container" \
    --destination-path "$path" --source "$work/model" --overwrite --only-show-errors
echo "uploaded $model@$revision to https://$account.blob.core.windows.net/$container/$path/"
