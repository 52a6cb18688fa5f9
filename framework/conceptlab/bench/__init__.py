"""Benchmarks of conceptlab's components."""
