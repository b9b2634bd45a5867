"""The PLIF layer's backends (``model.backend``), in one table, without torch or Numba.

Every backend gives the spikes of :func:`pipeline.model.eager_plif.plif_multistep` (the
reference) bit for bit in float32 and float64, and its gradients to float rounding. What each
one is, where it runs and what is said when it cannot is written here once; the rest is derived:
the choices of ``model.backend`` (``Literal[BACKEND_CHOICES]`` in :mod:`pipeline.params`), the
implementations (:data:`pipeline.model.backends.IMPLEMENTATIONS`, each ``function`` of
``pipeline.model.<module>``), the choice of ``auto`` and the one-line refusals
(:func:`pipeline.model.backends.resolve_backend`), and which inputs the Numba kernels take
(:func:`kernels_take`, read by :mod:`pipeline.model.numba_plif`).

Checking params imports this module and nothing heavier: the ``check`` stage starts neither
torch nor Numba.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import ParamsError


@dataclass(frozen=True)
class Backend:
    """One PLIF implementation: ``pipeline.model.<module>.<function>(x_seq, w, firing) -> spikes``."""

    name: str                        # as written in params.yaml (model.backend)
    module: str                      # its module under pipeline.model
    function: str                    # the implementation in that module
    summary: str                     # what it is, in a line
    #: device types (``torch.device(...).type``) it runs on; None: any device
    devices: tuple[str, ...] | None = None
    #: further device types it runs on only while its module's ``INTERPRETED`` is true
    #: (Triton's interpreter, under ``TRITON_INTERPRET=1``)
    interpreted: tuple[str, ...] = ()
    #: on its devices, the dtypes its kernels take; any other dtype runs the same loops as torch
    #: operations (None: its kernels take every dtype)
    kernel_dtypes: tuple[str, ...] | None = None
    #: the refusal on another device: why, and what to use instead ("{device}" is filled in)
    elsewhere: str = ""
    #: its module needs an optional package: the refusal on any device when it does not import
    #: ("" : a required module, whose ImportError propagates)
    unimportable: str = ""


#: every backend, in the order they are listed to the user
BACKENDS: tuple[Backend, ...] = (
    Backend("eager", "eager_plif", "plif_multistep",
            "the reference itself: autograd through the time loop (any device)"),
    Backend("numba", "numba_plif", "plif_multistep_fused",
            "a hand-written forward and backward as Numba kernels, parallel over blocks of neurons "
            "(CPU only; half precision on CPU runs the same loops as torch operations)",
            devices=("cpu",), kernel_dtypes=("float32", "float64"),
            elsewhere="numba runs Numba kernels on the CPU only, not on {device}; use auto (triton on CUDA) or triton"),
    Backend("compile", "compile_plif", "plif_multistep_compiled",
            "the reference loop through torch.compile: one compilation per input shape, seconds each; "
            "only when asked for by name"),
    Backend("triton", "triton_plif", "plif_multistep_triton",
            "a hand-written forward and backward as two Triton kernels, compiled once per dtype "
            "(CUDA; CPU tensors under TRITON_INTERPRET=1); the state is float32 under bf16/fp16 autocast",
            devices=("cuda",), interpreted=("cpu",),
            elsewhere="triton cannot run on {device}: it runs on CUDA, or on the CPU under TRITON_INTERPRET=1 "
                      "(slow: for tests); use auto",
            unimportable="triton cannot run on {device}: Triton does not import here (pip install triton); use auto"),
)

BACKEND_NAMES: tuple[str, ...] = tuple(b.name for b in BACKENDS)
#: what ``model.backend`` may be
BACKEND_CHOICES: tuple[str, ...] = ("auto", *BACKEND_NAMES)

#: ``auto``: on each device type, the first of these that can run there; else :data:`AUTO_FALLBACK`
#: (numba on CPU; triton on CUDA where Triton imports, else eager; eager on any other device)
AUTO: dict[str, tuple[str, ...]] = {"cpu": ("numba",), "cuda": ("triton",)}
AUTO_FALLBACK = "eager"

_BY_NAME = {b.name: b for b in BACKENDS}


def backend(name: str) -> Backend:
    """The table's row for ``name``; a one-line :class:`ParamsError` for a name it lacks."""
    if name not in _BY_NAME:
        raise ParamsError(f"model.backend must be 'auto' or one of {', '.join(BACKEND_NAMES)}, got {name!r}")
    return _BY_NAME[name]


def check_backend_name(name: str) -> None:
    """``name`` is ``"auto"`` or a backend's name, or a one-line :class:`ParamsError` says it is not."""
    if name != "auto":
        backend(name)


def refusal(name: str, device: str, imported: bool, interpreted: bool = False) -> str | None:
    """Why backend ``name`` cannot run on device type ``device`` (None: it can), given whether its
    module imported here and, if so, whether it runs its kernels in an interpreter."""
    b = backend(name)
    if not imported:
        return b.unimportable.format(device=device)
    if b.devices is None or device in b.devices or (interpreted and device in b.interpreted):
        return None
    return b.elsewhere.format(device=device)


def auto_candidates(device: str) -> tuple[str, ...]:
    """What ``auto`` tries on device type ``device``, in order: the first that can run there."""
    return (*AUTO.get(device, ()), AUTO_FALLBACK)


def kernels_take(name: str, device: str, dtype: str) -> bool:
    """Whether backend ``name``'s kernels take a ``dtype`` (``"float32"``, ...) input on device type
    ``device``; where not, its module runs the same loops as torch operations (Numba: CPU
    float32/float64 in the kernels, CPU half through torch ops)."""
    b = backend(name)
    return ((b.devices is None or device in b.devices)
            and (b.kernel_dtypes is None or dtype in b.kernel_dtypes))
