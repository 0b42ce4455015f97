"""Benchmarks: ``python -m bench`` (or ``make bench``) runs every scenario and prints figures.

Each scenario is a module ``bench/scenario_<name>.py`` with ``run(args) -> list[Figure]`` and is
listed in ``SCENARIOS`` in ``bench/__main__.py``. Timing lives here, never in tests.
"""
