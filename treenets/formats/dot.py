"""Graphviz dot: a tree drawn top-down, for ``dot -Tsvg`` or any dot viewer."""
from __future__ import annotations

from typing import List

from ..structures.tree import Tree

__all__ = ["write_dot"]


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_dot(tree: Tree, name: str = "tree") -> str:
    """A tree in Graphviz dot, edges from parent to child.

    Each node is a box labelled ``label | relation | word`` (the parts it has,
    or its id when it has none).
    """
    lines: List[str] = [f"digraph {_quote(name)} {{", "  node [shape=box];"]
    for i in range(len(tree)):
        parts = [str(p) for p in (tree.labels[i], tree.rels[i] if tree.rels else None, tree.tokens[i])
                 if p is not None]
        lines.append(f"  n{i} [label={_quote(' | '.join(parts) or str(i))}];")
    for i, par in enumerate(tree.parents):
        if par >= 0:
            lines.append(f"  n{par} -> n{i};")
    lines.append("}")
    return "\n".join(lines) + "\n"
