"""The real Pulumi engine as a witness of the offline runner (see witness/README.md)."""
