"""Toy components for core tests: text files flowing through stages (no heavy imports)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

import spinml
from spinml.components import Component
from spinml.config import ComponentConfig
from spinml.io import atomic_write


class WriteConfig(ComponentConfig):
    value: str = "hello"
    repeat: int = Field(1, ge=1)


class Write(Component):
    """Write a text artifact."""

    Config = WriteConfig
    outputs = ("text",)

    def run(self, inputs, out_dir, ctx):
        with atomic_write(out_dir / "text.txt", "w") as fh:
            fh.write(self.config.value * self.config.repeat)
        return {"text": out_dir / "text.txt"}


class PiecesConfig(ComponentConfig):
    pieces: int = 4
    fail_after: int | None = None  # raise KeyboardInterrupt after this many new pieces


class Pieces(Component):
    """Upper-case the text into numbered pieces, one file each (resumable)."""

    Config = PiecesConfig
    inputs = ("text",)
    outputs = ("pieces",)
    written: list[int] = []

    def run(self, inputs, out_dir, ctx):
        text = Path(inputs["text"]).read_text()
        new = 0
        for i in range(self.config.pieces):
            f = out_dir / f"piece-{i}.txt"
            if f.exists():
                continue
            if self.config.fail_after is not None and new == self.config.fail_after:
                raise KeyboardInterrupt
            with atomic_write(f, "w") as fh:
                fh.write(f"{i}:{text.upper()}")
            Pieces.written.append(i)
            new += 1
        return {"pieces": out_dir}


class Boom(Component):
    inputs = ("text",)
    outputs = ("nothing",)

    def run(self, inputs, out_dir, ctx):
        raise ValueError("no good")


class ToyPlugin:
    @spinml.hookimpl
    def spinml_register_stages(self, register):
        register("write", Write)
        register("pieces", Pieces)
        register("boom", Boom)
