"""Where torch runs and how: the device, intra-op threads, determinism (train and evaluate)."""

from __future__ import annotations

import os

import torch


def pick_device(choice: str = "auto", local_rank: int = 0) -> torch.device:
    """``cuda`` (this rank's GPU) when asked or, for ``auto``, when torch sees one; else ``cpu``."""
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise RuntimeError("train.device is cuda but torch sees no CUDA device")
        return torch.device("cuda", local_rank % torch.cuda.device_count())
    return torch.device("cpu")


def configure_torch(threads: int, deterministic: bool, device: torch.device) -> None:
    """Intra-op threads (0: torch's default), deterministic algorithms, cuDNN autotuning.

    Deterministic algorithms leave ``torch.empty`` uninitialised: torch's default with them
    fills every new tensor with NaN first (``torch.utils.deterministic.fill_uninitialized_memory``,
    a debugging aid against kernels that read memory they never wrote). Every output here is
    written whole before it is read (the Triton kernels: tests/test_triton_*.py), and the fill
    was 13 % of the paper's training step on an H200 (4.9 of 38.5 ms), so it is off."""
    if threads:
        torch.set_num_threads(threads)
    if deterministic and device.type == "cuda":
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")   # before the first cuBLAS call
    torch.use_deterministic_algorithms(deterministic)
    if hasattr(torch.utils, "deterministic"):
        torch.utils.deterministic.fill_uninitialized_memory = False
    torch.backends.cudnn.benchmark = device.type == "cuda" and not deterministic
