"""Params files: every shipped config is valid (never the user-editable params.yaml); bad values,
unknown keys and combinations that cannot work fail before any stage works, naming the param."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.core.errors import ParamsError
from pipeline.params import MAX_SAMPLE_BYTES, leaf_names, load_params

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
DEMO = ROOT / "configs" / "demo.yaml"


@pytest.mark.parametrize("config", CONFIGS, ids=lambda p: p.name)
def test_every_shipped_config_is_valid_and_complete(config):
    """Valid, and spells out every param (a user copies it over params.yaml and edits it)."""
    load_params(config)
    raw = yaml.safe_load(config.read_text())
    given = {f"{name}.{key}" if isinstance(section, dict) else name
             for name, section in raw.items() for key in (section if isinstance(section, dict) else [None])}
    assert set(leaf_names()) == given


def test_demo_config_is_the_demo():
    p = load_params(DEMO)
    assert p.dataset == "demo" and p.frame_shape() == (16, 2, 32, 32)


def test_paper_config_for_dvsgesture():
    p = load_params(ROOT / "configs" / "dvsgesture-paper.yaml")
    assert p.dataset == "dvsgesture"
    assert (p.frames.T, p.frames.downsample) == (20, 1)
    assert (p.model.channels, p.model.blocks, p.model.hidden, p.model.votes) == (128, 5, 512, 10)
    assert (p.model.neuron, p.model.pooling, p.model.tau0, p.model.dropout) == ("plif", "max", 2.0, 0.5)
    assert (p.train.batch_size, p.train.lr, p.train.T_max) == (16, 1e-3, 64)
    assert (p.train.protocol, p.train.val_fraction, p.train.sync_bn, p.train.deterministic) == ("B", 0.15, True, True)


@pytest.mark.parametrize("name,T,blocks,hidden,linear_in", [("nmnist", 10, 2, 2048, 8192),
                                                             ("cifar10_dvs", 20, 4, 2048, 8192)])
def test_paper_configs_other_datasets(name, T, blocks, hidden, linear_in):
    from pipeline.datasets import get

    p = load_params(ROOT / "configs" / f"{name}-paper.yaml")
    spec = get(name)
    assert p.dataset == name and spec.config == f"configs/{name}-paper.yaml"
    assert (p.frames.T, p.frames.downsample, p.model.blocks, p.model.hidden, p.model.channels) == (T, 1, blocks, hidden, 128)
    H, W = spec.sensor_size
    assert p.model.channels * (H >> blocks) * (W >> blocks) == linear_in
    assert (p.train.batch_size, p.train.lr, p.train.T_max, p.model.votes) == (16, 1e-3, 64, 10)


def write(tmp_path, patch, top=None) -> Path:
    raw = yaml.safe_load(DEMO.read_text())
    for k, v in patch.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) else v
    raw.update(top or {})
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize("patch,msg", [
    ({"frames": {"T": 0}}, "frames.T"),
    ({"frames": {"T": True}}, "frames.T"),                    # YAML `T: true` is not 1
    ({"frames": {"T": 2.0}}, "frames.T"),                     # nor is a float
    ({"frames": {"T": "16"}}, "frames.T"),
    ({"frames": {"downsample": True}}, "frames.downsample"),
    ({"frames": {"split_by": "frames"}}, "frames.split_by"),
    ({"frames": {"Tt": 3}}, "frames.Tt"),
    ({"frames": {"bogus": 3}}, "frames.bogus"),
    ({"dataset": "mnist"}, "dataset"),
    ({"model": {"tau0": 1.0}}, "model.tau0"),
    ({"model": {"blocks": -1}}, "model.blocks"),
    ({"train": {"protocol": "C"}}, "train.protocol"),
    ({"train": {"val_fraction": 1.0}}, "train.val_fraction"),
    ({"train": {"amp": "fp8"}}, "train.amp"),
    ({"train": {"device": "tpu"}}, "train.device"),
    ({"train": {"batch_size": 15, "nproc": 2}}, "train"),     # the global batch splits evenly
    ({"train": {"workers": -1}}, "train.workers"),
    ({"demo": {"train_users": 90, "test_users": 20}}, "demo"),
    ({"demo": {"lightings": ["led", "led"]}}, "demo.lightings"),
    ({"download": {"timeout": 0}}, "download.timeout"),
])
def test_bad_params_name_the_field(tmp_path, patch, msg):
    path = write(tmp_path, patch)
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(path) in str(e.value) and msg in str(e.value)


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ParamsError, match="foo"):
        load_params(write(tmp_path, {}, top={"foo": 1}))


@pytest.mark.parametrize("text", ["- a\n- b\n", "frames: [\n", "frames: 3\n"])
def test_a_file_that_is_not_params(tmp_path, text):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=str(path)):
        load_params(path)


def test_values_that_only_fail_together(tmp_path):
    # 10 million frames of 2 x 32 x 32 counts: 80 GB per sample (died inside h5py before)
    with pytest.raises(ParamsError, match=r"frames\.T: 10000000 frames of 2x32x32 counts take 78125 MiB"):
        load_params(write(tmp_path, {"frames": {"T": 10_000_000}}))
    # the largest T that fits the bound passes
    limit = MAX_SAMPLE_BYTES // (4 * 2 * 32 * 32)
    assert load_params(write(tmp_path, {"frames": {"T": limit}})).frames.T == limit
    with pytest.raises(ParamsError, match=r"frames\.T: "):
        load_params(write(tmp_path, {"frames": {"T": limit + 1}}))
    # downsample 1000 makes 1x1 frames, which 3 poolings by 2 cannot take (failed in train before)
    with pytest.raises(ParamsError, match=r"frames\.downsample: 1000 turns the 128x128 sensor into 1x1 frames, "
                                          r"too small for model\.blocks = 3"):
        load_params(write(tmp_path, {"frames": {"downsample": 1000}}))
    # 128 / 16 = 8 pixels: 3 poolings fit (8 -> 1), 4 do not
    assert load_params(write(tmp_path, {"frames": {"downsample": 16}})).frame_shape() == (16, 2, 8, 8)
    with pytest.raises(ParamsError, match="model.blocks = 4"):
        load_params(write(tmp_path, {"frames": {"downsample": 16}, "model": {"blocks": 4}}))
    # 512 channels x 16 x 16 after 3 poolings of 128 x 128, times 65536: 2**33 weights
    with pytest.raises(ParamsError, match=r"model\.hidden: a Linear layer of 131072 x 65536 weights"):
        load_params(write(tmp_path, {"frames": {"downsample": 1}, "model": {"channels": 512, "hidden": 65536}}))


def test_check_command_and_stage_errors_are_one_line(tmp_path):
    """`python -m pipeline check` and a stage report a bad params file in one line, no traceback."""
    bad = write(tmp_path, {"frames": {"T": 0, "bogus": 1}})
    r = subprocess.run([sys.executable, "-m", "pipeline", "check", str(bad)], capture_output=True, text=True,
                       cwd=ROOT)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "frames.T" in lines[0] and "frames.bogus" in lines[0]
    r = subprocess.run([sys.executable, str(ROOT / "stages" / "frames.py")], capture_output=True, text=True,
                       cwd=tmp_path, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [lines[0].replace("python -m pipeline check", "frames")
                                             .replace(str(bad), "params.yaml")]
    ok = subprocess.run([sys.executable, "-m", "pipeline", "check", str(DEMO)], capture_output=True, text=True,
                        cwd=ROOT)
    assert ok.returncode == 0 and "valid" in ok.stdout


def test_a_one_dimensional_sensor_needs_the_fully_connected_network():
    import yaml

    from pipeline.core.errors import ParamsError
    from pipeline.params import validate_params

    raw = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    raw["dataset"] = "tonic.SHD"
    raw["frames"]["downsample"] = 1
    with pytest.raises(ParamsError, match=r"model.blocks: 0 \(a fully-connected PLIF network\)"):
        validate_params(raw)
    raw["model"]["blocks"] = 0
    assert validate_params(raw).frame_shape() == (raw["frames"]["T"], 2, 1, 700)


def check_child(path: Path, timeout=60, memory: int | None = None) -> subprocess.CompletedProcess:
    """`python -m pipeline check <path>` in a child (its address space limited to ``memory``
    bytes, where given), which prints its peak memory after ``PEAK``."""
    import resource

    code = ("import sys\nfrom pipeline.cli.main import main\n"
            "try:\n    code = main(['check', sys.argv[1]])\nexcept SystemExit as e:\n    code = e.code\n"
            "hwm = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:'))\n"
            "print('PEAK', hwm * 1024)\nsys.exit(code)\n")
    limit = (lambda: resource.setrlimit(resource.RLIMIT_AS, (memory, memory))) if memory else None
    return subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=timeout, preexec_fn=limit)


def alias_bomb() -> str:
    """About 600 bytes of anchors: 9**9 leaves once expanded (it ran past 120 s and 1.4 GB)."""
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "frames:\n  filters: []\nbomb:\n" + "\n".join("  " + line for line in lines) + "\n"


@pytest.mark.parametrize("text, what", [
    (alias_bomb(), "an alias \\(\\*name\\): YAML anchors and aliases are not allowed here"),
    ("frames:\n  T: " + "[" * 100_000 + "]" * 100_000 + "\n", "collections nested more than 64 deep"),
    ("frames:\n  T: &t 16\n  downsample: *t\n", "an alias"),
], ids=["alias-bomb", "deep-list", "one-alias"])
def test_yaml_bombs_are_refused_in_one_line(tmp_path, text, what):
    path = tmp_path / "params.yaml"
    path.write_text(text)
    assert len(text.encode()) < 250_000
    r = check_child(path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"python -m pipeline check: error: {path}: not valid YAML here")
    assert __import__("re").search(what, lines[0]), lines[0]
    peak = int(r.stdout.split("PEAK")[1])
    assert peak < (256 << 20) + 4 * len(text.encode())


def test_error_messages_show_values_briefly(tmp_path):
    """A long value is cut (the message formatted whole inputs before: a 9**9-leaf list would
    have been printed in full)."""
    path = write(tmp_path, {"frames": {"split_by": "x" * 100_000}, "model": {"channels": list(range(10_000))}})
    with pytest.raises(ParamsError) as e:
        load_params(path)
    text = str(e.value)
    assert len(text) < 1500 and "frames.split_by" in text and "model.channels" in text
    assert "a list of 10000 item(s)" in text


def test_filter_pixels_are_checked_against_the_datasets_sensor(tmp_path):
    """`check` knows the sensor from the registry (it used to pass, and frames refused it only
    after the download)."""
    path = write(tmp_path, {"frames": {"filters": [{"drop_pixel": {"coordinates": [[500, 0]]}}]}})
    with pytest.raises(ParamsError, match=r"frames.filters\[0\] drop_pixel: argument 'coordinates'\[0\] = "
                                          r"\[500, 0\] is outside the sensor \(width 128, height 128\)"):
        load_params(path)
    ok = write(tmp_path, {"frames": {"filters": [{"drop_pixel": {"coordinates": [[127, 0]]}}]}})
    assert load_params(ok).frames.filters == [{"drop_pixel": {"coordinates": [[127, 0]]}}]


@pytest.mark.parametrize("patch,top,hint", [
    ({"train": {"epocs": 3}}, None, "train.epocs: unknown key (did you mean 'train.epochs'?)"),
    ({"frames": {"TT": 20}}, None, "frames.TT: unknown key (did you mean 'frames.T'?)"),
    ({"frames": {"t": 20}}, None, "frames.t: unknown key (did you mean 'frames.T'?)"),        # case
    ({"model": {"taus0": 2.0}}, None, "model.taus0: unknown key (did you mean 'model.tau0'?)"),
    ({}, {"tran": {"epochs": 3}}, "tran: unknown key (did you mean 'train'?)"),             # a section
])
def test_unknown_key_gets_the_closest_key_as_a_hint(tmp_path, patch, top, hint):
    """As a misspelt filter does (`unknown filter 'denoize' (did you mean 'denoise'?)`)."""
    path = write(tmp_path, patch, top)
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: invalid parameters: {hint}"


def test_unknown_key_far_from_every_key_gets_no_hint(tmp_path):
    path = write(tmp_path, {"train": {"zzzzzz": 1}})
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: invalid parameters: train.zzzzzz: unknown key"
    r = subprocess.run([sys.executable, "-m", "pipeline", "check", str(write(tmp_path, {"train": {"epocs": 3}}))],
                       cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().endswith("train.epocs: unknown key (did you mean 'train.epochs'?)")


def dvc_records(path: Path) -> dict:
    """The params file at ``path`` as DVC reads it (into dvc.lock and `dvc params diff`): its own
    params loader, ruamel.yaml's YAML 1.2."""
    import warnings

    from dvc.dependency.param import read_param_file
    from dvc.fs import LocalFileSystem

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_param_file(LocalFileSystem(), str(path))


def with_value(section: str, key: str, value: str) -> str:
    """configs/demo.yaml with the line of ``section.key`` set to ``value`` (as text)."""
    lines, current, done = DEMO.read_text().splitlines(), None, False
    for i, line in enumerate(lines):
        if line and not line.startswith((" ", "#")):
            current = line.split(":")[0]
        elif current == section and line.startswith(f"  {key}:"):
            lines[i], done = f"  {key}: {value}", True
    assert done, (section, key)
    return "\n".join(lines) + "\n"


#: (param, value as written): YAML 1.1 (PyYAML, which read params here before) and YAML 1.2
#: (DVC) read most of these differently
SPLITS = [
    ("frames.T", "010"),                 # 1.1: 8 (octal); DVC: 10
    ("frames.T", "1:00"),                # 1.1: 60 (base 60); DVC: the string "1:00"
    ("frames.T", "1_6"),                 # 16 for both with this DVC's ruamel.yaml
    ("frames.T", "0o20"),                # 1.1: the string "0o20"; DVC: 16
    ("frames.split_seed", "1:2:3"),      # 1.1: 3723
    ("train.seed", "0777"),              # 1.1: 511; DVC: 777
    ("train.epochs", "-010"),            # 1.1: -8; DVC: -10 (refused either way: at least 1)
    ("train.lr", "1e-3"),                # 1.1: the string "1e-3"; DVC: 0.001
    ("train.drop_last", "yes"),          # 1.1: true; DVC: the string "yes"
    ("train.sync_bn", "off"),            # 1.1: false; DVC: "off"
    ("train.deterministic", "on"),
    ("train.channels_last", "no"),
    ("train.data_on_device", "Yes"),
    ("train.amp", "off"),                # 1.1: false, which amp took for off; DVC: "off"
    ("train.drop_last", "true"),
]


def test_every_param_means_what_dvc_records_or_is_refused(tmp_path):
    """`frames.T: 010` was T = 8 for check and the stages, 10 in dvc.lock and `dvc params diff`.
    Each value here must be DVC's, of DVC's type, or refused in one line naming the param."""
    wrong = []
    for i, (param, value) in enumerate(SPLITS):
        section, key = param.split(".")
        path = tmp_path / f"params{i}.yaml"
        path.write_text(with_value(section, key, value))
        theirs = dvc_records(path)[section][key]
        try:
            ours = getattr(getattr(load_params(path), section), key)
        except ParamsError as e:
            if f"{param}: " not in str(e) or "\n" in str(e):
                wrong.append(f"{param}: {value}: refused without naming it: {e}")
            continue
        if repr(ours) != repr(theirs):
            wrong.append(f"{param}: {value}: ours {ours!r}, DVC's {theirs!r}")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("value, reason", [("yes", "DVC reads params as YAML 1.2, where yes is a string"),
                                           ("1", "must be true or false")])
def test_a_bool_param_takes_true_or_false(tmp_path, value, reason):
    path = tmp_path / "params.yaml"
    path.write_text(with_value("train", "drop_last", value))
    with pytest.raises(ParamsError, match=f"train.drop_last: .*{reason}"):
        load_params(path)


def test_a_key_given_twice_is_refused_naming_both_lines(tmp_path):
    """PyYAML kept the last `T` (2); DVC refuses the file. The lines counted by hand."""
    text = DEMO.read_text().replace("\nmodel:\n", "\n  T: 2\nmodel:\n", 1)
    lines = text.splitlines()
    first, second = lines.index("  T: 16") + 1, lines.index("  T: 2") + 1
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(Exception, match="YAML file structure is corrupted"):
        dvc_records(path)
    r = check_child(path)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stderr.strip().splitlines() == [
        f"python -m pipeline check: error: {path}: frames.T: the key is given twice (lines {first} and {second}); "
        "DVC refuses a file with a duplicate key: keep one"]


def test_hostile_params_text_is_one_line(tmp_path):
    """A 5,000-digit integer (a traceback: Python converts at most 4,300 digits), /dev/zero
    (read until memory ran out) and a FIFO (check blocked for ever): one line each, exit 1."""
    huge = tmp_path / "huge.yaml"
    huge.write_text(with_value("frames", "T", "1" * 5000))
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    expected = {huge: f"{huge}: frames.T: an integer of 5000 digits (line ",
                Path("/dev/zero"): "/dev/zero: a character device, not a regular file",
                fifo: f"{fifo}: a FIFO (named pipe), not a regular file"}
    for path, start in expected.items():
        r = check_child(path, timeout=30, memory=2 << 30)
        assert r.returncode == 1 and "Traceback" not in r.stderr, (path, r.stderr[-2000:])
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"python -m pipeline check: error: {start}"), lines


def test_an_integer_over_30_digits_is_refused_naming_the_param(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(with_value("frames", "split_seed", "9" * 31))
    with pytest.raises(ParamsError, match=r"frames\.split_seed: an integer of 31 digits \(line \d+\); at most 30"):
        load_params(path)
    path.write_text(with_value("frames", "split_seed", "9" * 30))
    assert load_params(path).frames.split_seed == dvc_records(path)["frames"]["split_seed"] == 10 ** 30 - 1


def test_an_unknown_dataset_gets_a_hint_not_the_whole_list(tmp_path):
    """It listed all 17 names (357 characters); now the closest, and where the list is."""
    path = write(tmp_path, {}, {"dataset": "nmist"})
    with pytest.raises(ParamsError) as e:
        load_params(path)
    msg = str(e.value)
    assert "unknown dataset 'nmist' (did you mean 'nmnist'?)" in msg and "python -m pipeline datasets" in msg
    assert "cifar10_dvs" not in msg and len(msg) - len(str(path)) < 200


@pytest.mark.parametrize("ops,message", [
    ([{"flp": {"p": 0.5}}], r"train.augment\[0\]: unknown op 'flp' \(did you mean 'flip'\?\)"),
    ([{"flip": {"p": 1.5}}], r"train.augment\[0\] flip: argument 'p' = 1.5 must be <= 1"),
    ([{"roll": {"max_shift": 2}}, {"drop": {"p": -0.1}}], r"train.augment\[1\] drop: argument 'p' = -0.1 must be >= 0"),
    ([{"roll": {"max_shift": -3}}], r"train.augment\[0\] roll: argument 'max_shift' = -3 must be >= 0"),
    ([{"roll": {"max_shift": 2.5}}], r"train.augment\[0\] roll: argument 'max_shift' must be an integer"),
    ([{"cutout": {"size": -0.2}}], r"train.augment\[0\] cutout: argument 'size' = -0.2 must be >= 0"),
    ([{"cutout": {"size": 1.2}}], r"train.augment\[0\] cutout: argument 'size' = 1.2 must be <= 1"),
    ([{"drop": {"p": 0.1, "by": "time"}}], r"train.augment\[0\] drop: argument 'by' = 'time' must be one of frames, pixels"),
    ([{"cutmix": {"p": 0.5, "weight": "pixels"}}],
     r"train.augment\[0\] cutmix: argument 'weight' = 'pixels' must be one of events, area"),
    ([{"cutmix": {"p": 0.5, "alpha": 1}}], r"train.augment\[0\] cutmix: unknown argument 'alpha'; arguments: p, weight"),
    ([{"nda": {"n": 2}}], r"train.augment\[0\] nda: unknown argument 'n'; it takes no arguments"),
    ({"flip": {"p": 0.5}}, r"train.augment: expected a list of one-key mappings"),
])
def test_a_bad_augment_op_is_one_line_naming_the_op_and_value(tmp_path, ops, message):
    with pytest.raises(ParamsError, match=message) as e:
        load_params(write(tmp_path, {"train": {"augment": ops}}))
    assert "\n" not in str(e.value)


def test_augment_ops_fill_their_defaults(tmp_path):
    from pipeline.core.augmentparams import validate
    p = load_params(write(tmp_path, {"train": {"augment": [{"drop": {"p": 0.1}}, {"cutmix": {"p": 0.5}}, {"nda": None}],
                                               "loss": "tet"}}))
    assert validate(p.train.augment) == [("drop", {"p": 0.1, "by": "frames"}),
                                         ("cutmix", {"p": 0.5, "weight": "events"}), ("nda", {})]
    assert p.train.loss == "tet" and p.train.tet_lambda == 1e-3


@pytest.mark.parametrize("frames,problem", [
    ({"split_by": "number", "overlap": 0.5},
     "frames.overlap: split_by number takes no overlap (only time_bins and event_bins do), got 0.5"),
    ({"split_by": "time", "overlap": 0.25},
     "frames.overlap: split_by time takes no overlap (only time_bins and event_bins do), got 0.25"),
    ({"split_by": "time_bins", "overlap": 0.5, "representation": "voxel_grid"},
     "frames.overlap: representation voxel_grid takes no overlap (it bins the events its own way: by time into "
     "T bins, as Tonic's ToVoxelGrid; split_by and overlap apply to counts only), got 0.5"),
    ({"split_by": "event_bins", "overlap": 0.5, "representation": "binarep", "n_bits": 4},
     "frames.overlap: representation binarep takes no overlap (it bins the events its own way: into T x n_bits "
     "event bins, as Tonic's ToBinaRep; split_by and overlap apply to counts only), got 0.5"),
    ({"n_bits": 4},
     "frames.n_bits: only representation binarep takes n_bits, got 4 with representation counts (leave it null)"),
    ({"representation": "voxel_grid", "n_bits": 2},
     "frames.n_bits: only representation binarep takes n_bits, got 2 with representation voxel_grid (leave it null)"),
    ({"representation": "binarep"},
     "frames.n_bits: representation binarep needs n_bits, the bits per frame (2 to 8: each frame is n_bits event "
     "bins)"),
    ({"representation": "binarep", "n_bits": 9},
     "frames.n_bits: must be a whole number from 2 to 8 (Bina-Rep's bits per frame; its codes are stored in 8 "
     "bits), got 9"),
    ({"representation": "binarep", "n_bits": 1},
     "frames.n_bits: must be a whole number from 2 to 8 (Bina-Rep's bits per frame; its codes are stored in 8 "
     "bits), got 1"),
    ({"representation": "binarep", "n_bits": 4.0},
     "frames.n_bits: must be a whole number from 2 to 8 (Bina-Rep's bits per frame; its codes are stored in 8 "
     "bits), got 4.0"),
    ({"split_by": "time_bins", "overlap": 1.0},
     "frames.overlap: must be a number in [0, 1) (the fraction of a bin by which consecutive frames overlap), "
     "got 1.0"),
    ({"split_by": "time_bins", "overlap": "0.5"},         # DVC records a quoted value as a string
     "frames.overlap: must be a number in [0, 1) (the fraction of a bin by which consecutive frames overlap), "
     "got '0.5'"),
])
def test_frames_representation_params_fail_in_one_line(tmp_path, frames, problem):
    """Issue 26's params: an overlap only where windows take one, n_bits exactly with binarep."""
    path = write(tmp_path, {"frames": frames})
    with pytest.raises(ParamsError) as e:
        load_params(path)
    assert str(e.value) == f"{path}: invalid parameters: {problem}"


def test_the_check_command_prints_a_representation_problem_in_one_line(tmp_path):
    path = write(tmp_path, {"frames": {"representation": "binarep"}})
    r = subprocess.run([sys.executable, "-m", "pipeline", "check", str(path)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [
        f"python -m pipeline check: error: {path}: invalid parameters: frames.n_bits: representation binarep needs "
        "n_bits, the bits per frame (2 to 8: each frame is n_bits event bins)"]
    ok = write(tmp_path, {"frames": {"representation": "voxel_grid"}})
    r = subprocess.run([sys.executable, "-m", "pipeline", "check", str(ok)], capture_output=True, text=True,
                       cwd=ROOT, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"{ok}: valid; dataset demo, frames 16 x 1 x 32 x 32"


@pytest.mark.parametrize("frames,shape", [
    ({"split_by": "time_bins", "overlap": 0.5}, (16, 2, 32, 32)),
    ({"split_by": "event_bins"}, (16, 2, 32, 32)),
    ({"representation": "voxel_grid"}, (16, 1, 32, 32)),               # one channel of signed polarity
    ({"representation": "binarep", "n_bits": 8}, (16, 2, 32, 32)),
    ({"representation": "binarep", "n_bits": 2, "split_by": "time"}, (16, 2, 32, 32)),   # split_by: unused
])
def test_frames_representation_params_that_work(tmp_path, frames, shape):
    p = load_params(write(tmp_path, {"frames": frames}))
    assert p.frame_shape() == shape
    assert {k: getattr(p.frames, k) for k in frames} == frames


def test_the_defaults_and_checking_without_numba():
    """The frames choices have one home (core/frameparams.py, no kernels): checking params, and
    reading a frames file's representation, do not start Numba."""
    import subprocess
    import sys

    from pipeline import params

    fp = params.FramesParams()
    assert (fp.split_by, fp.overlap, fp.representation, fp.n_bits) == ("number", 0.0, "counts", None)
    fields = params.FramesParams.model_fields
    assert fields["split_by"].annotation.__args__ == ("number", "time", "time_bins", "event_bins")
    assert fields["representation"].annotation.__args__ == ("counts", "voxel_grid", "binarep")
    code = ("import sys, pipeline.params, pipeline.train.data; "
            "pipeline.core.frameparams.input_scale({'representation': 'binarep', 'n_bits': 3}); "
            "print('numba' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_the_sample_size_limit_counts_each_representations_bytes(tmp_path):
    """Counts: 4 bytes a value; the voxel grid: 8 (one channel of float64 sums while built);
    Bina-Rep: 1 (uint8 codes)."""
    for frames, per_value, C, what in [({}, 4, 2, "counts"), ({"representation": "voxel_grid"}, 8, 1, "voxel-grid sums"),
                                       ({"representation": "binarep", "n_bits": 4}, 1, 2, "Bina-Rep codes")]:
        limit = MAX_SAMPLE_BYTES // (per_value * C * 32 * 32)
        assert load_params(write(tmp_path, {"frames": {**frames, "T": limit}})).frames.T == limit
        with pytest.raises(ParamsError, match=rf"frames\.T: {limit + 1} frames of {C}x32x32 {what} take 256 MiB"):
            load_params(write(tmp_path, {"frames": {**frames, "T": limit + 1}}))
