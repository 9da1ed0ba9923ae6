"""HTML reports: one per run (stage ``report``) and one per sweep (:func:`write_sweep_report`).

Every image and plot is embedded as a ``data:`` URI, so a report is one file that opens
anywhere. A run report shows the private references: it belongs to the device side.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from spinml.components import Component, StageContext
from spinml.io import atomic_write

from .config import ReportConfig
from .html import esc, figure_png, gallery, img, page, table, thumbnail

if TYPE_CHECKING:  # pragma: no cover
    from spinml.datasets import ImageDataset, Measurement, ModelArtifact
    from spinml.payload import Payload
    from spinml.private import ReferenceSet, Segmentation

__all__ = ["ReportStage", "write_run_report", "write_sweep_report", "REPORT_FILE", "overlay",
           "confusion_png", "plot_confusion", "privacy_utility_plot"]

REPORT_FILE = "report.html"
UTILITY_KEYS = ("accuracy", "mAP50-95", "map50_95", "mAP")
#: overlay colours of object groups (the background is left as it is)
GROUP_COLOURS = {"target": (230, 40, 40)}
OTHER_COLOUR = (40, 110, 230)


class ReportStage(Component):
    """Write ``report.html``: references and masks, what was shared, synthetic samples, the
    model's figures and the leakage table; every input is optional."""

    Config = ReportConfig
    optional_inputs = ("references", "segmentation", "payload", "synthetic", "model", "leakage")
    outputs = ("report",)

    def run(self, inputs: Mapping[str, Any], out_dir: Path, ctx: StageContext) -> dict[str, Any]:
        write_run_report(Path(out_dir) / REPORT_FILE, inputs, self.config, ctx)
        return {"report": Path(out_dir)}


# -- run report ---------------------------------------------------------------------------

def write_run_report(path: str | Path, artifacts: Mapping[str, Any],
                     config: ReportConfig | None = None, ctx: StageContext | None = None) -> Path:
    """Write the report of one run from its artifacts (any subset of the stage's inputs)."""
    config = config or ReportConfig()
    ctx = ctx or StageContext(stage="report", show_progress=False)
    artifacts = _loaded(artifacts)
    payload: Payload | None = artifacts.get("payload")
    sections = [_summary(artifacts)]
    if artifacts.get("references") is not None:
        sections.append(_references(artifacts["references"], artifacts.get("segmentation"), config, ctx))
    if payload is not None:
        sections.append(_shared(payload, config))
    if artifacts.get("synthetic") is not None:
        sections.append(_synthetic(artifacts["synthetic"], config))
    if artifacts.get("model") is not None:
        sections.append(_model(artifacts["model"]))
    if artifacts.get("leakage") is not None:
        sections.append(_leakage(artifacts["leakage"]))
    path = Path(path)
    with atomic_write(path, "w") as fh:
        fh.write(page(config.title, sections))
    return path


def _loaded(artifacts: Mapping[str, Any]) -> dict[str, Any]:
    """Artifacts as objects: a path given for a port is loaded as that port's artifact."""
    from spinml.pipeline import load_artifact

    return {k: load_artifact(k, v) for k, v in artifacts.items() if v is not None}


def _summary(artifacts: Mapping[str, Any]) -> str:
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    rows: list[tuple[str, Any]] = [("written", now)]
    payload = artifacts.get("payload")
    if payload is not None:
        req = payload.request
        rows += [("task", req.task), ("target", req.target), ("labels", ", ".join(req.labels)),
                 ("policy", payload.policy.shorthand)]
    given = [k for k in ("references", "segmentation", "payload", "synthetic", "model", "leakage")
             if artifacts.get(k) is not None]
    rows.append(("artifacts", ", ".join(given) or "none given"))
    return "<h2>Run</h2>" + table(("", ""), rows, text_columns=2)


def overlay(image: np.ndarray, masks: Mapping[str, np.ndarray]) -> np.ndarray:
    """``image`` with each non-background group tinted (target red, other objects blue)."""
    out = image.astype(np.float32)
    for group, mask in masks.items():
        if group == "background":
            continue
        colour = np.array(GROUP_COLOURS.get(group, OTHER_COLOUR), dtype=np.float32)
        out[mask] = 0.5 * out[mask] + 0.5 * colour
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def _references(references: ReferenceSet, segmentation: Segmentation | None, config: ReportConfig,
                ctx: StageContext) -> str:
    shown = references.references[:config.max_references]
    items = []
    for ref in ctx.progress(shown, desc=f"{ctx.stage}: references"):
        image = ref.load()
        if segmentation is not None and ref.id in segmentation:
            image = overlay(image, segmentation.masks(ref.id))
        items.append((thumbnail(image, config.thumbnail), f"{ref.label} · {ref.id}"))
    note = ('<p class="note warn">Private images: this section shows the device\'s references '
            "(target tinted red, other named objects blue). Do not send this report to the server.</p>")
    failures = ""
    if segmentation is not None and segmentation.failures:
        failures = "<p class=\"warn\">Not segmented: " + esc(
            "; ".join(f"{k}: {v}" for k, v in sorted(segmentation.failures.items()))) + "</p>"
    more = len(references) - len(shown)
    tail = f'<p class="note">{more} more not shown.</p>' if more > 0 else ""
    return f"<h2>Private references ({len(references)})</h2>{note}{failures}{gallery(items)}{tail}"


def _share_image(array: np.ndarray) -> np.ndarray:
    a = np.asarray(array)
    if a.ndim == 3 and a.shape[2] == 4:  # a segment: show it on black, as it was cut
        return (a[..., :3].astype(np.float32) * (a[..., 3:4] / 255.0)).astype(np.uint8)
    return a


def _shared(payload: Payload, config: ReportConfig) -> str:
    parts = [f"<h2>What left the device ({len(payload)} items, {payload.nbytes:,} bytes)</h2>"]
    groups = dict.fromkeys([*payload.policy.groups(), *(i.group for i in payload)])
    for group in groups:
        level = int(payload.level_of(group))
        items = payload.select(group=group)
        sanitizers = ", ".join(sorted({i.sanitizer for i in items}))
        head = f"<h3>{esc(group)}: L{level}" + (f" ({esc(sanitizers)})" if sanitizers else "") + "</h3>"
        if level == 0:
            parts.append(head + '<p class="note">L0: nothing of this object left the device.</p>')
            continue
        shown = [(thumbnail(_share_image(payload.read(i)), config.thumbnail),
                  f"{i.label} · {i.reference}") for i in items[:config.max_references]]
        parts.append(head + gallery(shown))
    return "".join(parts)


def _with_boxes(image: np.ndarray, boxes: Sequence[Sequence[Any]]) -> np.ndarray:
    from PIL import Image, ImageDraw

    im = Image.fromarray(image)
    draw = ImageDraw.Draw(im)
    for x0, y0, x1, y1, *_ in boxes:
        draw.rectangle([x0, y0, x1 - 1, y1 - 1], outline=(255, 30, 30))
    return np.asarray(im)


def _synthetic(data: ImageDataset, config: ReportConfig) -> str:
    counts = data.counts()
    rows = [(label, n) for label, n in counts.items()]
    parts = [f"<h2>Synthetic data ({len(data)} images)</h2>", table(("label", "images"), rows)]
    for label in counts:
        records = [r for r in data if r.label == label][:config.samples_per_label]
        shown = []
        for rec in records:
            prov = rec.provenance
            caption = " · ".join(str(v) for v in (rec.id, prov.get("generator"),
                                                  f"L{prov['level']}" if "level" in prov else None) if v)
            shown.append((thumbnail(_with_boxes(rec.load(), rec.boxes), config.thumbnail), caption))
        parts.append(f"<h3>{esc(label)}</h3>" + gallery(shown))
    return "".join(parts)


def confusion_png(model: ModelArtifact) -> bytes | None:
    """The trainer's confusion-matrix PNG if it wrote one, else one drawn from its metrics."""
    metrics = model.metrics
    for name in (metrics.get("confusion_plot"), "confusion_matrix.png"):
        if isinstance(name, str) and (model.path / name).is_file():
            return (model.path / name).read_bytes()
    cm = metrics.get("confusion_matrix")
    if cm is None:
        return None
    matrix = cm["matrix"] if isinstance(cm, Mapping) else cm
    labels = (cm.get("labels") if isinstance(cm, Mapping) else None) or metrics.get("labels") \
        or model.config.get("labels") or [str(i) for i in range(len(matrix))]
    return plot_confusion(np.asarray(matrix), [str(x) for x in labels])


def plot_confusion(matrix: np.ndarray, labels: Sequence[str]) -> bytes:
    from matplotlib.figure import Figure

    side = 1.8 + 0.5 * len(labels)
    fig = Figure(figsize=(side + 1.0, side))
    ax = fig.add_subplot()
    ax.imshow(matrix, cmap="Blues", vmin=0)
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for (i, j), v in np.ndenumerate(matrix):
        ax.text(j, i, str(v), ha="center", va="center",
                color="white" if v > matrix.max() / 2 else "black")
    fig.tight_layout()
    return figure_png(fig)


def _model(model: ModelArtifact) -> str:
    metrics = model.metrics
    scalars = [(k, v) for k, v in metrics.items() if isinstance(v, (int, float, str))
               and not isinstance(v, bool) and k != "confusion_plot"]
    parts = ["<h2>Trained model, on real test images</h2>"]
    if not metrics:
        parts.append('<p class="note">The model has no metrics (no test set was given).</p>')
    parts.append(table(("figure", "value"), scalars) if scalars else "")
    per_class = metrics.get("per_class_accuracy")
    if isinstance(per_class, Mapping):
        parts.append(table(("label", "accuracy"), list(per_class.items())))
    png = confusion_png(model)
    if png is not None:
        parts.append("<h3>Confusion matrix</h3>" + img(png, "confusion matrix"))
    arch = model.config.get("model") or model.config.get("architecture")
    if arch:
        parts.append(f'<p class="note">model: {esc(arch)}</p>')
    return "".join(parts)


def _leakage(leakage: Sequence[Measurement]) -> str:
    rows = [(m.key, f"L{m.level}" if m.level is not None else None, m.value, m.floor, m.ceiling,
             m.embedder, m.n) for m in leakage]
    note = ('<p class="note">MI: normalised by the raw image\'s entropy; <code>_via_</code> rows are '
            "what a shared group leaks about another object. Similarity: read each value between its "
            "floor (unrelated images) and ceiling (a light augmentation of the same image). See "
            "docs/metrics.md.</p>")
    body = table(("figure", "level", "value", "floor", "ceiling", "embedder", "n"), rows)
    return f"<h2>Leakage</h2>{note}{body if rows else '<p class=note>no figures</p>'}"


# -- sweep report -------------------------------------------------------------------------

def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def _utility_key(rows: Sequence[Mapping[str, Any]]) -> str | None:
    for key in UTILITY_KEYS:
        if any(_is_number(r.get(key)) for r in rows):
            return key
    return None


def _leakage_keys(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    keys = dict.fromkeys(k for r in rows for k in r if "/" in k and not k.endswith("_std"))
    return list(keys)


def _cell(row: Mapping[str, Any], key: str) -> Any:
    v = row.get(key)
    sd = row.get(f"{key}_std")
    if _is_number(v) and _is_number(sd) and row.get("seeds", 1) > 1:
        return f"{v:.4f} ± {sd:.4f}"
    return v


def privacy_utility_plot(rows: Sequence[Mapping[str, Any]], utility: str, leak_keys: Sequence[str]) -> bytes:
    """Utility against each leakage figure, one point per configuration."""
    from matplotlib.figure import Figure

    ncols = min(3, len(leak_keys))
    nrows = math.ceil(len(leak_keys) / ncols)
    fig = Figure(figsize=(4.4 * ncols, 3.6 * nrows))
    for k, key in enumerate(leak_keys):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for row in rows:
            x, y = row.get(key), row.get(utility)
            if not (_is_number(x) and _is_number(y)):
                continue
            ax.errorbar(x, y, xerr=row.get(f"{key}_std") or 0, yerr=row.get(f"{utility}_std") or 0,
                        fmt="o", capsize=3)
            ax.annotate(str(row["config"]), (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xlabel(key)
        ax.set_ylabel(utility)
        ax.grid(alpha=0.3)
    fig.suptitle("privacy-utility trade-off (one point per configuration)")
    fig.tight_layout()
    return figure_png(fig)


def _run_section(name: str, artifacts: Mapping[str, Any], side: int) -> str:
    parts = [f"<h3>{esc(name)}</h3>"]
    artifacts = _loaded({k: v for k, v in artifacts.items() if k in ("synthetic", "model")})
    synthetic = artifacts.get("synthetic")
    if synthetic is not None:
        shown = []
        for label in synthetic.labels:
            rec = next((r for r in synthetic if r.label == label), None)
            if rec is not None:
                shown.append((thumbnail(_with_boxes(rec.load(), rec.boxes), side), rec.id))
        parts.append(gallery(shown))
    model = artifacts.get("model")
    if model is not None:
        png = confusion_png(model)
        if png is not None:
            parts.append(img(png, f"confusion matrix of {name}", width=320))
    return "".join(parts)


def write_sweep_report(rows: Sequence[Mapping[str, Any]], out_path: str | Path,
                       runs: Mapping[str, Mapping[str, Any]] | None = None, *,
                       title: str = "SpinML sweep") -> Path:
    """Write the sweep report: one table of every configuration and the privacy-utility plot.

    ``rows`` are the sweep's table rows (``config``, ``policy``, ``alpha``, a utility figure
    such as ``accuracy`` and leakage figures keyed ``metric/variant/group``, each optionally
    with ``<key>_std``); ``runs`` maps a configuration to its run's artifacts, whose synthetic
    samples and confusion matrices are shown too.
    """
    utility = _utility_key(rows)
    leak_keys = _leakage_keys(rows)
    lead = [k for k in ("config", "policy", "alpha", "seeds", "seed") if any(k in r for r in rows)]
    columns = lead + ([utility] if utility else []) + leak_keys
    sections = ["<h2>Configurations</h2>",
                table(columns, [[_cell(r, c) for c in columns] for r in rows], text_columns=2)]
    if utility and leak_keys and rows:
        sections += ["<h2>Privacy and utility</h2>",
                     img(privacy_utility_plot(rows, utility, leak_keys), "privacy-utility plot")]
    else:
        sections.append('<p class="note">No plot: the rows need a utility figure '
                        f"({', '.join(UTILITY_KEYS)}) and leakage figures.</p>")
    if runs:
        sections.append("<h2>Runs</h2>" + "".join(_run_section(n, a, 96) for n, a in runs.items()))
    out_path = Path(out_path)
    with atomic_write(out_path, "w") as fh:
        fh.write(page(title, sections))
    return out_path
