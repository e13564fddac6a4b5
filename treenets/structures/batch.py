"""Many trees packed into one graph, with the propagation schedule precomputed.

Edges run from child to parent. Nodes keep the numbering they came with: for
:meth:`TreeBatch.from_trees`, tree 0's nodes first (in the tree's own order),
then tree 1's, and so on; for :meth:`TreeBatch.from_dgl`,
:meth:`TreeBatch.from_edge_index` and :meth:`TreeBatch.from_pyg`, the graph's
node ids. Graphs of other libraries enter and leave only here; the
conversions live in :mod:`treenets.structures` (``dgl_graph.py``, ``pyg.py``),
which imports DGL or PyG only when called.

The schedule: nodes are grouped into *levels* by depth and processed deepest
level first. Every child is exactly one level deeper than its parent, so the
children of level ``k`` are precisely the nodes of level ``k - 1``. A cell's
forward pass is then a loop over levels in which the previous level's states
are scattered into their parents' slots: no buffer is written in place, and
every node's state is computed once.
"""
from __future__ import annotations

import array

from typing import Callable, Dict, List, Mapping, Optional, Sequence

import torch

from .tree import Tree, as_int

__all__ = ["TreeBatch", "default_label"]

Tensor = torch.Tensor


def _number_like(text: str) -> bool:
    """A string that reads as a number ("2.7", "1e3", "nan", "+3", "²", "٣"), as opposed to a category ("NP", "S1")."""
    if text.lstrip("+-").isnumeric():
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


def default_label(label: object) -> int:
    """The class id of a node label: integers are classes, category names are no target (-1).

    * ``None`` -> -1 (no label).
    * An integer: a Python or numpy int, a 0-dim integer tensor, a float with
      an integral value (``3.0``), or a string of ASCII digits (``"3"``, as
      bracket files give them) -> that class; ``-1`` means no label.
    * A string that names a category (``"NP"``, ``"S-TPC-2"``) -> -1.

    Raises:
        ValueError: anything else, rather than a silent "no label": a
            non-integral number (``2.7``, NaN), a string that reads as a number
            but is not ASCII digits (``"2.7"``, ``"²"``, ``"+3"``), a class
            below -1, or another type (a list, a tensor with several values).
    """
    if label is None:
        return -1
    if isinstance(label, str):
        text = label.strip()
        value = as_int(text)
        if value is None:
            if text and _number_like(text):
                raise ValueError(f"label {label!r} reads as a number but not as an integer class "
                                 f"(ASCII digits, e.g. '3')")
            return -1
    else:
        value = as_int(label)
        if value is None:
            raise ValueError(f"label {label!r} ({type(label).__name__}) is not an integer class; "
                             f"class labels are integers (-1 for none), category labels are strings")
    if value < -1:
        raise ValueError(f"label {value} is below -1; classes are 0, 1, ... and -1 means no label")
    return value


def _int_tensor(name: str, value) -> Tensor:
    """``value`` as a CPU ``LongTensor``; a float, bool or complex tensor (or list) is an error, never truncated."""
    tensor = torch.as_tensor(value)
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise ValueError(f"{name} must hold integers, got dtype {tensor.dtype}; a float such as 2.9 is not "
                         f"silently truncated")
    return tensor.to(dtype=torch.long)


def _long_tensor(values: List[int]) -> Tensor:
    """``torch.tensor(values, dtype=torch.long)`` for a non-empty list of Python ints, four times faster: the
    list is packed by ``array`` (C) and the tensor shares its buffer."""
    return torch.frombuffer(array.array("q", values), dtype=torch.long)


def _lookup_all(lookup, tokens) -> Optional[List[int]]:
    """Every token's id through ``lookup`` (a vocabulary's whole-tree mapping), or ``None`` where the
    token-by-token path must decide (no ``lookup``, an unknown token without an unknown-word id)."""
    if lookup is None:
        return None
    try:
        return lookup(tokens)
    except KeyError:  # an unknown word and no unknown-word id: the slow path names it
        return None


def _word_ids(out: List[int], tokens, vocab, t: int) -> None:
    """Append each token's id (-1 for no token or no vocabulary), checked, naming tree ``t`` and the node."""
    for node, token in enumerate(tokens):
        if token is None or vocab is None:
            out.append(-1)
            continue
        try:
            raw = vocab[token]
        except KeyError:
            raise ValueError(f"token {token!r} (tree {t}, node {node}) is not in the vocabulary "
                             f"and the mapping has no unknown word; use treenets.Vocab(unk=...)") from None
        word_id = raw if type(raw) is int else as_int(raw)
        if word_id is None or word_id < 0:
            raise ValueError(f"token {token!r} (tree {t}, node {node}) has word id {raw!r} in the "
                             f"vocabulary; word ids are integers >= 0")
        out.append(word_id)


def _check_labels(out: List[int], labels, label_fn, t: int) -> None:
    """Append each node's class id from ``label_fn``, checked, naming tree ``t`` and the node."""
    for node, label in enumerate(labels):
        try:
            raw = label_fn(label)
        except (TypeError, ValueError, KeyError) as err:
            raise ValueError(f"label {label!r} of tree {t}, node {node}: {err}") from None
        value = raw if type(raw) is int else as_int(raw)
        if value is None or value < -1:
            raise ValueError(f"label {label!r} of tree {t}, node {node}: label_fn gave {raw!r}, "
                             f"not a class id (an integer >= 0, or -1 for no label)")
        out.append(value)


class TreeBatch:
    """A batch of trees as one graph with edges from child to parent.

    Build it with :meth:`from_trees`, :meth:`from_parent_tensor`,
    :meth:`from_dgl`, :meth:`from_edge_index` or :meth:`from_pyg`; do not call
    the constructor directly.

    The tensors below are all ``LongTensor``; ``N = num_nodes``, ``T = num_trees``.

    Attributes:
        parent: ``[N]`` parent of every node, ``-1`` at roots.
        child_pos: ``[N]`` position among siblings (0-based), ``-1`` at roots.
        depth: ``[N]`` distance from the tree's root.
        tree_index: ``[N]`` which tree each node belongs to.
        word_ids: ``[N]`` token id, ``-1`` where a node has no token.
        labels: ``[N]`` class label, ``-1`` where none.
        roots: ``[T]`` root node of every tree, in input order.
        order: ``[N]`` node ids in processing order: deepest level first, and
            within a level the nodes with children before the leaves.
        internal_order: the nodes of ``order`` that have children (still
            level by level).
        leaf_order: the leaves of ``order`` (still level by level).
        position: ``[N]`` inverse of ``order``: where each node sits in it.
        parent_slot: ``[N]`` in processing order: the parent's index within
            its own level, ``-1`` for roots.
        ordered_child_pos: ``child_pos`` in processing order.
        level_sizes: ``list[int]`` number of nodes per level, processing order.
        level_internal_sizes: ``list[int]`` how many of them have children.
        max_children: largest number of children of any node.
        max_word_id: largest word id (-1 when no node has a word).
        first_wordless_leaf: a leaf with ``word_ids == -1`` (the smallest such
            node id), ``-1`` when every leaf has a word.
        word_source: where ``word_ids`` came from (``"vocab"``,
            ``"ndata['x']"``, ``"word_ids"``...), ``None`` when the batch was
            built without word ids.
        missing_words_help: how to give this batch word ids, for errors.
        trees: the :class:`Tree` objects, when built from trees.
        node_data: extra per-node tensors kept from a DGL graph so that
            :meth:`to_dgl` can give them back.
        edge_data: extra per-child-edge tensors kept from a DGL graph, likewise.
        dgl_batch_num_nodes: member sizes of the batched DGL graph this batch
            came from when its members are forests (``None`` otherwise), so
            that :meth:`to_dgl` rebuilds the same members.
    """

    def __init__(self) -> None:  # populated by _build
        self.parent: Tensor
        self.child_pos: Tensor
        self.depth: Tensor
        self.tree_index: Tensor
        self.word_ids: Tensor
        self.labels: Tensor
        self.roots: Tensor
        self.order: Tensor
        self.position: Tensor
        self.parent_slot: Tensor
        self.ordered_child_pos: Tensor
        self.internal_order: Tensor
        self.leaf_order: Tensor
        self.level_sizes: List[int] = []
        self.level_internal_sizes: List[int] = []
        self.max_children: int = 0
        self.max_word_id: int = -1
        self.first_wordless_leaf: int = -1
        self.word_source: Optional[str] = None
        self.missing_words_help: str = "build the batch with word ids"
        self.trees: Optional[List[Tree]] = None
        self.node_data: Dict[str, Tensor] = {}
        self.edge_data: Dict[str, Tensor] = {}
        self.batch_num_nodes: Optional[List[int]] = None
        self.dgl_batch_num_nodes: Optional[List[int]] = None

    # ------------------------------------------------------------------ build
    @classmethod
    def from_trees(
        cls,
        trees: Sequence[Tree],
        vocab: Optional[Mapping[str, int]] = None,
        label_fn: Callable[[object], int] = default_label,
    ) -> "TreeBatch":
        """Pack ``trees`` into one batch.

        Args:
            trees: the trees, in order; ``roots[t]`` is tree ``t``'s root.
            vocab: a :class:`~treenets.Vocab` or any mapping from token to id.
                With ``None``, every ``word_id`` is -1 (pass inputs yourself).
            label_fn: turns a node label into a class id, -1 for none. The
                default (:func:`default_label`) keeps integer labels, gives
                category names (``"NP"``) -1, and refuses anything else.

        Raises:
            ValueError: on an empty list, a non-Tree item, a token missing
                from a plain mapping, a word id that is not an integer >= 0,
                or a label that is not an integer class >= -1 (``2.7``,
                ``"²"``, or what ``label_fn`` gave); each names the tree and node.
        """
        trees = list(trees)
        if not trees:
            raise ValueError("from_trees needs at least one tree; got an empty list")
        parent: List[int] = []
        child_pos: List[int] = []
        word_ids: List[int] = []
        labels: List[int] = []
        sizes: List[int] = []
        depths: List[int] = []
        # fast paths, same results: a vocabulary that maps a whole tree at once (treenets.Vocab.word_ids:
        # integer ids >= 0 by construction, -1 for no token), and integer labels under the default label_fn
        lookup = getattr(vocab, "word_ids", None) if vocab is not None else None
        fast_labels = label_fn is default_label
        for t, tree in enumerate(trees):
            if not isinstance(tree, Tree):
                raise ValueError(f"item {t} is a {type(tree).__name__}, not a treenets.Tree")
            parent.extend(tree.parents)  # the tree's own node ids: shifted by the tree's offset below
            child_pos.extend(tree.child_positions)
            depths.extend(tree.depths)
            tokens, tree_labels = tree.tokens, tree.labels
            ids = _lookup_all(lookup, tokens)
            if ids is not None:
                word_ids.extend(ids)
            else:
                _word_ids(word_ids, tokens, vocab, t)
            if fast_labels and tree_labels and set(map(type, tree_labels)) == {int} and min(tree_labels) >= -1:
                labels.extend(tree_labels)
            else:
                _check_labels(labels, tree_labels, label_fn, t)
            sizes.append(len(tree))
        own_parent = _long_tensor(parent)
        size = _long_tensor(sizes)
        offset = torch.repeat_interleave(torch.cumsum(size, 0) - size, size)  # [N] each node's tree's first row
        batch = cls._build(
            parent=torch.where(own_parent >= 0, own_parent + offset, own_parent),
            child_pos=_long_tensor(child_pos),
            word_ids=_long_tensor(word_ids),
            labels=_long_tensor(labels),
            batch_num_nodes=sizes,
            depth=_long_tensor(depths),
        )
        batch.trees = trees
        if vocab is not None:
            batch.word_source = "vocab"
        else:
            batch.missing_words_help = ("it was built without a vocabulary: use TreeBatch.from_trees(trees, vocab) "
                                        "(a treenets.Vocab, or any mapping from token to id)")
        return batch

    @classmethod
    def from_parent_tensor(
        cls,
        parent: Tensor,
        child_pos: Optional[Tensor] = None,
        word_ids: Optional[Tensor] = None,
        labels: Optional[Tensor] = None,
        batch_num_nodes: Optional[Sequence[int]] = None,
    ) -> "TreeBatch":
        """Build from a parent array (``-1`` at roots) over all nodes of a forest.

        ``child_pos`` fixes the order of siblings; without it, siblings are
        ordered by node id. Roots are listed in node-id order unless
        ``batch_num_nodes`` gives contiguous trees, one root each.

        Raises:
            ValueError: if the parents do not form a forest (a cycle, an index
                out of range), if ``child_pos`` repeats a position among
                siblings, if a segment of ``batch_num_nodes`` is not one tree,
                if a tensor holds floats (never truncated), or if a word id or
                label is below -1 (naming the node).
        """
        batch = cls._build(parent, child_pos, word_ids, labels, batch_num_nodes)
        if word_ids is not None:
            batch.word_source = "word_ids"
        else:
            batch.missing_words_help = "pass word_ids= to TreeBatch.from_parent_tensor"
        return batch

    @classmethod
    def _build(cls, parent, child_pos=None, word_ids=None, labels=None, batch_num_nodes=None,
               depth=None) -> "TreeBatch":
        parent = _int_tensor("parent", parent).cpu()
        n = parent.numel()
        if n == 0:
            raise ValueError("a batch needs at least one node")
        if ((parent < -1) | (parent >= n)).any():
            bad = int(torch.nonzero((parent < -1) | (parent >= n))[0])
            raise ValueError(f"parent {int(parent[bad])} of node {bad} is out of range -1..{n - 1}")
        ids = torch.arange(n)
        is_root = parent < 0

        if depth is not None:
            # from Trees, each checked when it was made (one root, no cycle, distinct child positions):
            # the depths are the trees' own and tree t's nodes are its batch_num_nodes[t] rows
            depth = torch.as_tensor(depth, dtype=torch.long)
            roots = torch.nonzero(is_root).flatten()
            tree_index = torch.repeat_interleave(torch.arange(len(batch_num_nodes)),
                                                 torch.tensor(batch_num_nodes, dtype=torch.long))
            child_pos = _int_tensor("child_pos", child_pos).clone()
            child_pos[is_root] = -1
        else:
            # Pointer jumping: depth and root of every node in O(log depth) passes.
            jump = torch.where(is_root, ids, parent)
            depth = (~is_root).long()
            for _ in range(n.bit_length() + 1):
                nxt = jump[jump]
                if torch.equal(nxt, jump):
                    break
                depth = depth + depth[jump]
                jump = nxt
            else:
                raise ValueError(f"the parents contain a cycle (through node {int(torch.nonzero(jump[jump] != jump)[0])})")
            if not torch.equal(jump[jump], jump) or not is_root[jump].all():
                bad = int(torch.nonzero(~is_root[jump])[0])
                raise ValueError(f"the parents contain a cycle: node {bad} never reaches a root")
            root_of = jump

            roots = torch.nonzero(is_root).flatten()
            if batch_num_nodes is not None:
                sizes = _int_tensor("batch_num_nodes", list(batch_num_nodes)).tolist()
                if sum(sizes) != n:
                    raise ValueError(f"batch_num_nodes adds up to {sum(sizes)} but there are {n} nodes")
                seg = torch.repeat_interleave(torch.arange(len(sizes)), torch.tensor(sizes, dtype=torch.long))
                if len(roots) != len(sizes) or not torch.equal(seg[roots], torch.arange(len(sizes))):
                    raise ValueError(f"every tree must have exactly one root: {len(roots)} roots "
                                     f"for {len(sizes)} trees (sizes {sizes[:10]})")
                if not torch.equal(seg[root_of], seg):
                    bad = int(torch.nonzero(seg[root_of] != seg)[0])
                    raise ValueError(f"node {bad} of tree {int(seg[bad])} has its root in another tree")
            tree_of_root = torch.full((n,), -1, dtype=torch.long)
            tree_of_root[roots] = torch.arange(len(roots))
            tree_index = tree_of_root[root_of]

            # Child positions: given, or by node id among siblings.
            if child_pos is None:
                key = torch.where(is_root, torch.full_like(parent, n), parent) * n + ids
                sorted_ids = torch.argsort(key)
                par_sorted = parent[sorted_ids]
                start = torch.ones(n, dtype=torch.bool)
                start[1:] = par_sorted[1:] != par_sorted[:-1]
                group_start = torch.cummax(torch.where(start, torch.arange(n), torch.zeros(n, dtype=torch.long)), 0).values
                child_pos = torch.empty(n, dtype=torch.long)
                child_pos[sorted_ids] = torch.arange(n) - group_start
                child_pos[is_root] = -1
            else:
                child_pos = _int_tensor("child_pos", child_pos).cpu().clone()
                child_pos[is_root] = -1
                if (child_pos[~is_root] < 0).any():
                    bad = int(torch.nonzero((child_pos < 0) & ~is_root)[0])
                    raise ValueError(f"child position {int(child_pos[bad])} of node {bad} is negative")
                slot = parent[~is_root] * (int(child_pos.max()) + 1) + child_pos[~is_root]
                if torch.unique(slot).numel() != slot.numel():
                    raise ValueError("two siblings share one child position")
        max_children = int(child_pos.max()) + 1 if n > len(roots) else 0

        # Schedule: levels by depth, deepest first; within a level, nodes with
        # children first, then leaves (leaves need no children and are computed
        # together before the loop).
        has_child = torch.zeros(n, dtype=torch.bool)
        has_child[parent[~is_root]] = True
        max_depth = int(depth.max())
        level_of = max_depth - depth
        order = torch.argsort(level_of * 2 + (~has_child).long(), stable=True)
        level_sizes = torch.bincount(level_of, minlength=max_depth + 1)
        internal_sizes = torch.bincount(level_of[has_child], minlength=max_depth + 1)
        level_start = torch.cumsum(level_sizes, 0) - level_sizes
        position = torch.empty(n, dtype=torch.long)
        position[order] = ids
        par_o = parent[order]
        safe = par_o.clamp(min=0)
        parent_slot = torch.where(par_o >= 0, position[safe] - level_start[level_of[safe]], torch.full_like(par_o, -1))
        ordered_is_leaf = ~has_child[order]
        batch = cls()
        batch.parent = parent
        batch.child_pos = child_pos
        batch.depth = depth
        batch.tree_index = tree_index
        batch.word_ids = torch.full((n,), -1, dtype=torch.long) if word_ids is None else _int_tensor("word_ids", word_ids)
        batch.labels = torch.full((n,), -1, dtype=torch.long) if labels is None else _int_tensor("labels", labels)
        for name, meaning in (("word_ids", "no word"), ("labels", "no label")):
            value = getattr(batch, name)
            if value.shape != (n,):
                raise ValueError(f"{name} has shape {tuple(value.shape)}, expected ({n},)")
            if n and int(value.min()) < -1:
                bad = int(torch.nonzero(value < -1)[0])
                raise ValueError(f"{name} of node {bad} is {int(value[bad])}: below -1, which means {meaning}")
        # worked out here, on the CPU, so that forward passes never sync a device to check ids
        batch.max_word_id = int(batch.word_ids.max())
        wordless_leaves = torch.nonzero((batch.word_ids < 0) & ~has_child).flatten()
        batch.first_wordless_leaf = int(wordless_leaves[0]) if wordless_leaves.numel() else -1
        batch.roots = roots
        batch.order = order
        batch.position = position
        batch.parent_slot = parent_slot
        batch.ordered_child_pos = child_pos[order]
        batch.internal_order = order[~ordered_is_leaf]
        batch.leaf_order = order[ordered_is_leaf]
        batch.level_sizes = level_sizes.tolist()
        batch.level_internal_sizes = internal_sizes.tolist()
        batch.max_children = max_children
        batch.batch_num_nodes = None if batch_num_nodes is None else [int(s) for s in batch_num_nodes]
        return batch

    # --------------------------------------------------------------- queries
    @property
    def num_nodes(self) -> int:
        return self.parent.numel()

    @property
    def num_trees(self) -> int:
        return self.roots.numel()

    @property
    def num_levels(self) -> int:
        return len(self.level_sizes)

    @property
    def device(self) -> torch.device:
        return self.parent.device

    @property
    def is_leaf(self) -> Tensor:
        """``[N]`` bool: nodes with no children."""
        leaf = torch.zeros(self.num_nodes, dtype=torch.bool, device=self.device)
        leaf[self.leaf_order] = True
        return leaf

    @property
    def edge_index(self) -> Tensor:
        """``[2, num_edges]`` edges child -> parent in PyTorch Geometric's layout (row 0 source, row 1 target).

        Edges are ordered by child id; ``child_pos[edge_index[0]]`` gives each
        edge's sibling position. Feed it to any PyG layer with node features
        such as the cell's ``h``.
        """
        child = torch.nonzero(self.parent >= 0).flatten()
        return torch.stack([child, self.parent[child]])

    def check_words(self, user: str = "TreeEncoder") -> None:
        """Raise unless every leaf has a word id, so that no input is zero in silence.

        A node with children and no word (``-1``) is a phrase node, which gets
        a zero input by design; a leaf without a word is a token that was lost
        (for instance an out-of-vocabulary word from DGL's ``SSTDataset``, which
        writes -1 for those too).

        Raises:
            ValueError: if the batch has no word ids at all, or a leaf has none;
                the message names the node and says how to give word ids.
        """
        if self.max_word_id < 0:
            raise ValueError(f"{user} needs word ids, but this batch has none (every word_id is -1), so every "
                             f"node would get a zero input: {self.missing_words_help}. To use inputs of your own, "
                             f"call the cell directly: cell(batch_or_graph, x) with x of shape [num_nodes, in_size]")
        if self.first_wordless_leaf >= 0:
            node = self.first_wordless_leaf
            raise ValueError(f"{user}: leaf node {node} (tree {int(self.tree_index[node])}) has no word id (-1), "
                             f"so it would get a zero input. {self.wordless_leaf_help}")

    @property
    def wordless_leaf_help(self) -> str:
        if self.word_source is not None and self.word_source.startswith("ndata"):
            return ("DGL's SSTDataset writes -1 both for phrase nodes (PAD_WORD) and for out-of-vocabulary words "
                    "(UNK_WORD): pass unk_id=<your unknown word's id> to TreeBatch.from_dgl to give such leaves "
                    "that id")
        return "give every leaf a word id (map unknown words to an unknown-word id, as treenets.Vocab does)"

    def to(self, device, non_blocking: bool = False) -> "TreeBatch":
        """A copy with every tensor on ``device`` (the schedule sizes stay Python ints)."""
        out = TreeBatch()
        out.__dict__.update(self.__dict__)
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor):
                setattr(out, name, value.to(device, non_blocking=non_blocking))
        out.node_data = {k: v.to(device, non_blocking=non_blocking) for k, v in self.node_data.items()}
        out.edge_data = {k: v.to(device, non_blocking=non_blocking) for k, v in self.edge_data.items()}
        return out

    def __repr__(self) -> str:
        return (f"TreeBatch(num_trees={self.num_trees}, num_nodes={self.num_nodes}, "
                f"num_levels={self.num_levels}, max_children={self.max_children}, device={self.device})")

    # ------------------------------------------------------------------- DGL
    def to_dgl(self):
        """A ``dgl.DGLGraph`` with edges child -> parent.

        Node data: ``word_ids``, ``labels``, ``tree_index`` and any tensors in
        :attr:`node_data`. Edge data: ``child_pos`` (the child's position among
        its siblings) and :attr:`edge_data`. Node ids are kept; edges are
        numbered by child id. A batch from :meth:`from_trees`, or from a
        batched graph in :meth:`from_dgl`, gives a batched graph
        (``dgl.unbatch`` splits it back into the same members). Needs DGL.
        """
        from .dgl_graph import batch_to_dgl

        return batch_to_dgl(self)

    @classmethod
    def from_dgl(cls, graph, word_key: Optional[str] = None, label_key: Optional[str] = None,
                 child_pos_key: Optional[str] = "child_pos", *, unk_id: Optional[int] = None) -> "TreeBatch":
        """Read a ``dgl.DGLGraph`` whose edges run from child to parent.

        Node ids are kept. Word ids and labels are found under treenets' names
        or DGL's own (those of ``dgl.data.SSTDataset``):

        * ``word_key=None`` looks for ``ndata["word_ids"]``, then
          ``ndata["x"]``, and takes the first that is a 1-D integer tensor
          (``-1`` = no word); float features under ``"x"`` are not word ids.
        * ``label_key=None`` looks for ``ndata["labels"]``, then ``ndata["y"]``
          (1-D integer, ``-1`` = no label).
        * A key given by name must be there (else ``ValueError``).

        :attr:`word_source` records which key was read. A graph with no word
        ids gives a batch whose ``word_ids`` are all -1: a cell called with
        inputs (``cell(graph, x)``) works, and :class:`~treenets.TreeEncoder`
        raises, naming the keys looked for.

        DGL's ``SSTDataset`` writes ``x = -1`` at phrase nodes (``PAD_WORD``),
        which is treenets' "no word", *and* at out-of-vocabulary leaves
        (``UNK_WORD``). ``unk_id`` gives those leaves (nodes without children
        whose word id is -1) that id; without it, ``TreeEncoder`` refuses such
        a leaf rather than feed it a zero input.

        Sibling order comes from ``graph.edata[child_pos_key]`` when present,
        else from child node ids, never from the order edges were added. All
        other node and edge data (custom word and label keys included) are kept
        and written back by :meth:`to_dgl`. A batched graph's members may each
        hold one tree or a forest; a plain graph may hold a forest. The batch
        is on the graph's device.

        Raises:
            ValueError: if a node has two parents or a self-loop, the graph is
                not a forest (a cycle), an edge joins two batch members, a named
                key is missing, or word ids / labels are not 1-D integers.
        """
        from .dgl_graph import batch_from_dgl

        return batch_from_dgl(cls, graph, word_key, label_key, child_pos_key, unk_id=unk_id)

    # ------------------------------------------------------------------- PyG
    @classmethod
    def from_edge_index(cls, edge_index: Tensor, num_nodes: Optional[int] = None, *,
                        child_pos: Optional[Tensor] = None, word_ids: Optional[Tensor] = None,
                        labels: Optional[Tensor] = None, batch: Optional[Tensor] = None) -> "TreeBatch":
        """Build from PyTorch Geometric's ``edge_index``: ``[2, E]``, row 0 the child, row 1 the parent.

        Needs no PyG. Node ids are kept.

        Args:
            edge_index: ``[2, E]`` integer edges child -> parent (``batch.edge_index``
                gives this layout back).
            num_nodes: ``N``; by default the length of ``batch``, ``word_ids``
                or ``labels``, else the largest node id + 1 (as PyG infers it).
            child_pos: sibling order, either per node (``[N]``, ignored at
                roots) or per edge (``[E]``, the position of each edge's child).
                Without it, siblings are ordered by child node id, never by
                the order of the edges.
            word_ids: ``[N]`` token ids, ``-1`` where a node has no word.
            labels: ``[N]`` class labels, ``-1`` where none.
            batch: PyG's batch vector, ``[N]``, the graph of each node, sorted
                (as ``torch_geometric.data.Batch`` makes it). Each graph must
                hold one tree, whose root becomes ``roots[g]``; without it,
                trees are numbered by root node id.

        Raises:
            ValueError: if the edges do not form a forest with edges child ->
                parent (a node with two parents, a self-loop, a cycle), an edge
                joins two graphs of ``batch``, a graph of ``batch`` is not one
                tree, or a tensor has the wrong shape; the message names the node.
        """
        from .pyg import batch_from_edge_index

        return batch_from_edge_index(cls, edge_index, num_nodes, child_pos=child_pos, word_ids=word_ids,
                                     labels=labels, batch=batch)

    @classmethod
    def from_pyg(cls, data, word_key: Optional[str] = None, label_key: Optional[str] = None,
                 child_pos_key: str = "child_pos") -> "TreeBatch":
        """Read a ``torch_geometric.data.Data`` (or ``Batch``) whose edges run child -> parent.

        Uses ``data.edge_index``, ``data.num_nodes``, ``data.batch`` (when a
        ``Batch``) and ``data[child_pos_key]``. Word ids: ``data.word_ids``,
        else ``data.x`` when it is a 1-D integer tensor (float ``x`` are
        features: pass them to a cell); labels: ``data.labels``, else
        ``data.y`` when 1-D integer with one entry per node. Named keys must
        exist. See :meth:`from_edge_index` for the rules.
        """
        from .pyg import batch_from_pyg

        return batch_from_pyg(cls, data, word_key, label_key, child_pos_key)

    def to_pyg(self, x: Optional[Tensor] = None, **node_data: Tensor):
        """A ``torch_geometric.data.Batch`` with one graph per tree, node ids unchanged.

        Attributes: ``edge_index`` (child -> parent), ``word_ids``, ``y`` (the
        labels), ``child_pos``, ``x`` and any other ``[N, ...]`` tensors you
        pass (e.g. ``x=h``, the cell's states), plus ``batch`` and ``ptr``, so
        PyG layers and pooling (``global_mean_pool(h, data.batch)``) work and
        ``to_data_list()`` gives one ``Data`` per tree. When the trees'
        nodes are not contiguous and in order (a forest with interleaved node
        ids), it returns one ``Data`` holding the forest, with
        ``batch = tree_index``. Needs ``torch_geometric``
        (``pip install "treenets[pyg]"``); without it, use
        :attr:`edge_index` and :attr:`tree_index` directly.
        """
        from .pyg import batch_to_pyg

        return batch_to_pyg(self, x, node_data)

    def to_networkx(self):
        """A ``networkx.DiGraph`` with edges child -> parent.

        Nodes carry ``word_id``, ``label``, ``tree`` and, when built from trees,
        ``token``; edges carry ``child_pos``.
        """
        import networkx as nx

        g = nx.DiGraph()
        tokens = [tok for tree in self.trees for tok in tree.tokens] if self.trees is not None else None
        word_ids = self.word_ids.tolist()
        labels = self.labels.tolist()
        trees = self.tree_index.tolist()
        for node in range(self.num_nodes):
            attrs = {"word_id": word_ids[node], "label": labels[node], "tree": trees[node]}
            if tokens is not None:
                attrs["token"] = tokens[node]
            g.add_node(node, **attrs)
        for child, (par, pos) in enumerate(zip(self.parent.tolist(), self.child_pos.tolist())):
            if par >= 0:
                g.add_edge(child, par, child_pos=pos)
        return g
