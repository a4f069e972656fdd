"""The fallback ("sorry") server: in while no other real server of the service has weight,
out as soon as one has. Used by IPVSService and by the check engine after weight changes."""
from __future__ import annotations

from collections.abc import Sequence

from lvsocf.ipvs.model import RealServer, RealServerInfo, ServiceKey
from lvsocf.ipvs.op import Op


def plan_fallback(key: ServiceKey, fallback: RealServer | None,
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
