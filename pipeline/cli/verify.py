"""``python -m pipeline verify``: re-hash every stage output against ``dvc.lock``.

DVC trusts its own record of a file (size, modification time, inode) and does not re-read it,
so a byte damaged in place (a disk error, an edit through a hard link) leaves ``dvc status``
clean. This reads every output again and computes its md5 as DVC does: a file's md5 is that
of its bytes; a folder's is the md5 of the JSON list of its files' ``{"md5", "relpath"}``,
sorted by path, plus ``.dir``. With ``cache.type hardlink`` an output and its cache copy are
one file, so the cache copy of a damaged output is checked as well, and the advice says
what to do about both.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from ..core.errors import PipelineError
from ..download.fetch import md5sum
from ..core.yamlfile import load as load_yaml

_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


def tree_entries(folder: Path) -> list[dict]:
    """``[{"md5", "relpath"}]`` of every file under ``folder``, sorted by path (DVC's manifest)."""
    entries = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in files:
            path = Path(root) / name
            entries.append({"md5": md5sum(path), "relpath": path.relative_to(folder).as_posix()})
    return sorted(entries, key=lambda e: e["relpath"])


def tree_md5(entries: list[dict]) -> str:
    return hashlib.md5(json.dumps(entries, sort_keys=True).encode("utf-8")).hexdigest() + ".dir"


@dataclass
class Output:
    stage: str
    path: str
    expected: str                     # md5 in dvc.lock (``<md5>.dir`` for a folder)
    actual: str | None = None         # None: missing
    files: list[str] = field(default_factory=list)       # damaged or missing files of a folder
    cache_damaged: list[str] = field(default_factory=list)  # cache objects whose bytes fail their name

    @property
    def ok(self) -> bool:
        return self.actual == self.expected


def _cache_object(cache: Path, md5: str) -> Path:
    """Where DVC 3 keeps the object of ``md5`` in the cache folder ``cache``."""
    objects = cache / "files" / "md5"
    return (objects if objects.is_dir() else cache) / md5[:2] / md5[2:]


def _check_cache(cache: Path | None, md5s: list[str]) -> list[str]:
    """Cache objects among ``md5s`` that exist but whose content no longer has that md5."""
    bad = []
    for md5 in md5s:
        obj = _cache_object(cache, md5) if cache else None
        if obj is not None and obj.is_file() and md5sum(obj) != md5:
            bad.append(str(obj))
    return bad


def _manifest(path: Path) -> dict | None:
    """A folder's manifest in the cache (``relpath -> md5``), None when it is not one (damaged too)."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        return {str(e["relpath"]): str(e["md5"]) for e in entries}
    except (OSError, ValueError, RecursionError, TypeError, KeyError, AttributeError):
        return None


def lock_outputs(lock: Path) -> list[tuple[str, dict]]:
    """``(stage, {"path", "md5"})`` for each output ``lock`` (a dvc.lock) records with an md5;
    a PipelineError naming the file and the entry when it is not shaped as DVC writes it."""
    doc = load_yaml(lock, PipelineError)

    def bad(what: str) -> PipelineError:
        return PipelineError(f"{lock}: not a dvc.lock file ({what}); `dvc repro` writes it again")

    stages = doc.get("stages") if isinstance(doc, dict) else None
    if not isinstance(stages, dict):
        raise bad("no mapping of stages")
    found = []
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            raise bad(f"stage {str(name)[:60]!r} is not a mapping")
        outs = stage.get("outs") or []
        if not isinstance(outs, list):
            raise bad(f"the outs of stage {str(name)[:60]!r} are not a list")
        for out in outs:
            if not isinstance(out, dict) or not isinstance(out.get("path"), str):
                raise bad(f"an output of stage {str(name)[:60]!r} has no path")
            if "md5" not in out:
                continue
            rel = Path(out["path"])
            if rel.is_absolute() or ".." in rel.parts or not isinstance(out["md5"], str) or \
                    not _MD5.fullmatch(out["md5"]):
                raise bad(f"output {out['path'][:80]!r} of stage {str(name)[:60]!r}: not a path in the "
                          "repository with an md5")
            found.append((str(name), {"path": out["path"], "md5": out["md5"]}))
    return found


def check_output(root: Path, stage: str, out: dict, cache: Path | None) -> Output:
    path = root / out["path"]
    result = Output(stage, out["path"], out["md5"])
    if out["md5"].endswith(".dir"):
        if not path.is_dir():
            return result
        entries = tree_entries(path)
        result.actual = tree_md5(entries)
        if result.ok:
            return result
        manifest = _cache_object(cache, out["md5"]) if cache else None
        expected = _manifest(manifest) if manifest is not None and manifest.is_file() else None
        if expected is not None:
            actual = {e["relpath"]: e["md5"] for e in entries}
            result.files = sorted(rel for rel in expected.keys() | actual.keys() if expected.get(rel) != actual.get(rel))
            result.cache_damaged = _check_cache(cache, [expected[r] for r in result.files if r in expected])
        return result
    if path.is_file():
        result.actual = md5sum(path)
        if not result.ok:
            result.cache_damaged = _check_cache(cache, [out["md5"]])
    return result


def dvc_cache_dir(root: Path) -> Path | None:
    """The repository's DVC cache objects folder (``<dvc cache dir>/files/md5``), if DVC can tell."""
    try:
        from dvc.repo import Repo

        with Repo(str(root)) as repo:
            return Path(repo.cache.local.path)
    except Exception:                  # noqa: BLE001 - no repo or no cache: skip the cache checks
        return None


def verify(root: str | Path = ".", cache: str | Path | None = None) -> list[Output]:
    """Every output recorded in ``root/dvc.lock``, re-hashed."""
    root = Path(root)
    lock = root / "dvc.lock"
    if not lock.is_file():
        raise PipelineError(f"{lock} not found: nothing has been run yet (dvc repro), so nothing to verify")
    outs = lock_outputs(lock)
    cache = Path(cache) if cache is not None else dvc_cache_dir(root)
    return [check_output(root, name, out, cache)
            for name, out in tqdm(outs, desc="verify", unit="output", leave=False)]


def report(outputs: list[Output]) -> tuple[str, bool]:
    """A human-readable report, and whether every output matched."""
    lines, bad = [], [o for o in outputs if not o.ok]
    for o in outputs:
        if o.ok:
            lines.append(f"ok       {o.path} ({o.stage})")
            continue
        what = "missing" if o.actual is None else f"damaged (md5 {o.actual}, dvc.lock records {o.expected})"
        lines.append(f"{'MISSING' if o.actual is None else 'DAMAGED'}  {o.path} ({o.stage}): {what}")
        for f in o.files:
            lines.append(f"           file {o.path}/{f} differs")
        for obj in o.cache_damaged:
            lines.append(f"           its cache copy {obj} is damaged too (the same file under cache.type hardlink)")
    if bad:
        lines.append("")
        lines.append("to restore:")
        cached = sorted({obj for o in bad for obj in o.cache_damaged})
        if cached:
            lines.append(f"  rm -f {' '.join(cached)}          # drop the damaged cache copies first")
        for o in bad:
            if o.cache_damaged:
                lines.append(f"  dvc pull {o.path}  ||  dvc repro --force --single-item {o.stage}   "
                             "# from the team remote, else recompute (byte-identical)")
            else:
                lines.append(f"  dvc checkout --force {o.path}        # the cache copy is intact")
    lines.append(f"verify: {len(outputs) - len(bad)} of {len(outputs)} outputs match dvc.lock"
                 + (f"; {len(bad)} damaged or missing" if bad else ""))
    return "\n".join(lines), not bad
