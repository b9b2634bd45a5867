"""dvc.yaml declares exactly what each stage depends on, derived here from the source.

Code: a stage's ``deps`` must list every project module its script imports, directly or not
(package ``__init__`` files and imports inside functions included), computed with ``ast``
without importing anything; and no module it does not import, so that touching a module
reruns exactly the stages that use it.

Params: every leaf param that can change an output (all but ``pipeline.params.RUN_ONLY``)
belongs to some stage, and no stage lists a run-only knob.
"""

from pathlib import Path

import pytest
import yaml

from imports import PROJECT, ROOT, closure, imported_modules
from pipeline.params import RUN_ONLY, leaf_names

DVC = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]


def declared(stage: dict) -> set[Path]:
    """The project source files a stage's deps cover (a folder dep covers its .py files)."""
    files = set()
    for dep in stage.get("deps", []):
        path = ROOT / dep
        if path.suffix == ".py":
            files.add(path)
        elif path.is_dir() and dep.split("/")[0] in (PROJECT, "stages"):
            files.update(path.rglob("*.py"))
    return files


def rel(paths) -> list[str]:
    return sorted(p.relative_to(ROOT).as_posix() for p in paths)


@pytest.mark.parametrize("stage", sorted(DVC))
def test_deps_are_the_import_closure(stage):
    script = ROOT / "stages" / f"{stage}.py"
    assert DVC[stage]["cmd"] == f"python stages/{stage}.py"
    needed, listed = closure(script), declared(DVC[stage])
    missing, extra = rel(needed - listed), rel(listed - needed)
    assert not missing, f"dvc.yaml stage {stage!r} misses deps its script imports: {missing}"
    assert not extra, f"dvc.yaml stage {stage!r} lists deps its script does not import: {extra}"


def test_the_closure_sees_imports_inside_functions_and_package_inits(tmp_path):
    """The import walk itself, on the modules whose imports it must not miss."""
    frames = closure(ROOT / "stages" / "frames.py")
    assert ROOT / "pipeline" / "__init__.py" in frames                   # the version in every file
    assert ROOT / "pipeline" / "io" / "__init__.py" in frames            # from .io import READERS
    assert ROOT / "pipeline" / "io" / "jaer.py" in frames                # through pipeline/io/__init__.py
    src = tmp_path / "m.py"
    src.write_text("def f():\n    from pipeline.model import numba_plif\n    import pipeline.evaluate.stage\n"
                   "class C:\n    from ...io import jaer\n")
    found = imported_modules(src, package="pipeline.cli.preview")
    assert {"pipeline.model", "pipeline.model.numba_plif", "pipeline.evaluate.stage", "pipeline.io.jaer"} <= found


def test_closures_stay_small():
    """Readers do not reach the download stage, nor training code the frames stage, nor the
    training loop evaluate (each would rerun a stage for a change that cannot affect it)."""
    names = {s: {p.relative_to(ROOT).as_posix() for p in closure(ROOT / "stages" / f"{s}.py")} for s in DVC}
    assert not {n for n in names["download"] if n.startswith(("pipeline/io/", "pipeline/frames/"))}
    assert not {n for n in names["frames"] if n.startswith(("pipeline/download/", "pipeline/model/",
                                                            "pipeline/train/"))}
    assert "pipeline/train/stage.py" not in names["evaluate"]


def leaf_params(stage: dict) -> set[str]:
    listed = set()
    for p in stage.get("params", []):
        if p == {"params.yaml": None}:           # the whole file: the `check` stage alone
            continue
        assert isinstance(p, str), f"params in dvc.yaml are listed by name, got {p!r}"
        listed.add(p)
    return listed


def test_check_alone_tracks_the_whole_params_file():
    """`check` validates params.yaml on every repro whose params differ from a checked set: it
    depends on every param (run-only knobs and unknown keys included); no other stage does."""
    whole = [s for s, stage in DVC.items() if {"params.yaml": None} in stage.get("params", [])]
    assert whole == ["check"] and DVC["check"]["params"] == [{"params.yaml": None}]
    assert list(DVC)[0] == "check" and DVC["check"]["outs"] == ["data/params.json", "data/params"]


def test_every_stage_depends_on_its_slice_of_the_checked_params():
    """`check` writes each stage's params, validated, to data/params/<stage>.json and the stage
    depends on that file: a targeted `dvc repro <stage>` runs `check` first. The slice holds
    exactly the params the stage lists in dvc.yaml (pipeline.params.STAGE_SECTIONS), so a
    param of another stage leaves its bytes alone (test_dvc_pipeline_checks.py runs the targeted repro, test_dvc_pipeline_reruns.py the other stage's param)."""
    from pipeline.params import STAGE_SECTIONS, stage_params

    assert set(STAGE_SECTIONS) == set(DVC) - {"check"}
    for stage in STAGE_SECTIONS:
        assert f"data/params/{stage}.json" in DVC[stage]["deps"], stage
        assert set(stage_params(stage)) == leaf_params(DVC[stage]), stage
        others = [d for d in DVC[stage]["deps"] if d.startswith("data/params")]
        assert others == [f"data/params/{stage}.json"], f"{stage} depends on another stage's params: {others}"


def test_every_param_that_changes_an_output_belongs_to_a_stage():
    leaves = set(leaf_names())
    listed = {p for s in DVC.values() for p in leaf_params(s)}
    unknown = listed - leaves
    assert not unknown, f"dvc.yaml lists params that params.yaml does not have: {sorted(unknown)}"
    assert RUN_ONLY <= leaves, sorted(RUN_ONLY - leaves)
    orphans = leaves - RUN_ONLY - listed
    assert not orphans, f"params no stage depends on (add them to a stage, or to RUN_ONLY): {sorted(orphans)}"
    run_only = listed & RUN_ONLY
    assert not run_only, f"run-only params listed as stage params (they cannot change a result): {sorted(run_only)}"


def test_each_stage_lists_the_sections_it_reads():
    """Leaf params per stage, as the stage table of docs/stages.md states them."""
    sections = {s: {p.split(".")[0] for p in leaf_params(DVC[s])} for s in DVC}
    assert sections == {"check": set(), "download": {"dataset", "demo"}, "frames": {"dataset", "frames"},
                        "train": {"model", "train"}, "evaluate": set()}
    assert leaf_params(DVC["frames"]) == {"dataset", "frames.T", "frames.split_by", "frames.overlap",
                                          "frames.representation", "frames.n_bits", "frames.downsample",
                                          "frames.filters", "frames.test_fraction", "frames.split_seed"}
