"""Policies and requests."""

from __future__ import annotations

import os
import stat

import pytest
from pydantic import ValidationError

from spinml.config import Level, Policy, Request
from spinml.io import write_json


def test_shorthand_and_mapping_forms_agree():
    p = Policy.parse("L1_L0")
    assert (p.target.level, p.background.level) == (Level.L1, Level.L0)
    assert p == Policy.model_validate({"target": {"level": "L1"}, "background": "L0"})
    assert Policy.model_validate({"target": 2}).shorthand == "L2_L0"
    assert p.target.sanitizer_name() == "canny"
    assert Policy.parse("L2_L2").background.sanitizer_name() == "segment"


def test_groups_not_named_are_l0():
    p = Policy.model_validate({"target": {"level": 2}, "objects": {"bowl": {"level": 1}}})
    assert p.for_group("cup").level == Level.L0
    assert p.shorthand == "L2_L0+bowlL1"


@pytest.mark.parametrize("bad, message", [
    ("L3_L0", "must look like 'L1_L0'"),
    ({"target": {"level": 0, "sanitizer": "canny"}}, "an L0 object shares nothing"),
    ({"target": {"levle": 1}}, "Extra inputs are not permitted"),
    ({"objects": {"target": {"level": 1}}}, "may not redefine"),
])
def test_bad_policies_are_refused(bad, message):
    with pytest.raises(ValidationError, match=message):
        Policy.model_validate(bad)


def test_request_prompts():
    r = Request(target="husky", labels=("eating", "sleeping"), prompts={"eating": "a {target} at its bowl"})
    assert r.prompt_for("sleeping") == "a photo of a husky sleeping"
    assert r.prompt_for("eating") == "a husky at its bowl"
    with pytest.raises(ValidationError, match="labels must be unique"):
        Request(target="x", labels=("a", "a"))
    with pytest.raises(ValidationError, match="prompts given for unknown labels"):
        Request(target="x", labels=("a",), prompts={"b": "..."})


def test_written_files_get_ordinary_permissions(tmp_path):
    write_json(tmp_path / "x.json", {})
    mode = stat.S_IMODE(os.stat(tmp_path / "x.json").st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
