"""Timetable: many timers on one asyncio timer, in time order, cancellable."""
from __future__ import annotations

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st

from lvsocf.engine.timetable import Timetable


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.booleans()), min_size=1, max_size=40))
def test_entries_fire_in_time_order_and_cancelled_ones_never(plan):
    async def main():
        loop = asyncio.get_running_loop()
        table, fired, start = Timetable(), [], loop.time()
        entries = []
        for i, (ms, cancel) in enumerate(plan):
            when = start + ms / 1000
            entries.append((table.at(when, lambda i=i, when=when: fired.append(
                (i, when, loop.time()))), cancel))
        for entry, cancel in entries:
            if cancel:
                Timetable.cancel(entry)
        await asyncio.sleep(0.1)
        return fired
    fired = asyncio.run(main())
    assert sorted(i for i, _, _ in fired) == [i for i, (_, c) in enumerate(plan) if not c]
    whens = [when for _, when, _ in fired]
    assert whens == sorted(whens)
    assert all(at >= when for _, when, at in fired)


def test_an_entry_added_while_firing_for_a_time_already_past_still_fires():
    async def main():
        loop = asyncio.get_running_loop()
        table, fired = Timetable(), []

        def first():
            fired.append("first")
            table.at(loop.time() - 1, lambda: fired.append("late"))
            table.at(loop.time() + 0.05, lambda: fired.append("later"))
        table.at(loop.time() + 0.01, first)
        await asyncio.sleep(0.2)
        return fired
    assert asyncio.run(main()) == ["first", "late", "later"]


def test_close_drops_everything():
    async def main():
        loop = asyncio.get_running_loop()
        table, fired = Timetable(), []
        for i in range(5):
            table.at(loop.time() + 0.01 * i, lambda: fired.append(1))
        table.close()
        await asyncio.sleep(0.1)
        return fired
    assert asyncio.run(main()) == []


def test_slack_runs_entries_due_soon_in_the_same_firing():
    async def main():
        loop = asyncio.get_running_loop()
        table, fired = Timetable(slack=0.05), []
        start = loop.time()
        for ms in (10, 30, 55, 200):
            table.at(start + ms / 1000, lambda ms=ms: fired.append((ms, loop.time() - start)))
        await asyncio.sleep(0.3)
        return fired
    fired = asyncio.run(main())
    assert [ms for ms, _ in fired] == [10, 30, 55, 200]
    first = fired[0][1]
    assert fired[1][1] - first < 0.01 and fired[2][1] - first < 0.01   # with the first firing,
    assert fired[2][1] < 0.055                                         # so early
    assert fired[3][1] >= 0.15                    # never earlier than the slack allows
