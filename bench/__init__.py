"""Benchmarks: each measures one goal on this machine, from one command (docs/benchmarks.md)."""
