"""treenets.utils.collector.young_collection: no automatic collection inside, the block's cycles freed
after, the collector's state as it was, across nesting, threads and exceptions."""
import gc
import threading
import weakref

import pytest

from treenets.utils.collector import young_collection


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture(autouse=True)
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


@pytest.fixture()
def collections():
    """The generation of every collection the collector starts while the test runs."""
    runs = []

    def seen(phase, info):
        if phase == "start":
            runs.append(info["generation"])

    gc.callbacks.append(seen)
    yield runs
    gc.callbacks.remove(seen)


def test_no_automatic_collection_inside_and_the_blocks_cycles_freed_after(collections):
    runs = collections
    with young_collection():
        assert not gc.isenabled()
        nodes = [Node() for _ in range(20 * gc.get_threshold()[0])]  # would start many collections
        ref = weakref.ref(nodes[0])
        del nodes
        assert runs == []
        assert ref() is not None  # a cycle: refcounting alone does not free it
    assert gc.isenabled()
    assert ref() is None  # freed by the one young collection at the end
    assert runs == [0]  # and only the youngest generation was walked


def test_what_the_block_keeps_survives():
    with young_collection():
        kept = Node()
    assert kept.me is kept


def test_state_restored_after_an_exception():
    with pytest.raises(KeyError):
        with young_collection():
            raise KeyError("x")
    assert gc.isenabled()


def test_a_collector_the_caller_disabled_stays_disabled_and_is_not_run():
    gc.disable()
    runs = []
    gc.callbacks.append(lambda phase, info: runs.append(phase))
    try:
        with young_collection():
            pass
        assert not gc.isenabled()
        assert runs == []
    finally:
        gc.callbacks.pop()


def test_nested_blocks_resume_only_at_the_outermost():
    with young_collection():
        with young_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_decorator_form():
    @young_collection()
    def inside():
        return gc.isenabled()

    assert inside() is False
    assert inside() is False  # usable more than once
    assert gc.isenabled()


def test_threads_overlapping_blocks():
    entered, release = threading.Barrier(2), threading.Event()
    states = []

    def worker(first):
        with young_collection():
            entered.wait()
            if first:  # the first thread leaves while the other is still inside
                return
            release.wait()
            states.append(gc.isenabled())

    a = threading.Thread(target=worker, args=(True,))
    b = threading.Thread(target=worker, args=(False,))
    a.start(), b.start()
    a.join()
    assert not gc.isenabled()  # b still inside: the pause holds
    release.set()
    b.join()
    assert states == [False]
    assert gc.isenabled()


def test_overlapping_blocks_still_collect_young_and_now_and_then_all(collections):
    """Blocks in threads that never leave a gap: each end collects the young generation, every
    FULL_EVERY-th a full one, so cyclic garbage is freed however long the pause lasts."""
    from treenets.utils import collector

    runs = collections
    with young_collection():  # the block that never ends during the test (another thread's, say)
        for k in range(collector.FULL_EVERY):
            with young_collection():
                ref = weakref.ref(Node())
            assert ref() is None  # freed as the inner block ended, though the pause goes on
            assert not gc.isenabled()
        assert runs.count(2) == 1 and runs.count(0) == collector.FULL_EVERY - 1
    assert gc.isenabled()
