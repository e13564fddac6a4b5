"""Trees with a class on every node, drawn as SVG (and HTML pages of them); no Graphviz needed.

Every node is a circle filled with its class's colour, with the class's
symbol inside and, on hover, a ``<title>`` naming the class, its probability
when given, and the node's phrase. Words sit under the nodes that carry them
(the leaves of a constituency tree). Sentiment classes use the red-to-blue
five-step scale of the Stanford Sentiment Treebank's demo
(:data:`SENTIMENT_COLORS`; ColorBrewer's RdBu): very negative dark red,
negative light red, neutral near-white, positive light blue, very positive
dark blue.

The layout is computed here, in one pass over the nodes: every word gets a
slot as wide as the word, a node that carries a word sits above its slot, and
any other node sits above the middle of its children, one level per depth.
The SVG is built with :mod:`xml.etree.ElementTree`, so every text is escaped.
"""
from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from ..structures.tree import Tree

__all__ = ["SENTIMENT_COLORS", "SENTIMENT_SYMBOLS", "OTHER_COLOR", "LabelledTree", "tree_svg", "write_svg",
           "write_html", "label_symbol"]

SVG_NS = "http://www.w3.org/2000/svg"

#: Fill colour of each sentiment class (the SST demo's red-to-blue scale).
SENTIMENT_COLORS: Dict[str, str] = {
    "very negative": "#ca0020",
    "negative": "#f4a582",
    "neutral": "#f7f7f7",
    "positive": "#92c5de",
    "very positive": "#0571b0",
}
#: Short symbols drawn inside the nodes (and in terminal drawings).
SENTIMENT_SYMBOLS: Dict[str, str] = {
    "very negative": "--", "negative": "-", "neutral": "0", "positive": "+", "very positive": "++",
}
#: Fill colour of a class with no colour of its own.
OTHER_COLOR = "#bdbdbd"
_DARK = {"#ca0020", "#0571b0"}  # white symbols on these

_FONT = "font-family:Helvetica,Arial,sans-serif"
_CHAR_W = 7.0      # average width of a 12px character
_MIN_SLOT = 26.0
_LEVEL = 44.0
_RADIUS = 10.0
_MARGIN = 12.0
_CAPTION = 22.0


def label_symbol(label: str) -> str:
    """The short symbol of a class (``"++"`` for very positive), or the class itself."""
    return SENTIMENT_SYMBOLS.get(label, label)


@dataclass
class LabelledTree:
    """A tree to draw: a class name for every node.

    Attributes:
        tree: the :class:`~treenets.Tree`.
        labels: the class of every node, in node order.
        titles: hover text of every node (``None``: the class and the phrase).
        caption: a line of text above the tree (``None``: none).
        highlight: nodes drawn with a thick black ring (e.g. the phrases that
            decided a sentence's label; ``class="node deciding"``).
        flips: nodes drawn with a dashed orange ring (e.g. where a child's
            polarity flips; ``class="node flip"``).
    """

    tree: Tree
    labels: Sequence[str]
    titles: Optional[Sequence[str]] = None
    caption: Optional[str] = None
    highlight: Sequence[int] = ()
    flips: Sequence[int] = ()

    def __post_init__(self) -> None:
        if len(self.labels) != len(self.tree):
            raise ValueError(f"{len(self.labels)} labels for a tree of {len(self.tree)} nodes")
        if self.titles is not None and len(self.titles) != len(self.tree):
            raise ValueError(f"{len(self.titles)} titles for a tree of {len(self.tree)} nodes")
        for what, nodes in (("highlight", self.highlight), ("flips", self.flips)):
            bad = [n for n in nodes if not 0 <= n < len(self.tree)]
            if bad:
                raise ValueError(f"{what}: nodes {bad} are not in a tree of {len(self.tree)} nodes")


def _phrase(tree: Tree, node: int) -> str:
    words = tree.subtree(node).words
    text = " ".join(words)
    return text if len(text) <= 80 else text[:77] + "..."


def _layout(tree: Tree):
    """``(x, y, width, height)``: node centres and the drawing's size (before margins)."""
    slots: Dict[int, float] = {}
    x_at = 0.0
    for node, token in enumerate(tree.tokens):
        if token is not None:
            width = max(_MIN_SLOT, _CHAR_W * len(token) + 10.0)
            slots[node] = x_at + width / 2
            x_at += width
    x = [0.0] * len(tree)
    children = tree.children
    for node in tree.postorder():
        if node in slots:
            x[node] = slots[node]
        elif children[node]:
            x[node] = sum(x[c] for c in children[node]) / len(children[node])
    depths = tree.depths
    y = [_RADIUS + _LEVEL * d for d in depths]
    height = max(y) + _RADIUS + 20.0
    return x, y, max(x_at, 2 * _RADIUS), height


def _tree_group(item: LabelledTree, colors: Mapping[str, str], top: float) -> Tuple[ET.Element, float, float]:
    tree = item.tree
    x, y, width, height = _layout(tree)
    group = ET.Element("g", {"class": "tree", "transform": f"translate({_MARGIN:g},{top:g})"})
    offset = 0.0
    if item.caption is not None:
        caption = ET.SubElement(group, "text", {"x": "0", "y": "14", "class": "caption",
                                                "style": f"{_FONT};font-size:13px;font-weight:bold"})
        caption.text = item.caption
        offset = _CAPTION
        width = max(width, 7.5 * len(item.caption))  # bold 13px characters
    body = ET.SubElement(group, "g", {"transform": f"translate(0,{offset:g})"})
    edges = ET.SubElement(body, "g", {"class": "edges", "stroke": "#888", "stroke-width": "1"})
    for node, parent in enumerate(tree.parents):
        if parent >= 0:
            ET.SubElement(edges, "line", {"x1": f"{x[parent]:.1f}", "y1": f"{y[parent]:.1f}",
                                          "x2": f"{x[node]:.1f}", "y2": f"{y[node]:.1f}"})
    nodes = ET.SubElement(body, "g", {"class": "nodes"})
    highlight, flips = set(item.highlight), set(item.flips)
    for node in range(len(tree)):
        label = str(item.labels[node])
        fill = colors.get(label, OTHER_COLOR)
        ring = {"stroke": "#444", "stroke-width": "1", "class": "node"}
        if node in flips:
            ring = {"stroke": "#e66101", "stroke-width": "2.5", "stroke-dasharray": "3,2", "class": "node flip"}
        if node in highlight:
            ring = {"stroke": "#000", "stroke-width": "3",
                    "class": "node deciding" + (" flip" if node in flips else "")}
        shape = ET.SubElement(nodes, "circle", {
            "cx": f"{x[node]:.1f}", "cy": f"{y[node]:.1f}", "r": f"{_RADIUS:g}", "fill": fill,
            **ring, "data-node": str(node), "data-label": label})
        title = ET.SubElement(shape, "title")
        title.text = item.titles[node] if item.titles is not None else f"{label}: {_phrase(tree, node)}"
        symbol = ET.SubElement(nodes, "text", {
            "x": f"{x[node]:.1f}", "y": f"{y[node] + 3.5:.1f}", "text-anchor": "middle", "pointer-events": "none",
            "style": f"{_FONT};font-size:9px;fill:{'#fff' if fill in _DARK else '#222'}"})
        symbol.text = label_symbol(label)
        token = tree.tokens[node]
        if token is not None:
            word = ET.SubElement(nodes, "text", {"x": f"{x[node]:.1f}", "y": f"{y[node] + _RADIUS + 14:.1f}",
                                                 "text-anchor": "middle", "class": "word",
                                                 "style": f"{_FONT};font-size:12px;fill:#222"})
            word.text = token
    return group, width, height + offset


def _svg(items: Iterable[LabelledTree], colors: Optional[Mapping[str, str]]) -> ET.Element:
    colors = SENTIMENT_COLORS if colors is None else colors
    root = ET.Element("svg", {"xmlns": SVG_NS, "version": "1.1"})
    top, width = _MARGIN, 0.0
    for item in items:
        group, w, h = _tree_group(item, colors, top)
        root.append(group)
        top += h + _MARGIN
        width = max(width, w)
    width += 2 * _MARGIN
    root.set("width", f"{width:.0f}")
    root.set("height", f"{top:.0f}")
    root.set("viewBox", f"0 0 {width:.0f} {top:.0f}")
    return root


def tree_svg(tree: Tree, labels: Sequence[str], *, titles: Optional[Sequence[str]] = None,
             caption: Optional[str] = None, colors: Optional[Mapping[str, str]] = None) -> str:
    """One tree as an SVG document (a string).

    Args:
        tree: the tree.
        labels: the class of every node, in node order.
        titles: hover text of every node (default: the class and the node's phrase).
        caption: a line above the tree.
        colors: class -> fill colour (default :data:`SENTIMENT_COLORS`;
            other classes get :data:`OTHER_COLOR`).
    """
    return write_svg([LabelledTree(tree, labels, titles, caption)], colors)


def write_svg(items: Iterable[LabelledTree], colors: Optional[Mapping[str, str]] = None) -> str:
    """Several trees, one under the other, as one SVG document (a string)."""
    return ET.tostring(_svg(list(items), colors), encoding="unicode")


def write_html(items: Iterable[LabelledTree], colors: Optional[Mapping[str, str]] = None,
               title: str = "treenets") -> str:
    """A standalone HTML page: one inline SVG per tree, its caption above it, and a legend."""
    colors = SENTIMENT_COLORS if colors is None else colors
    parts: List[str] = [
        "<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:Helvetica,Arial,sans-serif;margin:1.5em}figure{margin:0 0 1.5em 0}"
        "figcaption{font-weight:bold;margin-bottom:.3em}.legend span{display:inline-block;padding:.1em .5em;"
        "margin-right:.3em;border:1px solid #444;font-size:.9em}</style>",
        "</head>", "<body>",
    ]
    used: List[str] = []
    figures: List[str] = []
    marked = False
    for item in items:
        marked = marked or bool(item.highlight or item.flips)
        for label in item.labels:
            if str(label) not in used:
                used.append(str(label))
        svg = ET.tostring(_svg([LabelledTree(item.tree, item.labels, item.titles, None, item.highlight,
                                                  item.flips)], colors), encoding="unicode")
        caption = "" if item.caption is None else f"<figcaption>{html.escape(item.caption)}</figcaption>"
        figures.append(f"<figure>{caption}{svg}</figure>")
    order = [k for k in colors if k in used] + [k for k in used if k not in colors]
    legend = "".join(f'<span style="background:{colors.get(k, OTHER_COLOR)};'
                     f'color:{"#fff" if colors.get(k) in _DARK else "#222"}">{html.escape(label_symbol(k))} '
                     f"{html.escape(k)}</span>" for k in order)
    if marked:
        legend += ('<span style="border:3px solid #000">deciding phrase</span>'
                   '<span style="border:2px dashed #e66101">polarity flips here</span>')
    parts.append(f'<p class="legend">{legend}</p>')
    parts.extend(figures)
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
