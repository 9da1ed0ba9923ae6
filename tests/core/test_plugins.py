"""Plugin discovery: entry points, block/allow lists, broken plugins, strict mode, hook typos."""

from __future__ import annotations

import pytest

import spinml
from spinml.errors import DuplicateComponentError, PluginError, UnknownComponentError
from spinml.plugins import PluginManager, PluginWarning
from spinml.testing import fresh_plugin_manager, registered_plugin

BUILTINS = {"segment", "sanitize", "synth", "diffusers", "timm", "metrics", "report"}

GOOD = '''
import spinml
from spinml.components import Sanitizer
from spinml.config import Level

class Invert(Sanitizer):
    """Inverted pixels (a test sanitizer)."""
    level = Level.L2
    def apply(self, segment, mask):
        return 255 - segment

@spinml.hookimpl
def spinml_register_sanitizers(register):
    register("invert", Invert, level=2)
'''


def test_builtins_are_discovered_through_entry_points():
    pm = fresh_plugin_manager()
    infos = {i.name: i for i in pm.plugin_infos()}
    assert BUILTINS <= set(infos)
    for name in BUILTINS:
        info = infos[name]
        assert info.status == "loaded", info.error
        assert info.distribution == "spinml" and info.builtin
        assert info.version == spinml.__version__


def test_third_party_distribution_appears_beside_builtins(fake_dist):
    fake_dist("spinml-invert", {"invert": GOOD}, version="2.3")
    pm = fresh_plugin_manager()
    info = {i.name: i for i in pm.plugin_infos()}["invert"]
    assert (info.status, info.distribution, info.version, info.builtin) == \
        ("loaded", "spinml-invert", "2.3", False)
    assert info.hooks == ["spinml_register_sanitizers"]
    spec = pm.registry.get("sanitizer", "invert")
    assert spec.plugin == "invert" and spec.meta == {"level": 2}
    assert spec.summary == "Inverted pixels (a test sanitizer)."


def test_broken_plugin_is_reported_and_skipped(fake_dist):
    fake_dist("spinml-broken", {"broken": "raise ImportError('needs libfoo')"})
    pm = PluginManager(strict=False)
    with pytest.warns(PluginWarning, match=r"plugin 'broken' \(distribution spinml-broken 1.0\) "
                                          r"failed to load: ImportError: needs libfoo"):
        pm.load_entrypoints()
    info = {i.name: i for i in pm.plugin_infos()}["broken"]
    assert info.status == "failed" and "needs libfoo" in info.error
    # the host goes on: built-ins still work
    assert pm.registry.get("sanitizer", "canny").plugin == "sanitize"
    # and an unknown name says that a plugin failed
    with pytest.raises(UnknownComponentError, match="plugin 'broken' failed to load"):
        pm.registry.get("sanitizer", "brokn")


def test_strict_mode_raises_on_a_broken_plugin(fake_dist, monkeypatch):
    fake_dist("spinml-broken", {"broken": "1/0"})
    monkeypatch.setenv("SPINML_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="plugin 'broken'.*ZeroDivisionError"):
        PluginManager().load_entrypoints()


def test_plugin_failing_inside_its_registration_hook_is_skipped():
    class Bad:
        @spinml.hookimpl
        def spinml_register_generators(self, register):
            raise RuntimeError("boom")

    pm = fresh_plugin_manager(strict=False)
    pm.register(Bad(), name="bad")
    with pytest.warns(PluginWarning, match="plugin 'bad' failed to load: RuntimeError: boom"):
        registry = pm.registry
    assert "bad" not in {s.plugin for s in registry.list()}
    assert registry.get("sanitizer", "canny")


def test_blocking_a_builtin_removes_its_components(monkeypatch):
    assert "canny" in fresh_plugin_manager().registry.names("sanitizer")
    monkeypatch.setenv("SPINML_BLOCK_PLUGINS", "sanitize")
    pm = fresh_plugin_manager()
    assert {i.name: i.status for i in pm.plugin_infos()}["sanitize"] == "blocked"
    assert {s.plugin for s in pm.registry.list()}.isdisjoint({"sanitize"})
    assert "canny" not in pm.registry.names("sanitizer")
    with pytest.raises(UnknownComponentError, match="plugin 'sanitize' is blocked"):
        pm.registry.get("sanitizer", "canny")


def test_allow_list_loads_only_named_plugins(monkeypatch):
    monkeypatch.setenv("SPINML_PLUGINS", "sanitize")
    pm = fresh_plugin_manager()
    status = {i.name: i.status for i in pm.plugin_infos()}
    assert status["sanitize"] == "loaded"
    assert {status[n] for n in BUILTINS - {"sanitize"}} == {"blocked"}
    assert {s.kind for s in pm.registry.list()} == {"sanitizer", "stage"}


def test_misspelled_hook_is_an_error_naming_the_right_one():
    class Typo:
        @spinml.hookimpl
        def spinml_register_sanitiser(self, register):  # British spelling, no such hook
            pass

    pm = fresh_plugin_manager(entrypoints=False)
    with pytest.raises(PluginError, match="implements unknown hook 'spinml_register_sanitiser'; "
                                          "did you mean 'spinml_register_sanitizers'"):
        pm.register(Typo(), name="typo")
    assert pm.get_plugin("typo") is None


def test_misspelled_hook_in_an_installed_plugin_is_reported(fake_dist):
    fake_dist("spinml-typo", {"typo": "import spinml\n@spinml.hookimpl\n"
                                      "def spinml_register_segmentors(register): pass\n"})
    pm = PluginManager(strict=False)
    with pytest.warns(PluginWarning, match="unknown hook 'spinml_register_segmentors'"):
        pm.load_entrypoints()
    assert {i.name: i.status for i in pm.plugin_infos()}["typo"] == "failed"


def test_duplicate_component_names_both_owners(fake_dist):
    fake_dist("spinml-dup", {"dup": "import spinml\n@spinml.hookimpl\n"
                                    "def spinml_register_sanitizers(register):\n"
                                    "    register('canny', 'dup_mod:Nothing', level=1)\n"})
    pm = fresh_plugin_manager()
    with pytest.raises(DuplicateComponentError,
                       match=r"sanitizer 'canny' is registered twice: by plugin 'sanitize' .* "
                             r"and by plugin 'dup' \(dup_mod:Nothing\)"):
        pm.registry  # noqa: B018


def test_registered_plugin_is_undone_after_the_block():
    class One:
        @spinml.hookimpl
        def spinml_register_sanitizers(self, register):
            register("one-off", "spinml.components:Sanitizer", level=1)

    pm = fresh_plugin_manager()
    with registered_plugin(One(), name="one-off", pm=pm):
        assert "one-off" in pm.registry.names("sanitizer")
    assert "one-off" not in pm.registry.names("sanitizer")
    assert "one-off" not in {i.name for i in pm.plugin_infos()}
