"""Shared test configuration: hypothesis profiles (``HYPOTHESIS_PROFILE``: ci is small, dev
larger). The cloudkeep pytest plugin (fixtures ``cloudkeep_server``, ``cloudkeep_account``)
is loaded through its entry point, exactly as users' projects get it."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=40, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=150, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
