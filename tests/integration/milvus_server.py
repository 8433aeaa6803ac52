"""The loopback Milvus server lives in loadtests/ (the vector benchmark starts one too); re-exported here."""

from loadtests.milvus_server import LOOPBACK_KEYS, LoopbackMilvus

__all__ = ["LOOPBACK_KEYS", "LoopbackMilvus"]
