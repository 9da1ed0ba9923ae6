"""Shared test configuration: slow and GPU checks are skipped unless ``--runslow`` is given."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", help="also run tests marked slow or gpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow or GPU check; run with --runslow")
    for item in items:
        if "slow" in item.keywords or "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _isolated_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never inherit plugin block/allow lists from the developer's shell."""
    for var in ("SPINML_BLOCK_PLUGINS", "SPINML_PLUGINS", "SPINML_STRICT_PLUGINS"):
        monkeypatch.delenv(var, raising=False)
