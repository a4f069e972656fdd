"""A real server that flaps every check must cause no hard transition; a real outage must."""
from __future__ import annotations

import asyncio

from lvsocf.checks import Target, build_checker
from lvsocf.checks.state import HealthState, RiseFall


async def _serve(port: int) -> asyncio.Server:
    return await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port,
                                      reuse_address=True)


def test_flapping_tcp_server_no_hard_transition_rise2_fall3():
    async def main():
        server = await _serve(0)
        port = server.sockets[0].getsockname()[1]
        checker = build_checker("tcp", Target("127.0.0.1", port), {})
        machines = {s: RiseFall(rise=2, fall=3, initial=s)
                    for s in (HealthState.UNKNOWN, HealthState.UP, HealthState.DOWN)}
        seen, transitions = [], []
        up = True
        for _ in range(12):                     # alternate up/down every check
            if up and server is None:
                server = await _serve(port)
            elif not up and server is not None:
                server.close()
                await server.wait_closed()
                server = None
            result = await checker.check(1)
            seen.append(result.ok)
            for rf in machines.values():
                if (t := rf.observe(result.ok)) is not None:
                    transitions.append(t)
            up = not up
        after_flapping = {s: rf.state for s, rf in machines.items()}
        # then a real outage: three failures in a row
        if server is not None:
            server.close()
            await server.wait_closed()
        outage = [await checker.check(1) for _ in range(3)]
        hard_after = [t for rf in machines.values() for r in outage
                      if (t := rf.observe(r.ok)) is not None and t.hard]
        return seen, transitions, after_flapping, outage, hard_after

    seen, transitions, states, outage, hard_after = asyncio.run(main())
    assert seen == [True, False] * 6                     # the server really flapped
    assert transitions and not any(t.hard for t in transitions)
    assert states[HealthState.UP] in (HealthState.UP, HealthState.SOFT_DOWN)
    assert states[HealthState.DOWN] in (HealthState.DOWN, HealthState.SOFT_UP)
    assert states[HealthState.UNKNOWN] is HealthState.UNKNOWN
    assert not any(r.ok for r in outage)
    # UNKNOWN and UP go DOWN (hard) after fall=3 failures; DOWN stays DOWN
    assert sorted(t.old.value for t in hard_after) == ["soft_down", "unknown"]
    assert all(t.new is HealthState.DOWN for t in hard_after)
