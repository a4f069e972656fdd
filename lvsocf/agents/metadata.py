"""Meta-data XML for an :class:`~lvsocf.agents.definition.Agent`, built with lxml.

Imported only by the ``meta-data`` action: lxml stays off the monitor path.

Two renderings of the same declaration:

OCF 1.1 (``<version>1.1</version>``, checked against the OCF 1.1 RelaxNG): ``unique-group``,
``reloadable``, ``<deprecated>``, ``select`` with ``<option>`` elements, every action
including ``reload-agent``, roles Promoted/Unpromoted. ``time`` is not an OCF 1.1 content
type, so time parameters are ``string`` here.

OCF 1.0 (``<version>1.0</version>`` with a DOCTYPE, valid against resource-agents'
ra-api-1.dtd, which ocf-tester uses): no ``unique-group`` (a group of one parameter becomes
``unique="1"``, larger groups have no 1.0 equivalent), no ``reloadable``, no ``deprecated``
(the shortdesc says it), ``select`` becomes ``string``, actions the DTD does not know
(``reload-agent``) are left out, roles are Master/Slave.

In both, the longdesc of a ``select`` parameter ends with its allowed values: neither
``pcs resource describe`` nor ``crm ra info`` shows ``<option>`` elements.
"""

from __future__ import annotations

import inspect
from collections import Counter

from lxml import etree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from lvsocf.agents.definition import Action, Agent
    from lvsocf.agents.params import Param

DOCTYPE_1_0 = '<!DOCTYPE resource-agent SYSTEM "ra-api-1.dtd">'
ACTIONS_1_0 = frozenset({
    "start", "stop", "recover", "monitor", "restart", "migrate_to", "migrate_from", "promote",
    "demote", "notify", "status", "reload", "meta-data", "usage", "methods", "validate-all",
})
ROLES_1_0 = {"Promoted": "Master", "Unpromoted": "Slave"}


def version_for(environ: Mapping[str, str]) -> str:
    """The OCF version to render for the caller: "1.1" or "1.0".

    Rule: "1.1" when ``OCF_RA_VERSION_MAJOR``/``OCF_RA_VERSION_MINOR`` say the caller speaks
    OCF 1.1 or later; "1.0" when they say 1.0, are unset or are not numbers.

    Pacemaker 2.1 exports 1.1 to every action, meta-data included, and pcs
    (``pcs resource describe``) and crmsh (``crm ra info``) get meta-data through Pacemaker
    (``crm_resource --show-metadata``), so all three see 1.1. ocf-tester exports neither
    variable and validates against the 1.0 DTD, so it sees 1.0; so do Pacemaker 1.x (which
    exports 1.0) and a human running ``agent meta-data`` by hand.
    """
    try:
        major = int(environ.get("OCF_RA_VERSION_MAJOR", ""))
        minor = int(environ.get("OCF_RA_VERSION_MINOR", ""))
    except ValueError:
        return "1.0"
    return "1.1" if (major, minor) >= (1, 1) else "1.0"


def render(agent: Agent, ocf_version: str = "1.1") -> bytes:
    """The meta-data document (UTF-8 bytes) in the given OCF version ("1.1" or "1.0")."""
    if ocf_version not in ("1.0", "1.1"):
        raise ValueError(f"unsupported OCF version {ocf_version!r}")
    v11 = ocf_version == "1.1"
    root = etree.Element("resource-agent", name=agent.name, version=agent.version)
    etree.SubElement(root, "version").text = ocf_version
    _desc(root, "longdesc", agent.longdesc)
    _desc(root, "shortdesc", agent.shortdesc)
    params = etree.SubElement(root, "parameters")
    group_sizes = Counter(p.unique_group for p in agent.parameters if p.unique_group)
    for p in agent.parameters:
        _param(params, p, v11, group_sizes)
    actions = etree.SubElement(root, "actions")
    for a in agent.actions:
        if v11 or a.name in ACTIONS_1_0:
            _action(actions, a, v11)
    # No encoding in the declaration: crmsh parses the decoded text, and lxml refuses a str
    # that declares an encoding ("Cannot parse meta-data XML").
    head = '<?xml version="1.0"?>\n' + ("" if v11 else DOCTYPE_1_0 + "\n")
    return (head + etree.tostring(root, encoding="unicode", pretty_print=True)).encode()


def _desc(parent: etree._Element, tag: str, text: str) -> None:
    etree.SubElement(parent, tag, lang="en").text = inspect.cleandoc(text)


def _param(parent: etree._Element, p: Param, v11: bool, group_sizes: Counter[str]) -> None:
    el = etree.SubElement(parent, "parameter", name=p.name)
    longdesc, shortdesc = inspect.cleandoc(p.longdesc), p.shortdesc
    if v11:
        if p.unique_group:
            el.set("unique-group", p.unique_group)
        if p.reloadable:
            el.set("reloadable", "1")
        if p.deprecated:
            dep = etree.SubElement(el, "deprecated")
            for name in p.replaced_with:
                etree.SubElement(dep, "replaced-with", name=name)
    else:
        if p.unique_group and group_sizes[p.unique_group] == 1:
            el.set("unique", "1")
        if p.deprecated:
            shortdesc = f"Deprecated: {shortdesc}"
            if p.replaced_with:
                longdesc += f"\n\nDeprecated, use {', '.join(p.replaced_with)} instead."
    if p.type == "select":  # in 1.1 too: pcs and crmsh show no <option> elements
        longdesc += f"\n\nAllowed values: {', '.join(p.choices)}."
    if p.required:
        el.set("required", "1")
    _desc(el, "longdesc", longdesc)
    _desc(el, "shortdesc", shortdesc)
    kind = p.type
    if (v11 and kind == "time") or (not v11 and kind == "select"):
        kind = "string"
    content = etree.SubElement(el, "content", type=kind)
    if p.default is not None:
        content.set("default", p.default)
    if kind == "select":
        for choice in p.choices:
            etree.SubElement(content, "option", value=choice)


def _action(parent: etree._Element, a: Action, v11: bool) -> None:
    el = etree.SubElement(parent, "action", name=a.name, timeout=a.timeout)
    if a.interval is not None:
        el.set("interval", a.interval)
    if a.start_delay is not None:
        el.set("start-delay", a.start_delay)
    if a.depth is not None:
        el.set("depth", str(a.depth))
    if a.role is not None:
        el.set("role", a.role if v11 else ROLES_1_0[a.role])
