"""The component registry: what plugins registered, by kind and name.

Components are registered lazily: a spec keeps the import target as a string
until :meth:`ComponentSpec.load` is called, so listing never imports torch.
Parameters are validated against the spec's pydantic config model *before*
the target is imported.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from .config import ComponentConfig, format_validation_error
from .errors import ConfigError, DuplicateComponentError, PluginError, UnknownComponentError

if TYPE_CHECKING:  # pragma: no cover
    from .plugins import PluginManager

#: component kind -> registration hook
KINDS: dict[str, str] = {
    "segmenter": "spinml_register_segmenters",
    "sanitizer": "spinml_register_sanitizers",
    "generator": "spinml_register_generators",
    "trainer": "spinml_register_trainers",
    "metric": "spinml_register_metrics",
    "embedder": "spinml_register_embedders",
    "stage": "spinml_register_stages",
}


def import_target(target: str) -> Any:
    """Import ``"package.module:Attr"`` and return ``Attr``."""
    module_name, _, attr = target.partition(":")
    if not module_name or not attr:
        raise ValueError(f"import target {target!r} must look like 'package.module:Attr'")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class ComponentSpec:
    """One registered component. ``target`` stays a string until :meth:`load`."""

    kind: str
    name: str
    target: Any
    config: type[BaseModel]
    plugin: str
    summary: str = ""
    meta: Mapping[str, Any] = field(default_factory=dict)
    #: version of the distribution that provides the plugin (None for in-code plugins)
    version: str | None = None

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.name}"

    @property
    def target_name(self) -> str:
        t = self.target
        return t if isinstance(t, str) else f"{t.__module__}:{t.__qualname__}"

    def validate(self, params: Mapping[str, Any] | BaseModel | None = None, *,
                 location: str | None = None) -> BaseModel:
        """Validate parameters against the config model; nothing heavy is imported."""
        if isinstance(params, self.config):
            return params
        if isinstance(params, BaseModel):
            params = params.model_dump()
        try:
            return self.config.model_validate(dict(params or {}))
        except ValidationError as exc:
            raise ConfigError(format_validation_error(exc, prefix=location),
                              location=None, hint=f"parameters of {self.id}") from None

    def load(self) -> type:
        """Import and return the component class (this is where heavy imports happen)."""
        from .components import BASES

        try:
            cls = import_target(self.target) if isinstance(self.target, str) else self.target
        except ImportError as exc:
            missing = getattr(exc, "name", None) or ""
            own = missing.split(".")[0] == self.target_name.split(".")[0].split(":")[0]
            hint = None if own else (f"install the package that provides {missing!r}, e.g. "
                                     "pip install 'spinml[all]'" if missing else None)
            raise PluginError(f"{self.id} (plugin {self.plugin!r}) cannot be imported: {exc}",
                              plugin=self.plugin, hint=hint) from exc
        base = BASES.get(self.kind)
        if base is not None and not (isinstance(cls, type) and issubclass(cls, base)):
            raise PluginError(f"{self.id} (plugin {self.plugin!r}) is {cls!r}, "
                              f"not a subclass of {base.__name__}", plugin=self.plugin)
        return cls

    def create(self, params: Mapping[str, Any] | BaseModel | None = None, **overrides: Any) -> Any:
        """Validate ``params`` (plus ``overrides``), import the class and instantiate it."""
        merged = dict(params.model_dump() if isinstance(params, BaseModel) else (params or {}))
        merged.update(overrides)
        config = self.validate(merged)
        cls = self.load()
        return cls(config)


class Registry:
    """All components registered by the loaded plugins of one plugin manager."""

    def __init__(self, specs: Iterable[ComponentSpec] = (), *,
                 problems: Mapping[str, str] | None = None) -> None:
        self._specs: dict[tuple[str, str], ComponentSpec] = {}
        #: plugin name -> "blocked" / "failed: <error>" (used in error messages)
        self.problems = dict(problems or {})
        for spec in specs:
            self.add(spec)

    def add(self, spec: ComponentSpec) -> None:
        if spec.kind not in KINDS:
            raise PluginError(f"plugin {spec.plugin!r} registered {spec.name!r} under unknown "
                              f"kind {spec.kind!r}; kinds are {', '.join(KINDS)}", plugin=spec.plugin)
        key = (spec.kind, spec.name)
        if key in self._specs:
            other = self._specs[key]
            raise DuplicateComponentError(
                f"{spec.kind} {spec.name!r} is registered twice: by plugin {other.plugin!r} "
                f"({other.target_name}) and by plugin {spec.plugin!r} ({spec.target_name})",
                plugin=spec.plugin,
                hint="rename one of them, or block one plugin with SPINML_BLOCK_PLUGINS",
            )
        self._specs[key] = spec

    def list(self, kind: str | None = None, pattern: str | None = None) -> list[ComponentSpec]:
        """Components sorted by kind and name, optionally of one kind and matching a glob."""
        if kind is not None:
            self._check_kind(kind)
        out = [s for s in self._specs.values()
               if (kind is None or s.kind == kind)
               and (pattern is None or fnmatch.fnmatchcase(s.name, pattern))]
        return sorted(out, key=lambda s: (list(KINDS).index(s.kind), s.name))

    def names(self, kind: str) -> list[str]:
        return [s.name for s in self.list(kind)]

    def __contains__(self, key: object) -> bool:
        return key in self._specs

    def __len__(self) -> int:
        return len(self._specs)

    def get(self, kind: str, name: str) -> ComponentSpec:
        """The spec of ``kind``/``name``; an unknown name suggests close ones."""
        self._check_kind(kind)
        try:
            return self._specs[(kind, name)]
        except KeyError:
            pass
        msg = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, self.names(kind), n=3, cutoff=0.6)
        if close:
            msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        elsewhere = [k for (k, n) in self._specs if n == name]
        if elsewhere:
            msg += f"; {name!r} is a {' and a '.join(elsewhere)}"
        if not close and not elsewhere:
            known = self.names(kind)
            msg += f"; known: {', '.join(known)}" if known else f"; no {kind} is registered"
        hint = None
        if self.problems:
            hint = "; ".join(f"plugin {p!r} {why}" for p, why in sorted(self.problems.items()))
        raise UnknownComponentError(msg, hint=hint)

    def create(self, kind: str, name: str, params: Mapping[str, Any] | BaseModel | None = None,
               **overrides: Any) -> Any:
        """Create a component instance, validating ``params`` before importing it."""
        return self.get(kind, name).create(params, **overrides)

    @staticmethod
    def _check_kind(kind: str) -> None:
        if kind not in KINDS:
            close = difflib.get_close_matches(kind, list(KINDS), n=1)
            extra = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownComponentError(f"unknown component kind {kind!r}{extra}",
                                        hint=f"kinds are {', '.join(KINDS)}")

    @classmethod
    def from_plugins(cls, pm: PluginManager) -> Registry:
        """Call every registration hook, one implementation at a time, to record owners."""
        registry = cls(problems=pm.problems())
        for kind, hook_name in KINDS.items():
            caller = getattr(pm.hook, hook_name)
            for impl in reversed(caller.get_hookimpls()):  # registration order
                info = pm.infos.get(impl.plugin_name)
                register = _Registrar(registry, kind, impl.plugin_name,
                                      info.version if info is not None else None)
                try:
                    impl.function(register=register)
                except DuplicateComponentError:
                    raise
                except Exception as exc:  # a broken plugin must not stop the host
                    pm.mark_failed(impl.plugin_name, exc)
                    registry.problems[impl.plugin_name] = f"failed: {exc}"
                    registry._drop_plugin(impl.plugin_name)
        return registry

    def _drop_plugin(self, plugin: str) -> None:
        for key in [k for k, s in self._specs.items() if s.plugin == plugin]:
            del self._specs[key]


class _Registrar:
    """The ``register`` callback handed to one plugin's registration hook."""

    def __init__(self, registry: Registry, kind: str, plugin: str, version: str | None = None) -> None:
        self.registry, self.kind, self.plugin, self.version = registry, kind, plugin, version

    def __call__(self, name: str, target: Any, config: type[BaseModel] | None = None,
                 summary: str = "", **meta: Any) -> None:
        if not isinstance(name, str) or not name:
            raise PluginError(f"plugin {self.plugin!r} registered a {self.kind} with an empty "
                              f"or non-string name: {name!r}", plugin=self.plugin)
        if config is None:
            config = getattr(target, "Config", None) if not isinstance(target, str) else None
            config = config or ComponentConfig
        if not (isinstance(config, type) and issubclass(config, BaseModel)):
            raise PluginError(f"plugin {self.plugin!r}: config of {self.kind} {name!r} must be a "
                              f"pydantic model class, got {config!r}", plugin=self.plugin)
        if not summary and not isinstance(target, str) and target.__doc__:
            summary = target.__doc__.strip().splitlines()[0]
        self.registry.add(ComponentSpec(self.kind, name, target, config, self.plugin,
                                        summary, dict(meta), self.version))
