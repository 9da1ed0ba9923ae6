"""Fixtures of the device-side tests (segmentation, sanitization, payload)."""

from __future__ import annotations

from pathlib import Path

import pytest
from device_photos import write_photo_references

from spinml.plugins import PluginManager
from spinml.testing import fresh_plugin_manager


@pytest.fixture
def pm() -> PluginManager:
    return fresh_plugin_manager()


@pytest.fixture
def photo_refs(tmp_path: Path) -> Path:
    return write_photo_references(tmp_path / "refs")
