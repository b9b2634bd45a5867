"""Issue 27: the PLIF backends have one home, the table of :mod:`pipeline.core.plifbackends`.

Their names were spelled in a ``Literal`` in the params, keyed in ``IMPLEMENTATIONS``, checked
twice in ``model/backends.py``, their devices written as if-chains there, and Numba's CPU
float32/float64 switch written again inside the Numba module. Now the params' choices, the
implementations, ``auto``, the refusals and Numba's switch are all read from the table, and
checking params (the table included) starts neither torch nor Numba.
"""

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.core import plifbackends
from pipeline.core.errors import ParamsError
from pipeline.core.plifbackends import AUTO_FALLBACK, BACKEND_CHOICES, BACKEND_NAMES, BACKENDS
from pipeline.params import ModelParams, validate_params

ROOT = Path(__file__).resolve().parents[2]
TABLE = ROOT / "pipeline" / "core" / "plifbackends.py"


def test_the_params_choices_are_the_tables():
    assert BACKEND_CHOICES == ("auto", *BACKEND_NAMES) == ("auto", *(b.name for b in BACKENDS))
    assert ModelParams.model_fields["backend"].annotation.__args__ == BACKEND_CHOICES
    assert ModelParams().backend == "auto"
    for name in BACKEND_CHOICES:
        assert ModelParams(backend=name).backend == name


def test_the_implementations_are_the_tables():
    from pipeline.model import backends

    assert tuple(backends.IMPLEMENTATIONS) == tuple(backends.MODULES) == backends.BACKENDS == BACKEND_NAMES
    for b in BACKENDS:
        module = importlib.import_module(f"pipeline.model.{b.module}")
        assert b.module.endswith("_plif") and b.module.removesuffix("_plif") == b.name, b
        assert backends.MODULES[b.name] is module
        assert backends.IMPLEMENTATIONS[b.name] is getattr(module, b.function)


def test_every_backend_module_is_imported_by_name():
    """Not through importlib: the stages' deps in dvc.yaml are read from the imports, so a backend's
    module loaded by a computed name would drop out of them (tests/end_to_end/test_stage_deps.py)."""
    from imports import imported_modules

    found = imported_modules(ROOT / "pipeline" / "model" / "backends.py", package="pipeline.model")
    assert {f"pipeline.model.{b.module}" for b in BACKENDS} <= found
    assert "importlib" not in found and "__import__" not in (ROOT / "pipeline" / "model" / "backends.py").read_text()


def _spelled_lists(path: Path) -> list[str]:
    """Tuples, lists, sets and dict keys in ``path`` that hold two backend names or more."""
    names, found = set(BACKEND_NAMES), []
    for node in ast.walk(ast.parse(path.read_text())):
        items = node.keys if isinstance(node, ast.Dict) else getattr(node, "elts", None)
        if not isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)) or items is None:
            continue
        strings = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if len(strings & names) >= 2:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {sorted(strings & names)}")
    return found


def test_no_other_module_spells_the_backend_names():
    assert _spelled_lists(TABLE) == []          # the table itself spells each name once, in its row
    others = [hit for path in sorted((ROOT / "pipeline").rglob("*.py")) if path != TABLE
              for hit in _spelled_lists(path)]
    assert not others, others
    # and no module but the table writes the old Literal, or the Numba module its own dtype switch
    for path in sorted((ROOT / "pipeline").rglob("*.py")):
        text = path.read_text()
        if path != TABLE:
            assert '"numba", "triton"' not in text and "'numba', 'triton'" not in text, path
    numba_src = (ROOT / "pipeline" / "model" / "numba_plif.py").read_text()
    assert "torch.float32, torch.float64" not in numba_src and "_numba_ok" not in numba_src


@pytest.mark.parametrize("name,device,message", [
    ("cupy", "cpu", "model.backend must be 'auto' or one of eager, numba, compile, triton, got 'cupy'"),
    ("", "cuda", "model.backend must be 'auto' or one of eager, numba, compile, triton, got ''"),
    ("numba", "cuda", "model.backend: numba runs Numba kernels on the CPU only, not on cuda; "
                      "use auto (triton on CUDA) or triton"),
    ("numba", "meta", "model.backend: numba runs Numba kernels on the CPU only, not on meta; "
                      "use auto (triton on CUDA) or triton"),
    ("triton", "meta", "model.backend: triton cannot run on meta: it runs on CUDA, or on the CPU under "
                       "TRITON_INTERPRET=1 (slow: for tests); use auto"),
])
def test_each_impossible_backend_is_one_line(name, device, message):
    from pipeline.model.backends import resolve_backend

    with pytest.raises(ParamsError) as e:
        resolve_backend(name, device)
    assert str(e.value) == message and "\n" not in message


def test_triton_refusals_come_from_the_table(monkeypatch):
    from pipeline.model import backends

    monkeypatch.setattr(backends.MODULES["triton"], "INTERPRETED", False)
    with pytest.raises(ParamsError, match=r"^model.backend: triton cannot run on cpu: it runs on CUDA, or on the "
                                          r"CPU under TRITON_INTERPRET=1 \(slow: for tests\); use auto$"):
        backends.resolve_backend("triton", "cpu")
    assert backends.resolve_backend("triton", "cuda") == "triton"
    monkeypatch.setattr(backends.MODULES["triton"], "INTERPRETED", True)
    assert backends.resolve_backend("triton", "cpu") == "triton"
    monkeypatch.setitem(backends.MODULES, "triton", None)
    for kind in ("cpu", "cuda"):
        with pytest.raises(ParamsError, match=rf"^model.backend: triton cannot run on {kind}: Triton does not "
                                              r"import here \(pip install triton\); use auto$"):
            backends.resolve_backend("triton", kind)


def test_auto_is_read_from_the_table(monkeypatch):
    from pipeline.model import backends

    assert AUTO_FALLBACK == "eager" and plifbackends.backend(AUTO_FALLBACK).devices is None   # runs anywhere
    assert [backends.resolve_backend("auto", d) for d in ("cpu", "cuda", "cuda:1", "meta")] == \
        ["numba", "triton", "triton", "eager"]
    monkeypatch.setitem(backends.MODULES, "triton", None)
    assert [backends.resolve_backend("auto", d) for d in ("cpu", "cuda", "meta")] == ["numba", "eager", "eager"]


def test_a_bad_name_in_params_is_one_line_naming_the_choices():
    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["model"] = {**raw.get("model", {}), "backend": "cupy"}
    with pytest.raises(ParamsError) as e:
        validate_params(raw, "params.yaml")
    assert "\n" not in str(e.value) and "model.backend" in str(e.value)
    assert all(repr(name) in str(e.value) for name in BACKEND_CHOICES)
    with pytest.raises(ParamsError, match="model.backend must be 'auto' or one of"):
        plifbackends.check_backend_name("cupy")
    plifbackends.check_backend_name("auto")


def test_numba_takes_what_the_table_says():
    import torch

    from pipeline.model import numba_plif

    numba = plifbackends.backend("numba")
    assert numba.devices == ("cpu",) and numba.kernel_dtypes == ("float32", "float64")
    for dtype in (torch.float32, torch.float64, torch.float16, torch.bfloat16):
        x = torch.zeros(2, 3, dtype=dtype)
        expected = str(dtype).removeprefix("torch.") in numba.kernel_dtypes
        assert numba_plif.kernels_take(x) is expected
        assert plifbackends.kernels_take("numba", "cuda", str(dtype).removeprefix("torch.")) is False
    # CPU half runs the same loops as torch operations, with the reference's spikes
    x = torch.tensor([[1.5], [0.2], [2.0]], dtype=torch.float16)
    w = torch.tensor(0.0, dtype=torch.float16)
    assert numba_plif.plif_multistep_fused(x, w).flatten().tolist() == [0.0, 0.0, 1.0]


def test_the_table_starts_neither_torch_nor_numba():
    code = ("import sys, pipeline.core.plifbackends, pipeline.params; "
            "pipeline.params.ModelParams(backend='numba'); "
            "print('torch' in sys.modules, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert out == "False False\n"
