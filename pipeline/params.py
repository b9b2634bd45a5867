"""Typed, validated views of the sections of ``params.yaml`` (pydantic).

Each stage reads only its own sections; a bad value fails before any work with a message
naming the section, the field and what is wrong.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PositiveInt, ValidationError, field_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoParams(_Section):
    """The simulated DvsGesture-like dataset (``dataset: demo``)."""

    seed: int = 0
    train_users: PositiveInt = 8
    test_users: PositiveInt = 2
    lightings: list[Literal["fluorescent", "fluorescent_led", "lab", "led", "natural"]] = ["fluorescent", "led"]
    repeats: PositiveInt = 2          # each class this many times per recording
    gesture_ms: PositiveInt = 1200    # mean gesture duration
    gap_ms: int = Field(400, ge=0)    # idle time between gestures
    step_us: PositiveInt = 1000       # simulation time step
    threshold: float = Field(0.4, gt=0)  # contrast threshold (log intensity)
    noise_hz: float = Field(2000.0, ge=0)  # background activity, events/s over the sensor


class DownloadParams(_Section):
    mirrors: list[str] = []           # extra URLs of the real archive (http, https, file)
    archive_dir: str = "data/downloads"
    retries: int = Field(5, ge=0)
    timeout: float = Field(60.0, gt=0)


class FramesParams(_Section):
    T: PositiveInt = 16
    split_by: Literal["number", "time"] = "number"
    downsample: PositiveInt = 1
    workers: int = Field(0, ge=0)     # 0 = all cores


class ModelParams(_Section):
    channels: PositiveInt = 128
    blocks: PositiveInt = 5
    hidden: PositiveInt = 512
    votes: PositiveInt = 10
    neuron: Literal["plif", "lif"] = "plif"
    pooling: Literal["max", "avg"] = "max"
    tau0: float = Field(2.0, gt=1.0)
    dropout: float = Field(0.5, ge=0.0, lt=1.0)


class TrainParams(_Section):
    epochs: PositiveInt = 64
    batch_size: PositiveInt = 16      # global: split evenly across the processes of a DDP run
    lr: float = Field(1e-3, gt=0)
    T_max: PositiveInt = 64           # cosine annealing period, in epochs
    seed: int = Field(0, ge=0)
    workers: int = Field(0, ge=0)     # DataLoader workers (per process)
    threads: int = Field(0, ge=0)     # torch intra-op threads, 0 = torch's default
    protocol: Literal["A", "B"] = "B"  # epoch chosen on: A the test set (the paper), B a validation split
    val_fraction: float = Field(0.15, gt=0, lt=1)  # protocol B: held out of each class of the train set
    nproc: PositiveInt = 1            # > 1: stages/train.py relaunches itself under torchrun (one node)
    sync_bn: bool = True              # DDP: BatchNorm statistics over the global batch
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 (else fp16) on CUDA, off on CPU
    channels_last: Literal["auto"] | bool = "auto"         # auto: on CUDA only
    deterministic: bool = True        # torch.use_deterministic_algorithms, no cuDNN autotuning

    @field_validator("amp", mode="before")
    @classmethod
    def _yaml_off(cls, v):
        return "off" if v is False else v   # YAML 1.1 reads a bare `off` as false


class Params(_Section):
    dataset: Literal["demo", "dvsgesture", "nmnist", "cifar10_dvs"] = "demo"
    demo: DemoParams = DemoParams()
    download: DownloadParams = DownloadParams()
    frames: FramesParams = FramesParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()


class ParamsError(ValueError):
    """params.yaml has a missing, unknown or out-of-range value."""


def load_params(path: str | Path = "params.yaml") -> Params:
    """Parse and validate ``params.yaml``; errors name the file and the offending field."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as e:
        raise ParamsError(f"{path}: cannot read parameters: {e}") from e
    try:
        return Params.model_validate(raw)
    except ValidationError as e:
        lines = [f"{path}: invalid parameters:"]
        for err in e.errors():
            where = ".".join(str(p) for p in err["loc"])
            lines.append(f"  {where}: {err['msg']} (got {err.get('input')!r})")
        raise ParamsError("\n".join(lines)) from None
