"""Map a function over items in worker processes, results in submission order.

The frames stage stores samples in a fixed order whatever the worker count: the parent
writes results in the order the items were given, while at most ``4 x workers`` items are in
flight (bounded memory).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager


def _in_order(pool: ProcessPoolExecutor, fn: Callable, items: Iterable, window: int) -> Iterator:
    pending = deque()
    for item in items:
        pending.append(pool.submit(fn, item))
        if len(pending) >= window:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


@contextmanager
def ordered_map(fn: Callable, items: Iterable, workers: int) -> Iterator[Iterator]:
    """``fn`` over ``items``, in order: in this process when ``workers`` <= 1, else in a pool of
    ``workers`` processes, shut down (pending work cancelled) when the block exits."""
    if workers <= 1:
        yield map(fn, items)
        return
    pool = ProcessPoolExecutor(workers)
    try:
        yield _in_order(pool, fn, items, 4 * workers)
    finally:
        pool.shutdown(cancel_futures=True)
