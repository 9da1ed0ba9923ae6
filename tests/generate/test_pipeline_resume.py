"""Generators as pipeline stages: run, swap in one line, and resume after a kill."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gen_payloads import make_payload

from spinml.datasets import DatasetWriter, ImageDataset
from spinml.pipeline import Pipeline, Stage
from spinml.testing import fresh_plugin_manager


def generate_pipeline(pool: Path, images: int = 6) -> Pipeline:
    params = {"public_pool": str(pool), "images_per_label": images, "batch_size": 2}
    return Pipeline(stages=[Stage(name="generate", use="generator:cutpaste", params=params)])


def snapshot(data: ImageDataset) -> dict[str, tuple[int, int, str]]:
    """Per image: inode and mtime (rewritten files change both) and content hash."""
    hashes = data.content_hashes()
    return {r.id: (r.file.stat().st_ino, r.file.stat().st_mtime_ns, hashes[r.id]) for r in data}


def provenance(path: Path) -> list[dict]:
    lines = (path / "provenance.jsonl").read_text().splitlines()
    return sorted((json.loads(x) for x in lines), key=lambda r: r["id"])


def test_pipeline_runs_cutpaste_and_swaps_backend_in_one_line(tmp_path: Path, pool: Path) -> None:
    payload = make_payload(tmp_path / "payload", "L1_L0", task="detection")
    pm = fresh_plugin_manager()
    pipe = generate_pipeline(pool)
    data = pipe.run(tmp_path / "run", {"payload": payload.path}, pm=pm, progress=False)["synthetic"]
    assert data.task == "detection" and len(data) == 6
    assert all(r.provenance["generator"] == "cutpaste" for r in data)
    swapped = pipe.replace("generate", use="generator:public-pool", params={"public_pool": str(pool)})
    baseline = swapped.run(tmp_path / "run", {"payload": payload.path}, pm=pm,
                           progress=False)["synthetic"]
    assert baseline.path != data.path and len(baseline) == 20
    assert {r.provenance["generator"] for r in baseline} == {"public-pool"}


def test_killed_run_resumes_without_redoing_images(tmp_path: Path, pool: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    payload = make_payload(tmp_path / "payload", "L2_L2", task="detection")
    pm = fresh_plugin_manager()
    pipe = generate_pipeline(pool, images=10)
    reference = pipe.run(tmp_path / "clean", {"payload": payload.path}, pm=pm,
                         progress=False)["synthetic"]

    real_add = DatasetWriter.add
    calls = {"n": 0}

    def dies_after_four(self: DatasetWriter, *args, **kwargs) -> None:
        if calls["n"] == 4:
            raise KeyboardInterrupt
        calls["n"] += 1
        real_add(self, *args, **kwargs)

    monkeypatch.setattr(DatasetWriter, "add", dies_after_four)
    with pytest.raises(KeyboardInterrupt):
        pipe.run(tmp_path / "killed", {"payload": payload.path}, pm=pm, progress=False)
    (stage_dir,) = (tmp_path / "killed" / "stages").iterdir()
    partial = {p.relative_to(stage_dir / "images").as_posix()[:-4]: p
               for p in (stage_dir / "images").rglob("*.png")}
    assert len(partial) == 4 and not (stage_dir / "dataset.json").exists()
    before = {k: (p.stat().st_ino, p.stat().st_mtime_ns) for k, p in partial.items()}

    monkeypatch.setattr(DatasetWriter, "add", real_add)
    resumed = pipe.run(tmp_path / "killed", {"payload": payload.path}, pm=pm,
                       progress=False)["synthetic"]
    after = snapshot(resumed)
    assert all(after[k][:2] == before[k] for k in before)  # finished images untouched
    assert {k: v[2] for k, v in after.items()} == reference.content_hashes()
    assert provenance(resumed.path) == provenance(reference.path)
    coco = [json.loads((d.path / "annotations" / "coco.json").read_text()) for d in (resumed, reference)]
    assert coco[0] == coco[1]
