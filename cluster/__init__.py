"""Rollcall on Kubernetes: Kustomize manifests, the serveConfigV2 generator, offline validation, deploy."""
