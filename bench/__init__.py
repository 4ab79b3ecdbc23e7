"""Benchmarks for `make bench` (issue 9): build, push and dashboard query cost.

Benchmark code only: nothing here is used by the product or as a stand-in in correctness tests.
"""
