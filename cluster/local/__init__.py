"""The whole system on one machine, every socket on 127.0.0.1: ``python -m cluster.local up`` (the embedded
defaults), and the same stores, Ray and first admin for the integration tests and the benchmarks."""
