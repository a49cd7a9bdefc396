"""Helpers for users' own test suites.

Put a golden file of your agent in your repository (``gymkit regress record ... --out
tests/golden/my_agent.json``) and check it from pytest::

    from gymkit.testing import check_regression

    def test_my_agent_still_learns():
        check_regression("tests/golden/my_agent.json")   # AssertionError with the table on a regression
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gymkit.regress import RegressionReport, check


def check_regression(path: str | Path, mode: str = "auto", *, overrides: dict[str, Any] | None = None,
                     alpha: float | None = None) -> RegressionReport:
    """Rerun the golden file's seeds and raise ``AssertionError`` (carrying the per-seed table)
    on a regression; return the report otherwise. ``mode``: ``exact``, ``stat`` or ``auto``."""
    report = check(path, mode=mode, overrides=overrides, alpha=alpha)
    if report.regression:
        raise AssertionError(f"gymkit regression in {path}:\n{report.table()}")
    return report
