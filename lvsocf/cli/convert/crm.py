"""Plan -> crmsh configuration for `crm configure load update FILE` (no `commit` needed:
`load update` merges the file into the CIB and commits it in one step)."""

from __future__ import annotations

import re

from .diag import Diagnostics
from .plan import Clone, Params, Plan, Primitive

_SAFE = re.compile(r"[A-Za-z0-9_./:@%+,-]+")
_WIDTH = 96


def quote(value: str) -> str:
    """A crmsh parameter value: bare when safe, else double-quoted with \\ and \" escaped."""
    if _SAFE.fullmatch(value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _pairs(params: Params) -> list[str]:
    return [f"{k}={quote(v)}" for k, v in params]


def _wrap(head: str, words: list[str], indent: str = "\t\t") -> list[str]:
    """`head w1 w2 ...` split over continuation lines (crmsh joins lines ending in \\)."""
    lines, cur = [], head
    for word in words:
        if len(cur) + 1 + len(word) > _WIDTH and cur.strip() != head.strip():
            lines.append(cur + " \\")
            cur = indent + word
        else:
            cur += " " + word
    lines.append(cur)
    return lines


def _primitive(prim: Primitive, diags: Diagnostics) -> list[str]:
    out = [f"# {c}" for c in prim.comments]
    for key, value in prim.params:
        if not value.isascii() or any(ord(ch) < 32 for ch in value):
            diags.warn(None, f"{prim.id}: {key} contains non-ASCII or control characters, which "
                             "crmsh may alter: check it after loading")
    sections = [_wrap("\tparams", _pairs(prim.params))] if prim.params else []
    sections += [_wrap("\tmeta", _pairs(prim.meta))] if prim.meta else []
    sections += [_wrap("\top monitor", _pairs(op)) for op in prim.ops]
    for section in sections[:-1]:
        section[-1] += " \\"
    out.append(f"primitive {prim.id} {prim.agent}" + (" \\" if sections else ""))
    return out + [line for section in sections for line in section]


def _clone(clone: Clone, diags: Diagnostics) -> list[str]:
    out = _primitive(clone.primitive, diags)
    head = f"clone {clone.id} {clone.primitive.id}"
    if not clone.meta:
        return [*out, head]
    return [*out, head + " \\", *_wrap("\tmeta", _pairs(clone.meta))]


def _role(rsc: str, role: str) -> str:
    return f"{rsc}:{role}" if role else rsc


def render(plan: Plan, diags: Diagnostics) -> str:
    """The configuration commands (the caller adds the comment header)."""
    out: list[str] = []
    for table in plan.tables:
        if out:
            out.append("")
        for clone in table.clones:
            out.extend(_clone(clone, diags))
        if table.vip is not None:
            out.extend(_primitive(table.vip, diags))
    if plan.sync is not None:
        if out:
            out.append("")
        out.extend(_clone(plan.sync, diags))
    if plan.colocations or plan.orders or plan.locations:
        out.append("")
    for col in plan.colocations:
        score = "inf" if col.score == "INFINITY" else col.score
        out.extend(_wrap(f"colocation {col.id} {score}:",
                         [_role(col.rsc, col.rsc_role), _role(col.with_rsc, col.with_role)],
                         "\t"))
    for order in plan.orders:
        out.extend(_wrap(f"order {order.id} {order.kind}:",
                         [f"{order.first}:{order.first_action}",
                          f"{order.then}:{order.then_action}"], "\t"))
    for loc in plan.locations:
        out.append(f"location {loc.id} {loc.rsc} rule {loc.attribute}: defined {loc.attribute}")
    return "\n".join(out) + "\n"
