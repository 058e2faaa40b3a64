"""Hypothesis profiles for the fuzz suite: "quick" (the default, run by `make test`: a
bounded budget of seconds) and "fuzz" (`make fuzz`: many more examples per round)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "quick", max_examples=40, deadline=2_000, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.register_profile(
    "fuzz", max_examples=300, deadline=5_000, database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile(os.environ.get("SECTORWATCH_FUZZ_PROFILE", "quick"))
