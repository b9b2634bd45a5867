"""pipeline.core.picklecheck: what it measures of a pickle, against the objects pickled and
pickletools' own parse; where it refuses, by the byte offset."""

import pickle
import pickletools
from collections import OrderedDict

import pytest

from pipeline.core.picklecheck import Limits, PickleRefused, check_pickle

LOOSE = Limits(depth=10**6, cycles=False)


def nesting(x) -> int:
    """The reference: how deep ``x`` nests, from the object itself (0: no items)."""
    if isinstance(x, dict):
        items = [*x.keys(), *x.values()]
    elif isinstance(x, (list, tuple)):
        items = list(x)
    else:
        return 0
    return 1 + max(map(nesting, items)) if items else 0


def nested(kind, depth: int, leaf=1):
    make = {"list": lambda x, i: [x, i], "tuple": lambda x, i: (x,), "dict": lambda x, i: {"k": x},
            "key": lambda x, i: ((x, i),)}[kind]
    x = leaf
    for i in range(depth):
        x = make(x, i)
    return {x: 1} if kind == "key" else x


OBJECTS = [1, "s", [], (), {}, [1], (1, 2), ((),), [[[]]], {"a": [1, (2, [3])], "b": {}},
           nested("list", 40), nested("tuple", 40), nested("dict", 40), nested("key", 30, ()),
           [list(range(2000))] * 3, {i: (i, [i]) for i in range(1500)}]


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("obj", OBJECTS, ids=range(len(OBJECTS)))
def test_depth_and_opcodes_of_plain_data(obj, protocol):
    data = pickle.dumps(obj, protocol=protocol)
    m = check_pickle(data, LOOSE)
    assert m.depth == nesting(obj)
    assert m.opcodes == sum(1 for _ in pickletools.genops(data)) and m.size == len(data)


def test_shared_values_are_not_cycles():
    inner = [1, [2]]
    obj = {"a": inner, "b": inner, "c": (inner, inner)}
    assert check_pickle(pickle.dumps(obj, protocol=2), LOOSE).depth == nesting(obj) == 4


def test_objects_count_their_arguments():
    # OrderedDict pickles as REDUCE(OrderedDict, ()) then SETITEMS: one level for its items
    obj = OrderedDict(a=OrderedDict(b=[1]))
    assert check_pickle(pickle.dumps(obj, protocol=2), LOOSE).depth >= nesting(dict(a=dict(b=[1]))) == 3


def deep_key(depth: int) -> bytes:
    """{((...(),)...,): 1}, the tuple ``depth`` deep: hashing it used to end the process."""
    return b"\x80\x02})" + b"\x85" * depth + b"K\x01s."


@pytest.mark.parametrize("limit", [1, 32, 100])
def test_depth_limit_by_the_byte_offset(limit):
    # the k-th TUPLE1 (at byte 3 + k) is k deep, the dict (SETITEM, 2 bytes after the last) one more
    assert check_pickle(deep_key(limit - 1), Limits(depth=limit)).depth == limit
    with pytest.raises(PickleRefused, match=rf"^byte offset {6 + limit}: values nested more than {limit} deep"):
        check_pickle(deep_key(limit), Limits(depth=limit))
    with pytest.raises(PickleRefused, match=rf"^byte offset {4 + limit}: values nested more than {limit} deep"):
        check_pickle(deep_key(10**6), Limits(depth=limit))


def test_opcode_and_size_limits():
    data = pickle.dumps(list(range(300)), protocol=2)
    n = sum(1 for _ in pickletools.genops(data))
    assert check_pickle(data, Limits(depth=5, opcodes=n, size=len(data))).opcodes == n
    with pytest.raises(PickleRefused, match=f"more than {n - 1} opcodes"):
        check_pickle(data, Limits(depth=5, opcodes=n - 1))
    with pytest.raises(PickleRefused, match=f"^byte offset 0: a pickle of {len(data)} bytes, more than {len(data) - 1}"):
        check_pickle(data, Limits(depth=5, size=len(data) - 1))


def test_cycles_are_refused_only_when_asked():
    a = []
    a.append(a)
    b, c = [], []
    b.append(c)
    c.append(b)
    for obj in (a, b, {"self": a}):
        data = pickle.dumps(obj, protocol=2)
        check_pickle(data, Limits(depth=10))
        with pytest.raises(PickleRefused, match=r"a value changed after it went into another \(a cycle"):
            check_pickle(data, Limits(depth=10, cycles=False))


@pytest.mark.parametrize("data, what", [
    (b"", "byte offset 0: not a readable pickle"),
    (pickle.dumps([1, 2], protocol=2)[:-3], "not a readable pickle"),         # truncated
    (b"\x80\x02]K\x01", "byte offset 5: not a readable pickle"),              # no STOP
    (b"\x80\x02h\x05.", "byte offset 2: memo index 5 was never stored"),
    (b"\x80\x02a.", "byte offset 2: APPEND on too short a stack"),
    (b"\x80\x02l.", "byte offset 2: LIST without a MARK"),
    (b"\x80\x02\xff.", "byte offset 2: not a readable pickle"),               # no such opcode
])
def test_unreadable_pickles(data, what):
    with pytest.raises(PickleRefused, match=what):
        check_pickle(data, LOOSE)
