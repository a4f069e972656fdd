"""Plan -> POSIX shell script of pcs (0.11+) commands.

The commands work on a copy of the CIB (`pcs -f "$cib"`) that is pushed in one step at the
end, so the cluster never runs a half-built configuration. One command per line: the script
can be split back into argv lists with shlex (the tests do).
"""

from __future__ import annotations

import shlex

from .plan import Clone, Params, Plan, Primitive, ScoreRule

CIB_VAR = '"$cib"'
PROLOGUE = [
    "set -eu",
    'cib=$(mktemp "${TMPDIR:-/tmp}/lvsocf-cib.XXXXXX")',
    "trap 'rm -f \"$cib\"' EXIT",
    'pcs cluster cib "$cib"',
]
EPILOGUE = ['pcs cluster cib-push "$cib" --config']


def _pcs(*words: str) -> str:
    return f"pcs -f {CIB_VAR} " + " ".join(words)


def _kv(params: Params) -> list[str]:
    return [shlex.quote(f"{k}={v}") for k, v in params]


def _create(prim: Primitive, tail: list[str]) -> list[str]:
    words = ["resource", "create", shlex.quote(prim.id), prim.agent, *_kv(prim.params)]
    for op in prim.ops:
        words += ["op", "monitor", *_kv(op)]
    if prim.meta:
        words += ["meta", *_kv(prim.meta)]
    return [f"# {c}" for c in prim.comments] + [_pcs(*words, *tail)]


def _clone(clone: Clone) -> list[str]:
    """The primitive, then `pcs resource clone|promotable RSC ID meta K=V...`: the one spelling
    pcs 0.11 and 0.12 both take without a word. pcs 0.12 deprecates clone options without
    `meta`, and in `resource create ... clone ID meta K=V` its `meta` means the primitive's."""
    kind = "promotable" if ("promotable", "true") in clone.meta else "clone"
    meta = [(k, v) for k, v in clone.meta if k != "promotable"]
    return [*_create(clone.primitive, []),
            _pcs("resource", kind, shlex.quote(clone.primitive.id), shlex.quote(clone.id),
                 *(["meta", *_kv(meta)] if meta else []))]


def _score_rule(loc: ScoreRule) -> list[str]:
    """pcs 0.12 takes a rule as one string (words are deprecated), pcs 0.11 only as words:
    the rule goes in the positional parameters, chosen by `pcs --version`."""
    words = f"defined {loc.attribute}"
    return [f"case $(pcs --version) in 0.11.*) set -- {words} ;; "
            f"*) set -- {shlex.quote(words)} ;; esac",
            _pcs("constraint", "location", shlex.quote(loc.rsc), "rule",
                 shlex.quote(f"constraint-id={loc.id}"),
                 shlex.quote(f"score-attribute={loc.attribute}"), '"$@"')]


def render(plan: Plan) -> str:
    """The script body (the caller puts the shebang and the comment header first)."""
    out = list(PROLOGUE)
    for table in plan.tables:
        out.append("")
        for clone in table.clones:
            out.extend(_clone(clone))
        if table.vip is not None:
            out.extend(_create(table.vip, []))
    if plan.sync is not None:
        out.append("")
        out.extend(_clone(plan.sync))
    if plan.colocations or plan.orders or plan.locations:
        out.append("")
    for col in plan.colocations:
        out.append(_pcs("constraint", "colocation", "add",
                        *([col.rsc_role] if col.rsc_role else []), shlex.quote(col.rsc), "with",
                        *([col.with_role] if col.with_role else []), shlex.quote(col.with_rsc),
                        f"score={col.score}", shlex.quote(f"id={col.id}")))
    for order in plan.orders:
        out.append(_pcs("constraint", "order", order.first_action, shlex.quote(order.first),
                        "then", order.then_action, shlex.quote(order.then),
                        f"kind={order.kind}", shlex.quote(f"id={order.id}")))
    for loc in plan.locations:
        out.extend(_score_rule(loc))
    out.append("")
    out.extend(EPILOGUE)
    return "\n".join(out) + "\n"
