"""Expected errors end a stage with one line naming the file and what is wrong, a non-zero exit,
no traceback, and nothing partial left behind."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import yaml

from damage import damage_sample
from pipeline.download.demo.aedat3_write import write_aedat3
from pipeline.core.events import make_events
from workspace import ROOT, run_stage


def demo_params(folder: Path, **frames) -> None:
    params = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    params["frames"].update(frames)
    (folder / "params.yaml").write_text(yaml.safe_dump(params))


def raw_demo(folder: Path, x_bad: int | None = None, t_unsorted=False) -> Path:
    """data/raw as the download stage leaves it for the demo: one train and one test recording
    of two labelled gestures each; optionally one event outside the 128-wide sensor."""
    top = folder / "data" / "raw" / "DvsGesture-demo" / "DvsGesture"
    top.mkdir(parents=True)
    for split, name in (("train", "user01_led"), ("test", "user02_led")):
        t = np.arange(0, 2_000_000, 1000, dtype=np.int64)
        x = (t // 1000 % 128).astype(np.uint16)
        ev = make_events(t, x, x, t // 1000 % 2)
        if x_bad is not None and split == "train":
            ev["x"][1500] = x_bad                       # in the second gesture (1.0 s - 2.0 s)
        write_aedat3(top / f"{name}.aedat", ev)
        (top / f"{name}_labels.csv").write_text("class,startTime_usec,endTime_usec\n1,0,1000000\n2,1000000,2000000\n")
        (top / f"trials_to_{split}.txt").write_text(f"{name}.aedat\n")
    (folder / "data" / "raw" / "SOURCE.json").write_text(json.dumps(
        {"dataset": "demo", "archives": [{"name": "DvsGesture-demo.tar.gz", "md5": "0" * 32}],
         "expected": {"train": 2, "test": 2}}))
    return top


def one_error_line(r, stage: str) -> str:
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.startswith(f"{stage}: error: ")]
    assert len(lines) == 1, r.stderr
    return lines[0]


def test_frames_before_download(tmp_path):
    demo_params(tmp_path)
    line = one_error_line(run_stage("frames", tmp_path, check=False), "frames")
    assert "data/raw/SOURCE.json not found" in line and "download stage" in line


def test_frames_names_the_file_event_and_sample_of_a_bad_coordinate(tmp_path):
    demo_params(tmp_path, T=4)
    top = raw_demo(tmp_path, x_bad=1009)
    line = one_error_line(run_stage("frames", tmp_path, check=False), "frames")
    assert f"frames: error: {(top / 'user01_led.aedat').relative_to(tmp_path)}: event 1500 (t = 1500000 us, in the sample of labels row 1): x = 1009 is outside the sensor width 128" \
        in line
    assert not list((tmp_path / "data").rglob("*.tmp-*")) and not (tmp_path / "data" / "frames" / "train.h5").exists()


def test_frames_of_a_good_demo_raw_folder(tmp_path):
    """The same folder without the bad event builds (so the test above fails for its reason)."""
    demo_params(tmp_path, T=4)
    raw_demo(tmp_path)
    run_stage("frames", tmp_path)
    assert (tmp_path / "data" / "frames" / "train.h5").is_file()


def test_frames_with_a_truncated_recording(tmp_path):
    demo_params(tmp_path, T=4)
    top = raw_demo(tmp_path)
    rec = top / "user02_led.aedat"
    rec.write_bytes(rec.read_bytes()[:-5])
    line = one_error_line(run_stage("frames", tmp_path, check=False), "frames")
    assert str(rec.relative_to(tmp_path)) in line and "byte offset" in line
    assert not list((tmp_path / "data").rglob("*.tmp-*"))


def test_download_without_the_archive(tmp_path):
    params = yaml.safe_load((ROOT / "configs" / "dvsgesture-paper.yaml").read_text())
    params["download"].update(archive_dir=str(tmp_path / "downloads"), retries=0)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    line = one_error_line(run_stage("download", tmp_path, check=False), "download")
    assert "DvsGesture.tar.gz" in line and "place it in" in line and len(line) <= 220
    assert not (tmp_path / "data").exists()
    # the command the line names says where the archive comes from and its md5
    hint = line.rsplit("where to get it: ", 1)[1].rstrip(")")
    assert hint == "python -m pipeline datasets dvsgesture"
    r = subprocess.run([sys.executable, *hint.split()[1:]], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "8a5c71fb11e24e5ca5b11866ca6c00a1" in r.stdout and "IBM" in r.stdout, r.stdout


def test_evaluate_without_a_model(tmp_path):
    demo_params(tmp_path)
    line = one_error_line(run_stage("evaluate", tmp_path, check=False), "evaluate")
    assert "models/model.pt not found" in line


def test_train_on_a_damaged_frames_file(train_workspace):
    folder = train_workspace("ws", epochs=1, T_max=1)
    train_h5 = folder / "data" / "frames" / "train.h5"
    damaged = train_h5.with_name("copy.h5")
    shutil.copy(train_h5, damaged)
    damage_sample(damaged, 5, 0xFF)
    train_h5.unlink()
    damaged.rename(train_h5)                       # not the shared original (it is a hard link)
    line = one_error_line(run_stage("train", folder, check=False), "train")
    assert "data/frames/train.h5: sample 5 cannot be read" in line and "damaged" in line
