"""The DvsGesture layout: labels CSVs (one real), trial lists and cutting."""

import pytest

from pipeline.frames.families.trials import read_labels, read_trials
from pipeline.core.errors import LayoutError
from pipeline.core.events import make_events
from pipeline.frames.samples import cut


def test_real_labels_file(real):
    rows = read_labels(real("dvs128_gesture/user01_natural_labels.csv"), 11)
    # SOURCES.md: 12 rows, classes 1,2,3,5,4,6,7,8,8,9,10,11, from 53,036,986 to 177,991,967 µs
    assert rows[:, 0].tolist() == [1, 2, 3, 5, 4, 6, 7, 8, 8, 9, 10, 11]
    assert rows[0, 1] == 53_036_986 and rows[-1, 2] == 177_991_967
    durations = (rows[:, 2] - rows[:, 1]) / 1e6
    assert durations.min() > 6.3 and durations.max() < 10.7


@pytest.mark.parametrize("text,msg", [
    ("class,start,end\n1,2,3\n", "line 1 must be"),
    ("class,startTime_usec,endTime_usec\n1,2\n", "line 2: expected three integers"),
    ("class,startTime_usec,endTime_usec\n1,5,9\n12,2,3\n", "line 3: class 12 outside 1..11"),
    ("class,startTime_usec,endTime_usec\n3,9,9\n", "line 2: end 9 <= start 9"),
])
def test_bad_labels_name_file_and_line(tmp_path, text, msg):
    p = tmp_path / "user01_lab_labels.csv"
    p.write_text(text)
    with pytest.raises(LayoutError, match=msg) as e:
        read_labels(p, 11)
    assert "user01_lab_labels.csv" in str(e.value)


def test_trials_crlf_and_blank_lines(tmp_path):
    p = tmp_path / "trials_to_train.txt"
    p.write_bytes(b"user01_fluorescent.aedat\r\nuser01_led.aedat\r\n\r\n")
    assert read_trials(p) == ["user01_fluorescent.aedat", "user01_led.aedat"]
    p.write_text("../etc/passwd\n")
    with pytest.raises(LayoutError, match="not an .aedat file name"):
        read_trials(p)


@pytest.mark.parametrize("t", [[5, 10, 15, 20, 25], [5, 15, 10, 25, 20]])
def test_cut_half_open_and_overlapping(t):
    e = make_events(t, [0] * 5, [0] * 5, [1] * 5)
    windows = [(10, 20), (15, 26), (26, 40), (0, 5)]
    got = [s["t"].tolist() for s in cut(e, windows)]
    expect = [[v for v in t if a <= v < b] for a, b in windows]   # start <= t < end, file order
    assert got == expect
    assert expect[:3] == ([[10, 15], [15, 20, 25], []] if t == sorted(t) else [[15, 10], [15, 25, 20], []])
