"""Permutation prompts: ``a {red, green} bird`` becomes one prompt per option.

Braces are expanded over the whole text before anything else is parsed, so they work in parameters too
(``--ar {1:1, 16:9}``). Groups nest (``{red, {light, dark} green}``); inside braces ``\\,`` is a literal comma.
Outside braces the text is left exactly as written.
"""

from __future__ import annotations

import itertools
import math
from typing import TypeAlias

from bot.prompt_error import PromptError

# Deep nesting is never meaningful in a prompt and would only exhaust the recursion below.
MAX_DEPTH = 10

_HINT = "Write permutations like: a {red, green} bird. Use \\, for a comma inside braces."

# A parsed text is a sequence of literal strings and groups; a group is a list of alternative sequences.
_Seq: TypeAlias = "list[str | _Group]"
_Group: TypeAlias = "list[_Seq]"


def expand_permutations(text: str, limit: int) -> list[str]:
    """Every expansion of the braces in ``text``, in order, leftmost group varying slowest.

    Raises PromptError for unbalanced or too deeply nested braces, and when there would be more than ``limit``
    expansions.
    """
    tree = _parse(text)
    count = _count(tree)
    if count > limit:
        raise PromptError(
            "Too many permutations",
            f"This prompt expands to {count} jobs; at most {limit} are allowed.",
            hint="Use fewer options in braces, or fewer brace groups.",
        )
    return _expand(tree)


def _parse(text: str) -> _Seq:
    root: _Seq = []
    current = root
    groups: list[_Group] = []  # the open groups, innermost last
    literal: list[str] = []

    def flush() -> None:
        if literal:
            current.append("".join(literal))
            literal.clear()

    i = 0
    while i < len(text):
        char = text[i]
        if char == "\\" and groups and text.startswith(",", i + 1):
            literal.append(",")
            i += 2
            continue
        if char == "{":
            flush()
            if len(groups) == MAX_DEPTH:
                raise PromptError("Invalid permutation", f"Braces are nested more than {MAX_DEPTH} deep.", _HINT)
            group: _Group = [[]]
            current.append(group)
            groups.append(group)
            current = group[-1]
        elif char == "," and groups:
            flush()
            groups[-1].append([])
            current = groups[-1][-1]
        elif char == "}":
            if not groups:
                raise PromptError(
                    "Invalid permutation", f'Unbalanced braces: the "}}" at character {i + 1} has no "{{".', _HINT
                )
            flush()
            groups.pop()
            current = groups[-1][-1] if groups else root
        else:
            literal.append(char)
        i += 1
    if groups:
        raise PromptError("Invalid permutation", 'Unbalanced braces: a "{" is never closed.', _HINT)
    flush()
    return root


def _count(seq: _Seq) -> int:
    return math.prod(sum(_count(alt) for alt in node) for node in seq if not isinstance(node, str))


def _expand(seq: _Seq) -> list[str]:
    choices = [[node] if isinstance(node, str) else [s for alt in node for s in _expand(alt)] for node in seq]
    return ["".join(parts) for parts in itertools.product(*choices)]
