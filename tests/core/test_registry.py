"""The registry: lazy targets, config validation before import, suggestions."""

from __future__ import annotations

import sys

import pytest

import spinml
from spinml.errors import ConfigError, PluginError, UnknownComponentError
from spinml.testing import fresh_plugin_manager, registered_plugin

CONFIG_MODULE = """
from pydantic import Field
from spinml.components import GeneratorConfig

class HeavyConfig(GeneratorConfig):
    strength: float = Field(0.5, ge=0, le=1)
"""

HEAVY_MODULE = '''
import sys
sys.modules[__name__].IMPORTED = True
from spinml.components import Generator
from heavy_cfg_mod import HeavyConfig

class Heavy(Generator):
    """A generator whose module stands in for a heavy import."""
    Config = HeavyConfig
'''


@pytest.fixture
def lazy_pm(tmp_path, monkeypatch):
    (tmp_path / "heavy_gen_mod.py").write_text(HEAVY_MODULE)
    (tmp_path / "heavy_cfg_mod.py").write_text(CONFIG_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("heavy_gen_mod", None)
    from heavy_cfg_mod import HeavyConfig  # the cheap config module

    class Lazy:
        @spinml.hookimpl
        def spinml_register_generators(self, register):
            register("heavy", "heavy_gen_mod:Heavy", config=HeavyConfig, summary="lazy")
            register("notagen", "heavy_gen_mod:sys")

    pm = fresh_plugin_manager(entrypoints=False)
    with registered_plugin(Lazy(), name="lazy", pm=pm):
        yield pm
    sys.modules.pop("heavy_gen_mod", None)
    sys.modules.pop("heavy_cfg_mod", None)


def test_listing_and_validating_import_nothing(lazy_pm):
    specs = lazy_pm.registry.list("generator")
    assert [s.name for s in specs] == ["heavy", "notagen"]
    with pytest.raises(ConfigError, match=r"strength: Input should be less than or equal to 1"):
        lazy_pm.registry.create("generator", "heavy", strength=3)
    assert "heavy_gen_mod" not in sys.modules


def test_create_imports_and_builds_with_validated_config(lazy_pm):
    gen = lazy_pm.registry.create("generator", "heavy", {"strength": 0.25})
    assert sys.modules["heavy_gen_mod"].IMPORTED
    assert gen.config.strength == 0.25 and type(gen.config).__name__ == "HeavyConfig"
    with pytest.raises(Exception, match="frozen"):
        gen.config.strength = 1.0


def test_target_of_the_wrong_kind_is_refused(lazy_pm):
    with pytest.raises(PluginError, match="generator:notagen .* not a subclass of Generator"):
        lazy_pm.registry.create("generator", "notagen")


def test_unknown_names_suggest_close_ones_and_other_kinds(lazy_pm):
    with pytest.raises(UnknownComponentError, match="unknown generator 'hevy'; did you mean 'heavy'"):
        lazy_pm.registry.get("generator", "hevy")
    with pytest.raises(UnknownComponentError, match="unknown component kind 'generators'; "
                                                    "did you mean 'generator'"):
        lazy_pm.registry.list("generators")


def test_unknown_name_says_which_kind_it_is():
    registry = fresh_plugin_manager().registry
    with pytest.raises(UnknownComponentError, match="'canny' is a sanitizer"):
        registry.get("generator", "canny")


def test_bad_registration_is_a_plugin_error():
    class Bad:
        @spinml.hookimpl
        def spinml_register_trainers(self, register):
            register("", "x:y")

    pm = fresh_plugin_manager(entrypoints=False)
    pm.register(Bad(), name="bad")
    with pytest.raises(PluginError, match="plugin 'bad' failed to load: PluginError: plugin 'bad' "
                                          "registered a trainer with an empty or non-string name"):
        pm.registry  # noqa: B018
