"""Atomic writes and content hashing."""

from __future__ import annotations

import pytest

from spinml.io import atomic_write, hash_tree, read_json, write_json


def test_atomic_write_leaves_old_file_intact_on_error(tmp_path):
    target = tmp_path / "data.json"
    write_json(target, {"v": 1})
    with pytest.raises(RuntimeError):
        with atomic_write(target, "w") as fh:
            fh.write('{"v": 2, "half')
            raise RuntimeError("killed mid-write")
    assert read_json(target) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["data.json"]


def test_hash_tree_tracks_names_and_bytes_but_not_markers(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("1")
    h1 = hash_tree(tmp_path)
    (tmp_path / ".spinml-stage.json").write_text("{}")
    assert hash_tree(tmp_path) == h1
    (tmp_path / "a" / "x.txt").write_text("2")
    assert hash_tree(tmp_path) != h1
