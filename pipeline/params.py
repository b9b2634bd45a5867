"""Typed, validated ``params.yaml`` (pydantic).

Every stage loads the whole file with :func:`load_params` before it does any work, so a bad
value anywhere fails at once with a message naming the param: unknown keys are refused,
every number is bounded, and values that only fail together (a frame too small for the
network's poolings, a sample too large for memory) are checked together.

Which params may change a stage's output is stated here, not only in ``dvc.yaml``:
:data:`RUN_ONLY` lists the knobs that cannot (worker and thread counts, download mirrors and
time limits: every file is md5-checked); every other leaf param belongs to some stage's
``params`` in ``dvc.yaml`` (a test checks both ways).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .datasets import DATASETS
from .core.augmentparams import validate as validate_augment
from .core.errors import ParamsError
from .core.filterparams import did_you_mean
from .core.frameparams import BIN_MODES, N_BITS, REPRESENTATIONS, SPLIT_MODES
from .core.plifbackends import BACKEND_CHOICES
from .core.filterparams import validate as validate_filters
from .core.yamlfile import load as load_yaml
from .core.yamlfile import shown

#: Leaf params that cannot change any output, so no stage depends on them.
RUN_ONLY = frozenset({
    "download.mirrors", "download.archive_dir", "download.retries", "download.timeout", "download.deadline",
    "download.max_bytes", "download.min_rate",
    "frames.workers", "train.workers", "train.threads", "train.data_on_device",
})

#: The sections (and top-level params) each stage's output depends on. Their leaves less
#: RUN_ONLY are the stage's ``params`` in ``dvc.yaml`` (a test checks both ways) and its slice
#: (:func:`stage_slice`), which ``check`` writes to ``data/params/<stage>.json`` and the stage
#: depends on: so ``dvc repro <stage>`` runs ``check`` first, and a param of one stage rewrites
#: that stage's slice alone (the others keep their bytes, and DVC skips their stages).
STAGE_SECTIONS = {
    "download": ("dataset", "demo"),
    "frames": ("dataset", "frames"),
    "train": ("model", "train"),
    "evaluate": (),
}

#: The largest sample the frames stage may build: T x C x H' x W' values of :data:`VALUE_BYTES`.
MAX_SAMPLE_BYTES = 256 << 20
#: The largest weight matrix the network may have (elements of its first Linear layer).
MAX_LINEAR_WEIGHTS = 1 << 31
#: ``train.data_on_device: auto`` on CUDA: the splits (train, validation, test; in that order, at
#: the frames file's narrow dtype) are loaded onto the GPU while their bytes together fit in this
#: fraction of its free memory (``torch.cuda.mem_get_info``) when training starts; the rest is
#: left to the model's weights, activations and the allocator. A split that does not fit streams.
DATA_ON_DEVICE_FRACTION = 0.5


#: What YAML 1.1 (PyYAML, and this project before) read as booleans and YAML 1.2 (DVC) reads as
#: strings; a bool param refuses them rather than read `yes` as true where DVC records "yes".
YAML11_BOOLS = frozenset({"y", "yes", "n", "no", "on", "off"})


def strict_bool(v, auto: bool = False):
    """``v`` if it is a YAML boolean (or ``auto`` where allowed), else a ValueError that says
    what to write: pydantic would take ``"yes"``, ``"off"`` or ``1`` as a bool, which DVC
    records as the string or number it is."""
    if isinstance(v, bool) or (auto and v == "auto"):
        return v
    hint = (f" (DVC reads params as YAML 1.2, where {v} is a string, not a boolean)"
            if isinstance(v, str) and v.lower() in YAML11_BOOLS else "")
    raise ValueError(f"must be true or false{' or auto' if auto else ''}{hint}")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DemoParams(_Section):
    """The simulated DvsGesture-like dataset (``dataset: demo``)."""

    seed: int = Field(0, ge=0)
    train_users: int = Field(8, ge=1, le=98)
    test_users: int = Field(2, ge=1, le=98)
    lightings: list[Literal["fluorescent", "fluorescent_led", "lab", "led", "natural"]] = ["fluorescent", "led"]
    repeats: int = Field(2, ge=1, le=50)              # each class this many times per recording
    gesture_ms: int = Field(1200, ge=10, le=60_000)   # mean gesture duration
    gap_ms: int = Field(400, ge=0, le=60_000)         # idle time between gestures
    step_us: int = Field(1000, ge=100, le=100_000)    # simulation time step
    threshold: float = Field(0.4, gt=0, le=10)        # contrast threshold (log intensity)
    noise_hz: float = Field(2000.0, ge=0, le=1e6)     # background activity, events/s over the sensor

    @field_validator("lightings")
    @classmethod
    def _distinct(cls, v):
        if not v or len(set(v)) != len(v):
            raise ValueError("must list one or more distinct lightings")
        return v

    @model_validator(mode="after")
    def _users(self):
        if self.train_users + self.test_users > 99:
            raise ValueError("train_users + test_users must be at most 99 (recordings are named user01..user99)")
        return self


class DownloadParams(_Section):
    mirrors: list[str] = []           # extra URLs of the real archives (http, https, file)
    archive_dir: str = "data/downloads"
    retries: int = Field(3, ge=0, le=100)            # extra attempts per URL after a transient failure
    timeout: float = Field(30.0, gt=0, le=3600)      # seconds without a byte before an attempt fails
    deadline: float = Field(6 * 3600.0, gt=0)        # seconds one file may take from one URL, retries included
    max_bytes: int = Field(8 << 30, ge=1)            # a file whose size the registry does not know stops here
    min_rate: float = Field(10_000.0, ge=0)          # bytes/s: a slower mean over 2 timeouts is a stall


class FramesParams(_Section):
    T: int = Field(16, ge=1)
    # counts per frame (pipeline.frames.integration): number, time (SpikingJelly's), time_bins,
    # event_bins (Tonic's ToFrame(n_time_bins=T) / ToFrame(n_event_bins=T))
    split_by: Literal[SPLIT_MODES] = "number"
    overlap: float = 0.0          # time_bins, event_bins only: the fraction of a bin consecutive frames share, [0, 1)
    # what each frame holds (pipeline.frames.representations): counts (split_by, overlap),
    # voxel_grid (Tonic's ToVoxelGrid: T time bins, one signed channel, float32), binarep
    # (Tonic's ToBinaRep: T x n_bits event bins, n_bits-bit codes)
    representation: Literal[REPRESENTATIONS] = "counts"
    n_bits: int | None = None     # binarep only: bits per frame, 2 to 8
    downsample: int = Field(1, ge=1)
    workers: int = Field(0, ge=0, le=1024)           # 0 = all cores
    # event filters applied to each sample after cutting, before integration, in order: a list
    # of one-key mappings, e.g. [{denoise: {filter_time: 10000}}] (pipeline.frames.filters)
    filters: list[dict[str, dict]] = []
    # datasets without an official train/test split (Tonic's ASLDVS, NCALTECH101): the share of
    # each class that goes to test, drawn from split_seed (ignored where the dataset has a split)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    split_seed: int = Field(0, ge=0)

    @field_validator("filters", mode="before")
    @classmethod
    def _known_filters(cls, v):
        try:
            validate_filters(v, where="frames.filters")     # names, arguments, bounds (the sensor: in frames)
        except ParamsError as e:
            raise ValueError(str(e)) from None
        return [{name: dict(args or {})} for item in v or [] for name, args in item.items()]

    @field_validator("T", "downsample", mode="before")
    @classmethod
    def _strict_int(cls, v):
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"must be a whole number, not {type(v).__name__} {v!r}")
        return v

    @field_validator("overlap", mode="before")
    @classmethod
    def _overlap(cls, v):
        # a number as YAML writes one (DVC records the string "0.5" as a string, not 0.5)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < 1:
            raise ValueError(f"frames.overlap: must be a number in [0, 1) (the fraction of a bin by which "
                             f"consecutive frames overlap), got {shown(v)}")
        return float(v)

    @field_validator("n_bits", mode="before")
    @classmethod
    def _n_bits(cls, v):
        lo, hi = N_BITS
        # a Python int only (JSON records it in the frames file's metadata), not is_n_bits' numpy ints
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi):
            raise ValueError(f"frames.n_bits: must be a whole number from {lo} to {hi} (Bina-Rep's bits per "
                             f"frame; its codes are stored in 8 bits), got {shown(v)}")
        return v


class ModelParams(_Section):
    channels: int = Field(128, ge=1, le=4096)
    blocks: int = Field(5, ge=0, le=16)               # 0: no convolutions, a fully-connected network
    hidden: int = Field(512, ge=1, le=65536)
    votes: int = Field(10, ge=1, le=1000)
    neuron: Literal["plif", "lif"] = "plif"
    pooling: Literal["max", "avg"] = "max"
    tau0: float = Field(2.0, gt=1.0, le=1e6)
    dropout: float = Field(0.5, ge=0.0, lt=1.0)        # before the first Linear layer (one mask over T)
    dropout_hidden: float | None = Field(None, ge=0.0, lt=1.0)  # before the last Linear; 0: none; null: = dropout
    convs: int = Field(1, ge=1, le=16)                   # [conv3x3 BN neuron] layers per block, then a pool
    # BatchNorm in training: per_step normalises each time step with its own batch statistics
    # (the paper's code runs the network one step at a time); joint over all T x B (SpikingJelly 2)
    bn: Literal["per_step", "joint"] = "joint"
    # the PLIF layer's implementation, one of the table pipeline.core.plifbackends.BACKENDS: eager
    # (autograd through the time loop: the reference), numba (fused CPU kernels), compile (the
    # reference loop through torch.compile, one compilation per layer shape), triton (fused GPU
    # kernels), auto (numba on CPU, triton on CUDA); all give the reference's spikes, gradients
    # to fp32 rounding
    backend: Literal[BACKEND_CHOICES] = "auto"


class TrainParams(_Section):
    epochs: int = Field(64, ge=1, le=100_000)
    batch_size: int = Field(16, ge=1, le=65536)      # global: split evenly across the processes of a DDP run
    lr: float = Field(1e-3, gt=0, le=10)
    T_max: int = Field(64, ge=1)                     # cosine annealing period, in epochs
    seed: int = Field(0, ge=0, le=2**63 - 1)
    workers: int = Field(0, ge=0, le=256)            # DataLoader workers (per process)
    threads: int = Field(0, ge=0, le=1024)           # torch intra-op threads, 0 = torch's default
    protocol: Literal["A", "B"] = "B"  # epoch chosen on: A the test set (the paper), B a validation split
    val_fraction: float = Field(0.15, gt=0, lt=1)    # protocol B: held out of each class of the train set
    # protocol B's hold-out: random (a seeded draw per class) or paper (per class, in dataset
    # order, the first ceil((1 - val_fraction) n) train and the rest validate: split_dataset)
    val_split: Literal["random", "paper"] = "random"
    drop_last: bool = False           # drop each epoch's last, partial training batch (the paper does)
    nproc: int = Field(1, ge=1, le=1024)             # > 1: stages/train.py relaunches itself under torchrun
    sync_bn: bool = True              # DDP: BatchNorm statistics over the global batch
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "off", "bf16", "fp16"] = "auto"  # auto: bf16 (else fp16) on CUDA, off on CPU
    channels_last: Literal["auto"] | bool = "auto"         # auto: on CUDA with model.bn joint only
    deterministic: bool = True        # torch.use_deterministic_algorithms, no cuDNN autotuning
    # load each split's frames onto the device once and index batches there (the same batches
    # as streaming); auto: on CUDA when the split fits in DATA_ON_DEVICE_FRACTION of its memory
    data_on_device: Literal["auto"] | bool = "auto"
    # augmentation of each training batch on the device, in order: a list of one-key mappings,
    # e.g. [{flip: {p: 0.5}}, {roll: {max_shift: 5}}] (pipeline.train.augment.events)
    augment: list[dict[str, dict]] = []
    loss: Literal["mse", "ce", "tet"] = "mse"        # mse: the paper's; tet: Deng et al., ICLR 2022
    tet_lambda: float = Field(1e-3, ge=0, le=1)      # TET's lambda: (1 - l) L_TET + l MSE(outputs, 1)

    @field_validator("augment", mode="before")
    @classmethod
    def _known_ops(cls, v):
        try:
            validate_augment(v, where="train.augment")
        except ParamsError as e:
            raise ValueError(str(e)) from None
        return [{name: dict(args or {})} for item in v or [] for name, args in item.items()]

    @field_validator("amp", mode="before")
    @classmethod
    def _yaml_off(cls, v):
        return "off" if v is False else v   # `amp: false` is off (and a bare `off` under `%YAML 1.1`)

    @field_validator("drop_last", "sync_bn", "deterministic", "channels_last", "data_on_device", mode="before")
    @classmethod
    def _strict_bool(cls, v, info):
        return strict_bool(v, auto=info.field_name in ("channels_last", "data_on_device"))

    @model_validator(mode="after")
    def _batch_splits(self):
        if self.batch_size % self.nproc:
            raise ValueError(f"batch_size {self.batch_size} (the global batch) does not split evenly over "
                             f"nproc = {self.nproc} processes")
        return self


class Params(_Section):
    dataset: str = "demo"
    demo: DemoParams = DemoParams()
    download: DownloadParams = DownloadParams()
    frames: FramesParams = FramesParams()
    model: ModelParams = ModelParams()
    train: TrainParams = TrainParams()

    @field_validator("dataset")
    @classmethod
    def _known(cls, v):
        if v not in DATASETS:
            raise ValueError(f"unknown dataset {shown(v, 60)}{did_you_mean(v, DATASETS)}; "
                             "`python -m pipeline datasets` lists them")
        return v

    def frame_shape(self) -> tuple[int, int, int, int]:
        """``(T, C, H', W')`` the network sees: event datasets have 2 polarity channels and the
        sensor divided by downsample; an image dataset's image (C channels) is repeated T times."""
        spec = DATASETS[self.dataset]
        return spec.layout.frame_shape(self.frames.T, spec.sensor_size, self.frames.downsample,
                                       self.frames.representation)


#: How each representation bins the events (why split_by and overlap are for counts only).
_OWN_BINS = {"voxel_grid": "by time into T bins, as Tonic's ToVoxelGrid",
             "binarep": "into T x n_bits event bins, as Tonic's ToBinaRep"}
#: What a frame's values are, for messages, and their bytes while the frames stage builds them:
#: uint32 counts, the voxel grid's float64 sums (stored as float32), uint8 Bina-Rep codes.
_VALUES = {"counts": "counts", "voxel_grid": "voxel-grid sums", "binarep": "Bina-Rep codes"}
VALUE_BYTES = {"counts": 4, "voxel_grid": 8, "binarep": 1}


def frames_problems(split_by: str, overlap: float, representation: str, n_bits: int | None) -> list[tuple[str, str]]:
    """``(param, problem)`` for the frames params that cannot go together: an overlap where the
    windows do not take one, n_bits without Bina-Rep and Bina-Rep without n_bits. Also checked
    by the frames driver's :class:`~pipeline.frames.driver.FrameJob`."""
    problems = []
    if overlap and representation != "counts":
        problems.append(("frames.overlap", f"representation {representation} takes no overlap (it bins the events "
                                           f"its own way: {_OWN_BINS[representation]}; split_by and overlap apply "
                                           f"to counts only), got {overlap!r}"))
    elif overlap and split_by not in BIN_MODES:
        problems.append(("frames.overlap", f"split_by {split_by} takes no overlap (only "
                                           f"{' and '.join(BIN_MODES)} do), got {overlap!r}"))
    lo, hi = N_BITS
    if n_bits is not None and representation != "binarep":
        problems.append(("frames.n_bits", f"only representation binarep takes n_bits, got {n_bits!r} with "
                                          f"representation {representation} (leave it null)"))
    elif n_bits is None and representation == "binarep":
        problems.append(("frames.n_bits", f"representation binarep needs n_bits, the bits per frame ({lo} to {hi}: "
                                          "each frame is n_bits event bins)"))
    return problems


def _check_together(p: Params) -> list[tuple[str, str]]:
    """``(param, problem)`` for each combination of values that cannot work."""
    T, C, H, W = p.frame_shape()
    spec = DATASETS[p.dataset]
    sensor = "x".join(map(str, spec.sensor_size))
    fp = p.frames
    problems = frames_problems(fp.split_by, fp.overlap, fp.representation, fp.n_bits)
    problems += spec.layout.param_problems(p)    # the family's own (an image dataset: downsample 1, blocks >= 1)
    nbytes = VALUE_BYTES[fp.representation] * T * C * H * W
    if not spec.images and nbytes > MAX_SAMPLE_BYTES:
        values = _VALUES[fp.representation]
        problems.append(("frames.T", f"{T} frames of {C}x{H}x{W} {values} take {nbytes / 2**20:.0f} MiB "
                                     f"per sample, over the limit of {MAX_SAMPLE_BYTES >> 20} MiB "
                                     "(lower frames.T or raise frames.downsample)"))
    if p.frames.filters and spec.sensor_size:
        try:                                     # pixel arguments against the dataset's sensor
            validate_filters(p.frames.filters, spec.sensor_size, "frames.filters")
        except ParamsError as e:
            where, _, what = str(e).partition(": ")
            problems.append((where, what))
    blocks = p.model.blocks
    if H >> blocks < 1 or W >> blocks < 1:
        fc = " or model.blocks: 0 (a fully-connected PLIF network)" if min(H, W) == 1 else ""
        problems.append(("frames.downsample", f"{p.frames.downsample} turns the {sensor} sensor into {H}x{W} "
                                              f"frames, too small for model.blocks = {blocks} poolings by 2 "
                                              f"(needs at least {1 << blocks}x{1 << blocks}{fc})"))
    elif (p.model.channels if blocks else C) * (H >> blocks) * (W >> blocks) * p.model.hidden > MAX_LINEAR_WEIGHTS:
        n = (p.model.channels if blocks else C) * (H >> blocks) * (W >> blocks)
        problems.append(("model.hidden", f"a Linear layer of {n} x {p.model.hidden} weights is over the limit "
                                         f"of {MAX_LINEAR_WEIGHTS} (lower model.hidden or raise model.blocks)"))
    return problems


def leaf_names(model: type[BaseModel] = Params, prefix: str = "") -> list[str]:
    """Every leaf param as a dotted name (``frames.T``), in schema order."""
    names = []
    for name, info in model.model_fields.items():
        sub = info.annotation
        if isinstance(sub, type) and issubclass(sub, BaseModel):
            names += leaf_names(sub, f"{prefix}{name}.")
        else:
            names.append(prefix + name)
    return names


def stage_params(stage: str) -> list[str]:
    """The leaf params ``stage`` depends on (``frames.T``, ...; its ``params`` in ``dvc.yaml``),
    in schema order."""
    sections = STAGE_SECTIONS[stage]
    return [name for name in leaf_names() if name.split(".")[0] in sections and name not in RUN_ONLY]


def stage_slice(params: Params, stage: str) -> dict:
    """The values of :func:`stage_params` (validated, defaults filled), by section: what
    ``check`` writes to ``data/params/<stage>.json``, the same bytes while none of them changes
    (``evaluate``, which reads no param: ``{}``)."""
    values = params.model_dump(mode="json")
    out: dict = {}
    for name in stage_params(stage):
        section, _, key = name.partition(".")
        if key:
            out.setdefault(section, {})[key] = values[section][key]
        else:
            out[section] = values[section]
    return out


def _unknown_key(loc: tuple) -> str:
    """What is wrong with the unknown key at ``loc`` (``("train", "epocs")``), with the closest
    key of its section as a hint (``did you mean 'train.epochs'?``), as filters get."""
    model: type[BaseModel] = Params
    for part in loc[:-1]:
        sub = model.model_fields[part].annotation if part in model.model_fields else None
        if not (isinstance(sub, type) and issubclass(sub, BaseModel)):
            return "unknown key"
        model = sub
    prefix = "".join(f"{part}." for part in loc[:-1])
    return "unknown key" + did_you_mean(loc[-1], model.model_fields, prefix)


def validate_params(raw: dict, where: str = "params") -> Params:
    """``raw`` (a parsed params file) as :class:`Params`, or a ParamsError naming each bad param."""
    if not isinstance(raw, dict):
        raise ParamsError(f"{where}: expected a mapping of sections, got {type(raw).__name__}")
    try:
        params = Params.model_validate(raw)
    except ValidationError as e:
        problems = [_problem(err) for err in e.errors()[:20]]
    else:
        problems = [f"{k}: {m}" for k, m in _check_together(params)]
    if problems:
        raise ParamsError(f"{where}: invalid parameters: " + "; ".join(problems))
    return params


def _problem(err: dict) -> str:
    """One pydantic error as ``param: what``; an op list's own message, which names its entry
    (``train.augment[0] flip: argument 'p' = 1.5 must be <= 1``), as it is."""
    name = ".".join(str(p) for p in err["loc"])[:120] or "(top level)"
    if err["type"] == "extra_forbidden":
        return f"{name}: {_unknown_key(err['loc'])}"
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "value_error" and (msg.startswith(name + "[") or msg.startswith(name + ": ")):
        return msg[:300]
    return f"{name}: {err['msg'][:300]} (got {shown(err.get('input'))})"


def load_params(path: str | Path = "params.yaml") -> Params:
    """Parse and validate a params file; errors name the file and the offending params."""
    path = Path(path)
    raw = load_yaml(path, ParamsError)          # as DVC reads it (YAML 1.2), bounded: one line if not
    return validate_params({} if raw is None else raw, str(path))
