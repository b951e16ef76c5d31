"""Any sequence of appends (sequential and concurrent, with retries) keeps the invariants:
gap-free positions, gap-free stream versions, the content the model predicts, a valid chain."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    AppendResult,
    EventStore,
    NewEvent,
    WrongExpectedVersion,
)

OPS = st.lists(
    st.tuples(
        st.integers(0, 2),  # stream
        st.integers(1, 3),  # events in the append
        st.sampled_from(["any", "no_stream", "exists", "right", "wrong", "retry"]),
    ),
    min_size=1,
    max_size=20,
)


def _expected(kind: str, current: int | None) -> Any:
    return {
        "any": ANY,
        "no_stream": NO_STREAM,
        "exists": STREAM_EXISTS,
        "right": NO_STREAM if current is None else current,
        "retry": ANY,  # a retry with nothing to retry yet
        "wrong": (current or 0) + 5,
    }[kind]


async def _run(store: EventStore, ops: list[tuple[int, int, str]], concurrent: bool) -> None:
    prefix = uuid.uuid4().hex[:8]
    model: dict[str, list[str]] = {}
    done: list[tuple[str, list[NewEvent], AppendResult]] = []
    calls, predictions = [], []
    for s, n, kind in ops:
        stream = f"{prefix}-{s}"
        if kind == "retry" and done:
            stream, events, original = done[-1]
            calls.append(store.append(stream, events, NO_STREAM))
            predictions.append(original)
            continue
        current = len(model[stream]) - 1 if stream in model else None
        expected = _expected(kind, current)
        ok = not (
            (expected is NO_STREAM and current is not None)
            or (expected is STREAM_EXISTS and current is None)
            or (isinstance(expected, int) and expected != current)
        )
        events = [NewEvent("E", {"k": f"{prefix}-{len(calls)}-{i}"}) for i in range(n)]
        calls.append(store.append(stream, events, expected))
        predictions.append(None if ok else WrongExpectedVersion)
        if ok:
            model.setdefault(stream, []).extend(e.data["k"] for e in events)
            done.append((stream, events, None))  # type: ignore[arg-type]
        if not concurrent:
            await _settle(calls, predictions, done)
    await _settle(calls, predictions, done)
    for stream, keys in model.items():
        evs = [e async for e in store.read_stream(stream)]
        assert [e.version for e in evs] == list(range(len(keys)))
        assert [e.data["k"] for e in evs] == keys


async def _settle(calls: list[Any], predictions: list[Any], done: list[Any]) -> None:
    results = await asyncio.gather(*calls, return_exceptions=True)
    for res, want in zip(results, predictions, strict=True):
        if want is WrongExpectedVersion:
            assert isinstance(res, WrongExpectedVersion), res
        elif isinstance(want, AppendResult):
            assert res == want  # an idempotent retry returns the original result
        else:
            assert isinstance(res, AppendResult), res
            for i, (stream, events, original) in enumerate(done):
                if original is None and res.events[0].event_id == events[0].event_id:
                    done[i] = (stream, events, res)
    calls.clear()
    predictions.clear()


async def _check_log(store: EventStore) -> None:
    positions = [e.position async for e in store.read_all()]
    assert positions == list(range(1, len(positions) + 1))
    report = await store.verify()
    assert report.ok and report.checked == len(positions)
    assert (await store.head())[0] == len(positions)


def test_any_sequence_of_appends_keeps_the_invariants(store_url: str) -> None:
    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(EventStore.open(store_url))
    try:

        @settings(max_examples=50, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(ops=OPS, concurrent=st.booleans())
        def run(ops: list[tuple[int, int, str]], concurrent: bool) -> None:
            loop.run_until_complete(_run(store, ops, concurrent))
            loop.run_until_complete(_check_log(store))

        run()
    finally:
        loop.run_until_complete(store.close())
        loop.close()
