"""Bundled copies of sector sites and a loopback server, for the demo, tests and benchmarks."""
