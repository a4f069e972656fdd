"""Plan -> crmsh configuration for `crm configure load update FILE` (no `commit` needed:
`load update` merges the file into the CIB and commits it in one step)."""

from __future__ import annotations

import re

from .diag import Diagnostics
from .plan import Params, Plan, Primitive

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
    sections += [_wrap("\top monitor", _pairs(op)) for op in prim.ops]
    for section in sections[:-1]:
        section[-1] += " \\"
    out.append(f"primitive {prim.id} {prim.agent}" + (" \\" if sections else ""))
    return out + [line for section in sections for line in section]


def render(plan: Plan, diags: Diagnostics) -> str:
    """The configuration commands (the caller adds the comment header)."""
    out: list[str] = []
    for group in plan.groups:
        if out:
            out.append("")
        for prim in group.members:
            out.extend(_primitive(prim, diags))
        out.extend(_wrap(f"group {group.id}", [m.id for m in group.members], "\t"))
    if plan.clone is not None:
        clone = plan.clone
        if out:
            out.append("")
        out.extend(_primitive(clone.primitive, diags))
        out.append(f"clone {clone.id} {clone.primitive.id} \\")
        out.extend(_wrap("\tmeta", _pairs(clone.meta)))
    if plan.colocations or plan.orders:
        out.append("")
    for col in plan.colocations:
        score = "inf" if col.score == "INFINITY" else col.score
        out.append(f"colocation {col.id} {score}: {col.rsc} {col.with_rsc}:{col.with_role}")
    for order in plan.orders:
        out.append(f"order {order.id} {order.kind}: {order.first}:{order.first_action} "
                   f"{order.then}:{order.then_action}")
    return "\n".join(out) + "\n"
