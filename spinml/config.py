"""Pydantic configuration models shared by the core and the plugins.

Every model forbids unknown fields, so a misspelled parameter is an error that
names the field, raised before anything heavy is imported.
"""

from __future__ import annotations

import re
from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

__all__ = ["ComponentConfig", "StrictModel", "Level", "Request", "Policy", "ObjectPolicy",
           "format_validation_error"]


class StrictModel(BaseModel):
    """Base of SpinML's config models: unknown fields are errors; instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentConfig(StrictModel):
    """Base class of component configs; a component with no parameters uses it as is."""


def format_validation_error(exc: ValidationError, *, prefix: str | None = None) -> str:
    """One line per problem, each naming the dotted field path (``stages.2.params.strength``)."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(err["loc"]))
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


class Level(IntEnum):
    """How much of an object leaves the device."""

    L0 = 0  #: nothing
    L1 = 1  #: a feature only (edges, silhouette, ...)
    L2 = 2  #: the segment's pixels, all else black


class Request(StrictModel):
    """What the person asks for; it is sent to the server as is.

    ``prompt`` is a template with ``{target}`` and ``{label}`` fields; ``prompts``
    overrides it per label.
    """

    task: Literal["classification", "detection"] = "classification"
    target: str = Field(min_length=1)
    labels: tuple[str, ...] = Field(min_length=1)
    prompt: str = "a photo of a {target} {label}"
    prompts: dict[str, str] = Field(default_factory=dict)

    @field_validator("labels")
    @classmethod
    def _unique_labels(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("labels must be unique")
        if any(not lab or "/" in lab or lab.startswith(".") for lab in v):
            raise ValueError("labels must be non-empty, contain no '/', and not start with '.'")
        return v

    @model_validator(mode="after")
    def _prompts_known(self) -> Request:
        unknown = set(self.prompts) - set(self.labels)
        if unknown:
            raise ValueError(f"prompts given for unknown labels: {sorted(unknown)}")
        return self

    def prompt_for(self, label: str) -> str:
        """The text prompt of one label."""
        template = self.prompts.get(label, self.prompt)
        return template.format(target=self.target, label=label)


class ObjectPolicy(StrictModel):
    """The level of one object group, and the sanitizer that produces its share."""

    level: Level = Level.L0
    #: sanitizer used at this level; ``None`` picks the default (L1: ``canny``, L2: ``segment``)
    sanitizer: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _bare_level(cls, v: Any) -> Any:
        """``background: L0`` (or ``0``) is short for ``background: {level: L0}``."""
        return {"level": v} if isinstance(v, (str, int)) else v

    @field_validator("level", mode="before")
    @classmethod
    def _parse_level(cls, v: Any) -> Any:
        if isinstance(v, str) and re.fullmatch(r"[Ll][0-2]", v):
            return int(v[1])
        return v

    @model_validator(mode="after")
    def _l0_has_no_sanitizer(self) -> ObjectPolicy:
        if self.level == Level.L0 and self.sanitizer is not None:
            raise ValueError("an L0 object shares nothing, so it takes no sanitizer")
        return self

    def sanitizer_name(self) -> str | None:
        if self.level == Level.L0:
            return None
        return self.sanitizer or {Level.L1: "canny", Level.L2: "segment"}[self.level]


_SHORTHAND = re.compile(r"^L([0-2])_L([0-2])$")


class Policy(StrictModel):
    """What leaves the device, object group by object group.

    ``Policy.parse("L1_L0")`` is the paper's shorthand ``L<target>_L<background>``.
    Other named objects (``objects``) default to L0. Any group not named here
    is L0: the policy can only ever *add* what is shared.
    """

    target: ObjectPolicy = Field(default_factory=ObjectPolicy)
    background: ObjectPolicy = Field(default_factory=ObjectPolicy)
    objects: dict[str, ObjectPolicy] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _from_shorthand(cls, v: Any) -> Any:
        if isinstance(v, str):
            m = _SHORTHAND.match(v.strip())
            if not m:
                raise ValueError(f"policy shorthand {v!r} must look like 'L1_L0' "
                                 "(L<target>_L<background>, levels 0-2)")
            return {"target": {"level": int(m[1])}, "background": {"level": int(m[2])}}
        return v

    @model_validator(mode="after")
    def _reserved_names(self) -> Policy:
        clash = {"target", "background"} & set(self.objects)
        if clash:
            raise ValueError(f"'objects' may not redefine {sorted(clash)}")
        return self

    @classmethod
    def parse(cls, value: str | dict[str, Any] | Policy) -> Policy:
        return value if isinstance(value, Policy) else cls.model_validate(value)

    def groups(self) -> dict[str, ObjectPolicy]:
        """Every object group this policy names, target and background first."""
        return {"target": self.target, "background": self.background, **self.objects}

    def for_group(self, group: str) -> ObjectPolicy:
        """The policy of ``group``; a group the policy does not name is L0."""
        return self.groups().get(group, ObjectPolicy())

    @property
    def shorthand(self) -> str:
        """``L<target>_L<background>`` (with ``+`` and other objects' levels if any are shared)."""
        s = f"L{int(self.target.level)}_L{int(self.background.level)}"
        shared = {k: o for k, o in self.objects.items() if o.level != Level.L0}
        return s + "".join(f"+{k}L{int(o.level)}" for k, o in sorted(shared.items()))
