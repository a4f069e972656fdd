"""keepalived.conf lexer and block tree.

A statement is a keyword and its arguments on one line, optionally followed by a `{ ... }`
block (the `{` may be on the next line; one-line blocks `url { path / }` work). `!` or `#` at
the start of a word begins a comment; "quoted strings" are one word. `include`, conditional
lines (`@id`, `@^id`) and `$PARAM=` definitions are handled as keepalived does without `-i`,
with a warning, since the converter sees only this one file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .diag import Diagnostics
from .values import source_lines

_INCLUDE = {"include", "includer", "includem", "includew", "includeb", "includea"}


@dataclass
class Token:
    text: str
    line: int
    quoted: bool = False

    @property
    def brace(self) -> str | None:
        return None if self.quoted or self.text not in "{}" else self.text


@dataclass
class Node:
    keyword: str
    args: list[str]
    line: int
    children: list[Node] | None = None  # None: the statement has no block


def tokenize(line: str, n: int, diags: Diagnostics) -> list[Token]:
    tokens: list[Token] = []
    i, end = 0, len(line)
    while i < end:
        ch = line[i]
        if ch.isspace():
            i += 1
        elif ch in "!#":
            break
        elif ch == '"':
            close = line.find('"', i + 1)
            if close < 0:
                diags.error(n, "unterminated quoted string")
            tokens.append(Token(line[i + 1:close], n, True))
            i = close + 1
        elif ch in "{}":
            tokens.append(Token(ch, n))
            i += 1
        else:
            j = i
            while j < end and not line[j].isspace() and line[j] not in '{}"':
                j += 1
            tokens.append(Token(line[i:j], n))
            i = j
    return tokens


def _preprocess(text: str, diags: Diagnostics) -> list[tuple[int, str]]:
    """Lines to tokenize, after conditional lines, includes and parameters."""
    out: list[tuple[int, str]] = []
    continuation = False
    for n, raw in enumerate(source_lines(text), 1):
        line = raw.strip()
        if continuation:
            continuation = line.endswith("\\")
            continue
        if line.startswith("@"):
            negated, tag, rest = _conditional(line)
            if not negated:
                diags.warn(n, f"conditional line @{tag} skipped (as keepalived without -i)")
                continue
            diags.warn(n, f"conditional line @^{tag} included (as keepalived without -i)")
            line = rest
        if re.match(r"\$[A-Za-z_]\w*=", line):
            diags.warn(n, "parameter definitions ($NAME=) are not supported: line skipped, "
                          "uses of the parameter are left as they are")
            continuation = line.endswith("\\")
            continue
        first = line.split(None, 1)[0] if line else ""
        if first in _INCLUDE:
            diags.warn(n, f"{first} not followed: convert the included file(s) separately "
                          "or concatenate them first")
            continue
        out.append((n, line))
    return out


def _conditional(line: str) -> tuple[bool, str, str]:
    negated = line.startswith("@^")
    parts = line[2 if negated else 1:].split(None, 1)
    tag = parts[0][:30] if parts else ""
    return negated, tag, parts[1] if len(parts) > 1 else ""


def parse_tree(text: str, diags: Diagnostics) -> list[Node]:
    root = Node("", [], 0, [])
    stack = [root]
    pending: Node | None = None  # a statement that may still take a block on a later line
    for n, line in _preprocess(text, diags):
        tokens = tokenize(line, n, diags)
        if not tokens:
            continue
        words: list[Token] = []
        for tok in tokens:
            if tok.brace is None:
                words.append(tok)
                continue
            if words:
                pending = _statement(stack[-1], words)
                words = []
            if tok.brace == "{":
                if pending is None or pending.children is not None:
                    diags.error(n, "'{' without a keyword before it")
                pending.children = []
                stack.append(pending)
            else:
                if len(stack) == 1:
                    diags.error(n, "unmatched '}'")
                stack.pop()
            pending = None
        if words:
            pending = _statement(stack[-1], words)
    if len(stack) > 1:
        diags.error(stack[-1].line, f"block '{stack[-1].keyword}' opened here is never closed "
                                    "(missing '}')")
    return root.children or []


def _statement(parent: Node, words: list[Token]) -> Node:
    node = Node(words[0].text, [w.text for w in words[1:]], words[0].line)
    assert parent.children is not None
    parent.children.append(node)
    return node
