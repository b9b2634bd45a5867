"""The peers we compare with: Tonic and SpikingJelly, each imported if it can be.

Neither is needed by the pipeline. A peer that cannot be imported is reported (with the
reason) and its rows are skipped; everything else still runs.

SpikingJelly's ``spikingjelly.datasets`` package imports torchvision (and matplotlib) when
it is imported. Where torchvision cannot load (e.g. PyPI's torchvision next to a CPU-only
torch: its compiled ops need CUDA libraries) we load the one module we use,
``spikingjelly/datasets/utils.py``, from SpikingJelly's installed files with stand-ins for
those two imports, which the functions we call (``load_aedat_v3``,
``integrate_events_by_fixed_frames_number``, ``load_npz_frames``) never touch. The code
measured is SpikingJelly's own, unchanged; the report says when this was done.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path

from .common import installed_version


@dataclass
class Peer:
    name: str
    available: bool
    version: str | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)
    parts: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"available": self.available, "version": self.version, "error": self.error, "notes": self.notes,
                "parts": sorted(self.parts)}

    def get(self, part: str):
        return self.parts.get(part)

    def missing(self, part: str) -> str:
        """Why ``part`` is not there, for a skipped row."""
        if not self.available:
            return f"{self.name} not importable ({self.error})"
        return f"{self.name}: {part} not available ({'; '.join(self.notes) or 'unknown reason'})"


def _short(e: BaseException) -> str:
    text = f"{type(e).__name__}: {e}".strip()
    return text.splitlines()[0][:200]


def load_tonic() -> Peer:
    try:
        from tonic.transforms import ToFrame
    except Exception as e:  # noqa: BLE001 - any failure to import means "not available"
        return Peer("tonic", False, error=_short(e))
    peer = Peer("tonic", True, installed_version("tonic"), parts={"ToFrame": ToFrame})
    for part in ("ToVoxelGrid", "ToBinaRep"):        # 2b.; older Tonic releases lack them
        try:
            peer.parts[part] = getattr(importlib.import_module("tonic.transforms"), part)
        except Exception as e:  # noqa: BLE001
            peer.notes.append(f"tonic.transforms.{part} not importable: {_short(e)}")
    return peer


def _sj_utils_standalone():
    """``spikingjelly.datasets.utils`` without running ``spikingjelly/datasets/__init__.py``."""
    import spikingjelly

    path = Path(spikingjelly.__file__).parent / "datasets" / "utils.py"
    stand_ins = {}
    for name in ("torchvision", "torchvision.transforms", "matplotlib", "matplotlib.pyplot"):
        mod = sys.modules.get(name)
        if mod is None or name.startswith("torchvision"):
            stand_ins[name] = types.ModuleType(name)
    stand_ins.get("torchvision", types.ModuleType("torchvision")).transforms = stand_ins.get("torchvision.transforms")
    if "matplotlib" in stand_ins:
        stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]
    saved = {name: sys.modules.get(name) for name in [*stand_ins, "spikingjelly.datasets"]}
    package = types.ModuleType("spikingjelly.datasets")
    package.__path__ = [str(path.parent)]
    try:
        sys.modules.update(stand_ins)
        sys.modules["spikingjelly.datasets"] = package
        spec = importlib.util.spec_from_file_location("spikingjelly.datasets.utils", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
        sys.modules.pop("spikingjelly.datasets.utils", None)


def load_spikingjelly() -> Peer:
    logging.getLogger("torch._library").setLevel(logging.ERROR)   # "Triton not available" on CPU
    try:
        import spikingjelly  # noqa: F401
    except Exception as e:  # noqa: BLE001
        return Peer("spikingjelly", False, error=_short(e))
    peer = Peer("spikingjelly", True, installed_version("spikingjelly"))
    try:
        from loguru import logger
        logger.remove()                       # SpikingJelly logs op selection at INFO level
        logger.add(sys.stderr, level="WARNING")
    except Exception:  # noqa: BLE001
        pass
    try:
        utils = importlib.import_module("spikingjelly.datasets.utils")
    except Exception as e:  # noqa: BLE001
        try:
            utils = _sj_utils_standalone()
            peer.notes.append(f"spikingjelly.datasets does not import here ({_short(e)}); "
                              "its utils.py was loaded by itself, with stand-ins for torchvision/matplotlib")
        except Exception as e2:  # noqa: BLE001
            utils = None
            peer.notes.append(f"spikingjelly.datasets.utils not importable: {_short(e)}; standalone: {_short(e2)}")
    if utils is not None:
        for part in ("load_aedat_v3", "integrate_events_by_fixed_frames_number", "load_npz_frames"):
            if hasattr(utils, part):
                peer.parts[part] = getattr(utils, part)
    try:
        from spikingjelly.activation_based import neuron, surrogate
        peer.parts["ParametricLIFNode"] = neuron.ParametricLIFNode
        peer.parts["ATan"] = surrogate.ATan
    except Exception as e:  # noqa: BLE001
        peer.notes.append(f"spikingjelly.activation_based not importable: {_short(e)}")
    try:  # the plain autograd formulation (SpikingJelly 2's reference; older releases' torch backend)
        from spikingjelly._ops.plif.reference import multi_step
        peer.parts["plif_reference"] = multi_step
    except Exception:  # noqa: BLE001
        pass
    if not peer.parts:
        peer.available = False
        peer.error = "; ".join(peer.notes)
    return peer


def load_all() -> dict[str, Peer]:
    return {"tonic": load_tonic(), "spikingjelly": load_spikingjelly()}
