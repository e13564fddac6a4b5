"""Gathering the texts of concurrent requests into one batch, run off the event loop.

A :class:`Batcher` serves one job (say, ``/v1/predict`` with the sst2 model).
Requests put their items (texts, pairs) on its queue and wait. One task takes
the first waiting request, then keeps taking more for at most ``max_wait``
seconds or until ``max_batch`` items are gathered, and hands the batch to a
thread of the server's executor: parsing (stanza) and the model (torch) run
there, never on the event loop. At most ``slots`` batches run at once; while
they run, new requests gather into the next batch, so under load batches grow
by themselves and a lone request waits no more than ``max_wait``.

If a batch fails, each request in it is run on its own, so one bad text fails
only its own request. A request that timed out or went away before its batch
ran is left out of the batch.
"""
from __future__ import annotations

import asyncio
import logging
from concurrent.futures import Executor
from typing import Any, Callable, List, Optional, Sequence

__all__ = ["Batcher"]

logger = logging.getLogger("treenets.serve")

#: ``run(items of each request) -> answer of each request``, called in a worker thread.
RunFn = Callable[[List[Sequence[Any]]], List[Any]]


class _Job:
    __slots__ = ("items", "future")

    def __init__(self, items: Sequence[Any], future: asyncio.Future) -> None:
        self.items, self.future = items, future


class Batcher:
    """Batches the requests of one job; see the module docs.

    Args:
        name: for logs.
        run: turns the items of several requests into one answer per request (in a worker thread).
        executor: where ``run`` runs.
        max_batch: the most items in one batch (a larger request runs alone).
        max_wait: seconds to wait for more requests once one is waiting.
        slots: the most batches running at once (those of every batcher sharing it count).
    """

    def __init__(self, name: str, run: RunFn, executor: Executor, max_batch: int, max_wait: float,
                 slots: asyncio.Semaphore) -> None:
        self.name, self.run, self.executor = name, run, executor
        self.max_batch, self.max_wait, self.slots = max_batch, max_wait, slots
        self.queue: "asyncio.Queue[_Job]" = asyncio.Queue()
        self._carry: Optional[_Job] = None
        self._task: Optional[asyncio.Task] = None
        self._running: set = set()
        self.batches = 0  # batches run, for /v1/models and the benchmark
        self.items = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name=f"batcher-{self.name}")

    async def stop(self) -> None:
        """Wait for the batches running now, then stop taking more."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def submit(self, items: Sequence[Any]) -> Any:
        """The answer to one request's items (raises what ``run`` raised for them)."""
        job = _Job(items, asyncio.get_running_loop().create_future())
        await self.queue.put(job)
        return await job.future

    async def _next(self, timeout: Optional[float]) -> Optional[_Job]:
        if self._carry is not None:
            job, self._carry = self._carry, None
            return job
        if timeout is None:
            return await self.queue.get()
        if timeout <= 0:
            return self.queue.get_nowait() if not self.queue.empty() else None
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except asyncio.TimeoutError:
            return None

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            job = await self._next(None)
            batch, size = [job], len(job.items)
            deadline = loop.time() + self.max_wait
            while size < self.max_batch:
                more = await self._next(deadline - loop.time())
                if more is None:
                    break
                if size + len(more.items) > self.max_batch:
                    self._carry = more  # it opens the next batch
                    break
                batch.append(more)
                size += len(more.items)
            batch = [j for j in batch if not j.future.done()]  # timed out or cancelled while waiting
            if not batch:
                continue
            await self.slots.acquire()
            task = loop.create_task(self._dispatch(batch))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    async def _dispatch(self, batch: List[_Job]) -> None:
        loop = asyncio.get_running_loop()
        try:
            try:
                answers = await loop.run_in_executor(self.executor, self.run, [j.items for j in batch])
                self.batches += 1
                self.items += sum(len(j.items) for j in batch)
                for job, answer in zip(batch, answers):
                    if not job.future.done():
                        job.future.set_result(answer)
            except Exception as err:
                if len(batch) == 1:
                    if not batch[0].future.done():
                        batch[0].future.set_exception(err)
                    return
                logger.info("%s: a batch of %d requests failed (%s: %s); running them one by one", self.name,
                            len(batch), type(err).__name__, err)
                for job in batch:
                    if job.future.done():
                        continue
                    try:
                        answer = (await loop.run_in_executor(self.executor, self.run, [job.items]))[0]
                        if not job.future.done():
                            job.future.set_result(answer)
                    except Exception as alone:
                        if not job.future.done():
                            job.future.set_exception(alone)
        finally:
            self.slots.release()
