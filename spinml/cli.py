"""The ``spinml`` command line.

Every error a user can cause is printed as one line naming the file, field or
plugin at fault, with a non-zero exit status; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .errors import ConfigError, SpinMLError

EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 1, 130


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    # global flags may stand before or after the command
    args.debug = args.debug or "--debug" in argv
    args.quiet = args.quiet or bool({"-q", "--quiet"} & set(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("spinml: interrupted; finished work is kept, rerun the same command to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except SpinMLError as exc:
        if args.debug:
            raise
        print(f"spinml: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # pragma: no cover - a bug, shown briefly
        if args.debug:
            raise
        print(f"spinml: internal error: {type(exc).__name__}: {exc} (rerun with --debug for the "
              "traceback)", file=sys.stderr)
        return EXIT_INTERNAL


# -- parser ------------------------------------------------------------------------------

def _build_parser() -> argparse.ArgumentParser:
    from . import __version__

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars")
    p = argparse.ArgumentParser(prog="spinml", parents=[common],
                                description="Private synthetic data for specialized vision models.")
    p.set_defaults(debug=False, quiet=False)
    p.add_argument("--version", action="version", version=f"spinml {__version__}")
    sub = p.add_subparsers(metavar="COMMAND")

    def cmd(name: str, func: Any, help: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, parents=[common], help=help, description=help)
        sp.set_defaults(func=func)
        return sp

    sp = cmd("plugins", cmd_plugins, "list installed plugins and their load status")
    sp.add_argument("--json", action="store_true")

    sp = cmd("components", cmd_components, "list registered components")
    sp.add_argument("kind", nargs="?", help="segmenter, sanitizer, generator, trainer, metric, ...")
    sp.add_argument("--pattern", help="glob on the component name, e.g. 'sd-*'")
    sp.add_argument("--json", action="store_true")

    sp = cmd("run", cmd_run, "run a pipeline from a YAML file")
    sp.add_argument("config", type=Path)
    sp.add_argument("--run-dir", type=Path, help="default: runs/<config name>")
    sp.add_argument("--set", action="append", default=[], metavar="STAGE.PARAM=VALUE",
                    help="override a stage parameter (YAML value), e.g. generate.seed=3")

    sp = cmd("sweep", cmd_sweep, "run a pipeline over sanitization levels, alphas and seeds")
    sp.add_argument("config", type=Path)
    sp.add_argument("--run-dir", type=Path, help="default: runs/<config name>-sweep")

    sp = cmd("sanitize", cmd_sanitize, "device side: segment references and write a payload")
    sp.add_argument("references", type=Path, help="folder REFS/<label>/<image> (+ annotations.json)")
    sp.add_argument("--out", type=Path, required=True, help="payload directory to write")
    sp.add_argument("--policy", default="L1_L0", help="shorthand L<target>_L<background> or a YAML file")
    sp.add_argument("--request", type=Path, help="YAML file with task, target, labels, prompt")
    sp.add_argument("--target", help="target object name (instead of --request)")
    sp.add_argument("--task", default="classification", choices=["classification", "detection"])
    sp.add_argument("--segmenter", default="grabcut")
    sp.add_argument("--work", type=Path, help="private working folder for masks "
                    "(default: OUT.private; it never leaves the device)")
    _stage_opts(sp)

    sp = cmd("generate", cmd_generate, "server side: generate a synthetic dataset from a payload")
    sp.add_argument("payload", type=Path)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--generator", default="cutpaste")
    _stage_opts(sp)

    sp = cmd("train", cmd_train, "server side: train the specialized model on synthetic data")
    sp.add_argument("data", type=Path)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--test", type=Path, help="real labelled test images (ImageFolder)")
    sp.add_argument("--mix", type=Path, help="second synthetic pool (e.g. the L0 pool)")
    sp.add_argument("--alpha", type=float, help="fraction of the training set drawn from --mix")
    sp.add_argument("--references", type=Path, help="private references: refuse an overlapping test set")
    sp.add_argument("--trainer", default="timm-classifier")
    _stage_opts(sp)

    sp = cmd("measure", cmd_measure, "measure leakage of a payload and a synthetic dataset")
    sp.add_argument("--references", type=Path, required=True)
    sp.add_argument("--segmentation", type=Path, required=True)
    sp.add_argument("--payload", type=Path, required=True)
    sp.add_argument("--synthetic", type=Path)
    sp.add_argument("--out", type=Path, required=True)
    sp.add_argument("--metric", action="append", dest="metrics", metavar="NAME",
                    help="metric to compute (repeatable; default: mi and similarity)")
    _stage_opts(sp)

    sp = cmd("demo", cmd_demo, "run the embedded default demo (offline, no weights)")
    sp.add_argument("--out", type=Path, default=Path("spinml-demo"))
    sp.add_argument("--seeds", type=int, default=1, help="seeds per configuration")
    return p


def _stage_opts(sp: argparse.ArgumentParser) -> None:
    sp.add_argument("--set", action="append", default=[], metavar="PARAM=VALUE",
                    help="component parameter (YAML value), repeatable")
    sp.add_argument("--force", action="store_true",
                    help="OUT holds other work: move it aside to OUT.old-<time> and start afresh")


def _parse_sets(items: Sequence[str], *, dotted: bool = False) -> dict[str, Any]:
    import yaml

    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or (dotted and "." not in key):
            form = "STAGE.PARAM=VALUE" if dotted else "PARAM=VALUE"
            raise ConfigError(f"--set {item!r} must look like {form}")
        try:
            out[key] = yaml.safe_load(raw)
        except yaml.YAMLError:
            out[key] = raw
    return out


# -- listing -------------------------------------------------------------------------------

def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import get_plugin_manager

    infos = get_plugin_manager().plugin_infos()
    if args.json:
        print(json.dumps([i.as_dict() for i in infos], indent=2))
        return 0
    rows = [(i.name, i.status, f"{i.distribution or '-'} {i.version or ''}".strip(),
             ", ".join(h.removeprefix("spinml_") for h in i.hooks) or (i.error or "-"))
            for i in infos]
    _table(("plugin", "status", "distribution", "hooks / error"), rows)
    return 0


def cmd_components(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    specs = get_registry().list(args.kind, args.pattern)
    if args.json:
        print(json.dumps([{"kind": s.kind, "name": s.name, "plugin": s.plugin,
                           "target": s.target_name, "summary": s.summary,
                           "params": s.config.model_json_schema().get("properties", {}),
                           **({"meta": dict(s.meta)} if s.meta else {})} for s in specs], indent=2))
        return 0
    rows = [(s.kind, s.name, s.plugin,
             (f"[L{s.meta['level']}] " if "level" in s.meta else "") + s.summary) for s in specs]
    _table(("kind", "name", "plugin", "summary"), rows)
    return 0


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from ._text import table_lines

    print("\n".join(table_lines(header, rows)))


# -- pipelines -----------------------------------------------------------------------------

def _load_pipeline(path: Path, sets: Sequence[str]) -> Any:
    from .pipeline import Pipeline

    pipe = Pipeline.from_yaml(path)
    for key, value in _parse_sets(sets, dotted=True).items():
        stage, _, param = key.partition(".")
        pipe = pipe.with_params(stage, **{param: value})
    pipe.validate_with()  # errors name the field before anything heavy is imported
    return pipe


def cmd_run(args: argparse.Namespace) -> int:
    pipe = _load_pipeline(args.config, args.set)
    run_dir = args.run_dir or Path("runs") / args.config.stem
    start = time.perf_counter()
    artifacts = pipe.run(run_dir, progress=not args.quiet)
    print(f"finished in {time.perf_counter() - start:.1f} s; run directory: {run_dir}")
    for name, value in artifacts.items():
        path = value if isinstance(value, (str, Path)) else getattr(value, "path", None)
        if path is not None:
            print(f"  {name}: {path}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from .sweep import print_table, run_sweep

    pipe = _load_pipeline(args.config, [])
    run_dir = args.run_dir or Path("runs") / f"{args.config.stem}-sweep"
    result = run_sweep(pipe, run_dir, progress=not args.quiet)
    print_table(result)
    return 0


def _single_stage(args: argparse.Namespace, use: str, inputs: dict[str, Any], out: Path,
                  params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one component as a stage writing into ``out`` (resumable, cached by key)."""
    from .components import StageContext
    from .io import hash_tree
    from .pipeline import Stage, load_artifact, run_stage, stage_key
    from .plugins import get_plugin_manager

    pm = get_plugin_manager()
    kind, _, name = use.partition(":")
    spec = pm.registry.get(kind, name)
    merged = {**(params or {}), **_parse_sets(getattr(args, "set", []))}
    config = spec.validate(merged, location="--set" if getattr(args, "set", None) else None)
    for port, path in inputs.items():
        if isinstance(path, Path) and not path.exists():
            raise ConfigError(f"{path} does not exist", location=f"--{port}")
    values = {p: load_artifact(p, v) for p, v in inputs.items()}
    key = stage_key(spec, config, {p: hash_tree(v) if isinstance(v, Path) else repr(v)
                                   for p, v in inputs.items()})
    if getattr(args, "force", False) and out.exists() and (out / ".spinml-stage.json").exists():
        from .io import read_json

        if read_json(out / ".spinml-stage.json").get("key") != key:
            aside = out.with_name(f"{out.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.move(str(out), aside)
            print(f"moved earlier work aside to {aside}", file=sys.stderr)
    stage = Stage(name=name, use=use, params=merged)
    ctx = StageContext(stage=name, registry=pm.registry, show_progress=not args.quiet)
    result = run_stage(stage, spec, config, values, out, key=key, pm=pm, ctx=ctx)
    state = "already done (cached)" if result.cached else f"done in {result.seconds:.1f} s"
    print(f"{use}: {state}; output: {out}")
    return result.outputs


def cmd_sanitize(args: argparse.Namespace) -> int:
    import yaml

    from .config import Policy, Request

    if args.request:
        try:
            request = yaml.safe_load(args.request.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read request: {exc}", source=str(args.request)) from None
    else:
        from .private import ReferenceSet

        if not args.target:
            raise ConfigError("give --request FILE.yaml or --target NAME", location="--request")
        request = {"task": args.task, "target": args.target,
                   "labels": ReferenceSet.load(args.references).labels}
    policy: Any = args.policy
    if Path(policy).suffix in {".yaml", ".yml"}:
        policy = yaml.safe_load(Path(policy).read_text(encoding="utf-8"))
    params = {"request": Request.model_validate(request).model_dump(mode="json"),
              "policy": Policy.parse(policy).model_dump(mode="json")}
    work = args.work or args.out.with_name(args.out.name + ".private")
    seg = _single_stage(argparse.Namespace(**{**vars(args), "set": []}),
                        f"segmenter:{args.segmenter}", {"references": args.references},
                        work / "segmentation")["segmentation"]
    out = _single_stage(args, "stage:sanitize",
                        {"references": args.references, "segmentation": seg.path}, args.out, params)
    payload = out["payload"]
    if seg.failures:
        print(f"{len(seg.failures)} reference(s) failed and were skipped:", file=sys.stderr)
        for ref_id, err in seg.failures.items():
            print(f"  {ref_id}: {err}", file=sys.stderr)
    _print_stats(payload)
    return 0 if not seg.failures else EXIT_ERROR


def _print_stats(payload: Any) -> None:
    stats = payload.manifest.get("stats") or {}
    print(f"payload: {len(payload)} shared file(s), {payload.nbytes} bytes, "
          f"policy {payload.policy.shorthand}")
    for key, value in stats.items():
        text = json.dumps(value) if isinstance(value, (dict, list)) else value
        print(f"  {key}: {text}")


def cmd_generate(args: argparse.Namespace) -> int:
    out = _single_stage(args, f"generator:{args.generator}", {"payload": args.payload}, args.out)
    ds = out["synthetic"]
    print(f"{len(ds)} images: " + ", ".join(f"{k}={v}" for k, v in ds.counts().items()))
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    inputs: dict[str, Any] = {"synthetic": args.data}
    params: dict[str, Any] = {}
    if args.mix:
        inputs["synthetic_mix"] = args.mix
        params["alpha"] = 0.5 if args.alpha is None else args.alpha
    elif args.alpha:
        raise ConfigError("--alpha needs --mix (the pool it draws from)", location="--alpha")
    if args.test:
        inputs["test"] = args.test
    if args.references:
        inputs["references"] = args.references
    model = _single_stage(args, f"trainer:{args.trainer}", inputs, args.out, params)["model"]
    for key, value in model.metrics.items():
        if isinstance(value, (int, float, str)):
            print(f"  {key}: {value:.4f}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


def cmd_measure(args: argparse.Namespace) -> int:
    inputs: dict[str, Any] = {"references": args.references, "segmentation": args.segmentation,
                              "payload": args.payload}
    if args.synthetic:
        inputs["synthetic"] = args.synthetic
    metrics = [{"name": m} for m in (args.metrics or ["mi", "similarity"])]
    leakage = _single_stage(args, "stage:measure", inputs, args.out, {"metrics": metrics})["leakage"]
    _table(("metric", "group", "level", "value", "floor", "ceiling", "embedder"),
           [(m.key, m.group, "-" if m.level is None else f"L{m.level}", f"{m.value:.4f}",
             "-" if m.floor is None else f"{m.floor:.4f}",
             "-" if m.ceiling is None else f"{m.ceiling:.4f}", m.embedder or "-") for m in leakage])
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        from spinml_demo.demo import run_demo
    except ImportError as exc:
        raise SpinMLError(f"the demo plugin is not available: {exc}",
                          hint="pip install 'spinml[all]'") from None
    return int(run_demo(args.out, seeds=args.seeds, progress=not args.quiet) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
