"""Desired vs actual for the entries a caller owns, turned into the fewest netlink writes.

Never flush and never touch an entry outside `owned`: two owners reconciling different real
servers of one service leave each other alone.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lvsocf.ipvs.model import RealServer, RealServerInfo, Service, ServiceInfo, ServiceKey
from lvsocf.ipvs.netlink import Ipvs
from lvsocf.ipvs.op import Op


def plan_service(desired: Service, actual: ServiceInfo | None) -> list[Op]:
    if actual is None:
        return [Op.add_service(desired)]
    if not desired.same_settings(actual.service):
        return [Op.edit_service(desired)]
    return []


def _settings(rs: RealServer) -> tuple:
    tunnel = (rs.tun_type, rs.tun_port, rs.tun_flags) if rs.method == "ipip" else ()
    return (rs.method, rs.weight, rs.u_threshold, rs.l_threshold, *tunnel)


def plan_real_servers(key: ServiceKey, desired: Iterable[RealServer],
                      actual: Sequence[RealServerInfo],
                      owned: Iterable[tuple[str, int]]) -> list[Op]:
    """Ops that make the owned real servers of `key` equal `desired`.

    `owned` names every (address, port) the caller is responsible for; desired ones are owned
    implicitly. Owned entries that are not desired are deleted; others are left alone."""
    have = {info.real_server.ident: info.real_server for info in actual}
    want = {rs.ident: rs for rs in desired}
    owned_set = set(owned) | set(want)
    plan = []
    for ident, rs in want.items():
        if ident not in have:
            plan.append(Op.add_real_server(key, rs))
        elif _settings(rs) != _settings(have[ident]):
            plan.append(Op.edit_real_server(key, rs))
    for ident in have.keys() & owned_set - want.keys():
        plan.append(Op.delete_real_server(key, *ident))
    return plan


@dataclass(frozen=True)
class Result:
    applied: list[Op]
    failed: list[tuple[Op, Exception]]


def apply(k: Ipvs, plan: Sequence[Op]) -> Result:
    results = k.apply(plan) if plan else []
    failed = [(op, err) for op, err in zip(plan, results, strict=True) if err is not None]
    return Result(applied=[op for op, err in zip(plan, results, strict=True) if err is None],
                  failed=failed)


def reconcile_service(k: Ipvs, desired: Service) -> Result:
    return apply(k, plan_service(desired, k.service(desired.key)))
