"""Plugin discovery and the plugin manager.

Plugins (built-ins included) are found through the entry-point group
``spinml``. Environment variables control which load:

``SPINML_BLOCK_PLUGINS``
    comma-separated plugin (entry-point) or distribution names never to load.
``SPINML_PLUGINS``
    if set, only these plugins load (an allow list; empty means none).
``SPINML_STRICT_PLUGINS``
    ``1`` makes a plugin that fails to load raise instead of warn.
"""

from __future__ import annotations

import difflib
import os
import warnings
from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Any, Literal

import pluggy

from . import hookspecs
from .errors import PluginError

__all__ = ["PluginManager", "PluginInfo", "PluginWarning", "get_plugin_manager", "get_registry",
           "hookimpl", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "spinml"
hookimpl = pluggy.HookimplMarker("spinml")

Status = Literal["loaded", "blocked", "failed"]


class PluginWarning(UserWarning):
    """A plugin could not be loaded and was skipped."""


@dataclass
class PluginInfo:
    """What ``spinml plugins`` shows about one plugin."""

    name: str
    status: Status
    distribution: str | None = None
    version: str | None = None
    module: str | None = None
    hooks: list[str] = field(default_factory=list)
    error: str | None = None
    builtin: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


def _truthy(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


class PluginManager(pluggy.PluginManager):
    """A pluggy plugin manager for project ``spinml`` that records each plugin's load status.

    Create one with :func:`spinml.testing.fresh_plugin_manager` in tests, or use the
    process-wide :func:`get_plugin_manager`.
    """

    def __init__(self, *, strict: bool | None = None) -> None:
        super().__init__("spinml")
        self.add_hookspecs(hookspecs)
        self.strict = _truthy("SPINML_STRICT_PLUGINS") if strict is None else strict
        self.infos: dict[str, PluginInfo] = {}
        self._registry: Any = None

    # -- loading --------------------------------------------------------------------------

    def load_entrypoints(self, group: str = ENTRY_POINT_GROUP) -> None:
        """Load every plugin of the entry-point group, honouring block and allow lists."""
        blocked = set(_env_list("SPINML_BLOCK_PLUGINS") or ())
        allowed = _env_list("SPINML_PLUGINS")
        seen: set[str] = set()
        for ep in sorted(metadata.entry_points(group=group), key=lambda e: e.name):
            if ep.name in seen:  # the same distribution found twice on sys.path
                continue
            seen.add(ep.name)
            dist = ep.dist.name if ep.dist is not None else None
            info = PluginInfo(name=ep.name, status="loaded", distribution=dist,
                              version=ep.dist.version if ep.dist is not None else None,
                              module=ep.value, builtin=(dist or "").lower() == "spinml")
            self.infos[ep.name] = info
            if ep.name in blocked or (dist and dist in blocked) or (
                    allowed is not None and ep.name not in allowed and dist not in allowed):
                info.status = "blocked"
                continue
            try:
                plugin = ep.load()
                self.register(plugin, name=ep.name)
            except Exception as exc:  # one broken plugin must not stop the host
                self.mark_failed(ep.name, exc)
        for name in (allowed or ()):
            if name not in self.infos:
                warnings.warn(f"SPINML_PLUGINS names {name!r}, which is not installed",
                              PluginWarning, stacklevel=2)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register a plugin object; a hook implementation with no matching spec is an error."""
        plugin_name = super().register(plugin, name)
        if plugin_name is None:
            return None
        unknown = [impl for caller in (self.get_hookcallers(plugin) or [])
                   if caller.spec is None
                   for impl in caller.get_hookimpls()
                   if impl.plugin is plugin and not impl.optionalhook]
        if unknown:
            self.unregister(plugin)
            names = sorted({i.function.__name__ for i in unknown})
            bad = names[0]
            close = difflib.get_close_matches(bad, self._spec_names(), n=1)
            raise PluginError(
                f"plugin {plugin_name!r} implements unknown hook {bad!r}"
                + (f"; did you mean {close[0]!r}?" if close else ""),
                plugin=plugin_name, hint="hooks are listed in docs/hooks.md")
        info = self.infos.setdefault(plugin_name, PluginInfo(name=plugin_name, status="loaded",
                                                             module=_module_of(plugin)))
        info.status, info.error = "loaded", None
        info.hooks = sorted(c.name for c in (self.get_hookcallers(plugin) or []))
        self._registry = None
        return plugin_name

    def unregister(self, plugin: object | None = None, name: str | None = None) -> Any:
        result = super().unregister(plugin, name)
        self._registry = None
        return result

    def mark_failed(self, name: str, exc: BaseException) -> None:
        """Record that plugin ``name`` failed; warn, or raise in strict mode."""
        info = self.infos.setdefault(name, PluginInfo(name=name, status="failed"))
        info.status, info.error = "failed", f"{type(exc).__name__}: {exc}"
        if self.get_plugin(name) is not None:
            super().unregister(name=name)
        self._registry = None
        where = f" (distribution {info.distribution} {info.version})" if info.distribution else ""
        message = f"plugin {name!r}{where} failed to load: {info.error}"
        if self.strict:
            raise PluginError(message, plugin=name) from exc
        warnings.warn(message + "; skipped", PluginWarning, stacklevel=3)

    def problems(self) -> dict[str, str]:
        """Plugins that are blocked or failed, for error messages."""
        return {n: ("is blocked" if i.status == "blocked" else f"failed to load: {i.error}")
                for n, i in self.infos.items() if i.status != "loaded"}

    def _spec_names(self) -> list[str]:
        return [n for n in dir(self.hook)
                if n.startswith("spinml_") and getattr(self.hook, n).spec is not None]

    # -- registry -------------------------------------------------------------------------

    @property
    def registry(self) -> Any:
        """The :class:`~spinml.registry.Registry` of the loaded plugins (rebuilt after changes)."""
        if self._registry is None:
            from .registry import Registry

            self._registry = Registry.from_plugins(self)
        return self._registry

    def plugin_infos(self) -> list[PluginInfo]:
        return sorted(self.infos.values(), key=lambda i: (not i.builtin, i.name))


def _module_of(plugin: object) -> str | None:
    return getattr(plugin, "__name__", None) or type(plugin).__module__


_default: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, with entry-point plugins loaded on first use."""
    global _default
    if _default is None:
        pm = PluginManager()
        pm.load_entrypoints()
        _default = pm
    return _default


def reset_plugin_manager() -> None:
    """Forget the process-wide plugin manager (the next use rediscovers plugins)."""
    global _default
    _default = None


def get_registry() -> Any:
    """The registry of the process-wide plugin manager."""
    return get_plugin_manager().registry
