"""The fallback ("sorry") server: in while no other real server of the service has weight,
out as soon as one has. Used by IPVSService and by the check engine after weight changes."""
from __future__ import annotations

from collections.abc import Collection, Sequence

from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.op import Op


def plan_fallback(key: ServiceKey, fallback: RealServer | None,
                  actual: Sequence[RealServerInfo], retired: RealServer | None = None,
                  owned: Collection[tuple] = ()) -> list[Op]:
    """The ops that bring the fallback in line with `actual`. `retired` is the service's
    previous fallback (a reload changed or removed it): out if it is still in, unless it is
    one of the `owned` (registered) real servers."""
    ops: list[Op] = []
    if (retired is not None and retired.ident not in owned
            and (fallback is None or retired.ident != fallback.ident)
            and any(i.real_server.ident == retired.ident for i in actual)):
        ops.append(Op.delete_real_server(key, *retired.ident))
        actual = [i for i in actual if i.real_server.ident != retired.ident]
    return ops + _plan(key, fallback, actual)


def _plan(key: ServiceKey, fallback: RealServer | None,
          actual: Sequence[RealServerInfo]) -> list[Op]:
    if fallback is None:
        return []
    present = any(i.real_server.ident == fallback.ident for i in actual)
    others_up = any(i.real_server.ident != fallback.ident and i.real_server.weight > 0
                    for i in actual)
    if others_up and present:
        return [Op.delete_real_server(key, *fallback.ident)]
    if not others_up and not present:
        return [Op.add_real_server(key, fallback)]
    return []
