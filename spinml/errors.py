"""The exceptions SpinML raises.

Every error a user can cause derives from :class:`SpinMLError`; the CLI prints
``str(error)`` as one line (plus the hint) and exits non-zero, and shows a
traceback only with ``--debug``.
"""

from __future__ import annotations

__all__ = [
    "SpinMLError",
    "ConfigError",
    "PluginError",
    "UnknownComponentError",
    "DuplicateComponentError",
    "PipelineError",
    "InputError",
    "ModelNotFoundError",
    "PayloadError",
    "StageError",
]


class SpinMLError(Exception):
    """Base class of every error SpinML raises on purpose.

    ``hint`` is an optional second sentence telling the user what to do.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def __str__(self) -> str:
        msg = str(self.args[0]) if self.args else ""
        return f"{msg} ({self.hint})" if self.hint else msg


class ConfigError(SpinMLError, ValueError):
    """A configuration value is wrong; ``location`` names the field (``stages.2.params.strength``)."""

    def __init__(self, message: str, *, location: str | None = None, source: str | None = None,
                 hint: str | None = None) -> None:
        where = ":".join(p for p in (source, location) if p)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.location = location
        self.source = source


class PluginError(SpinMLError):
    """A plugin could not be loaded, or breaks a hook contract (e.g. a misspelled hook)."""

    def __init__(self, message: str, *, plugin: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.plugin = plugin


class UnknownComponentError(SpinMLError, KeyError):
    """No component of that kind and name is registered."""


class DuplicateComponentError(PluginError):
    """Two plugins registered the same kind and name."""


class PipelineError(SpinMLError):
    """A pipeline is malformed: unknown stage, missing input, duplicate stage name."""


class InputError(SpinMLError, ValueError):
    """A user-supplied file (image, mask, prompt file) is unusable; ``path`` names it."""

    def __init__(self, path: object, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = str(path)
        self.problem = problem


class ModelNotFoundError(SpinMLError):
    """Model weights could not be found locally and cannot be downloaded."""

    def __init__(self, model: str, *, how: str) -> None:
        super().__init__(f"model {model!r} is not available offline", hint=how)
        self.model = model


class PayloadError(SpinMLError):
    """A payload directory is incomplete, tampered with, or breaks the policy."""


class StageError(SpinMLError):
    """A stage failed; ``stage`` names it. The original error is ``__cause__``."""

    def __init__(self, stage: str, message: str, *, hint: str | None = None) -> None:
        super().__init__(f"stage {stage!r}: {message}", hint=hint)
        self.stage = stage
