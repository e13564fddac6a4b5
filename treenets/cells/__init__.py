from .base import TreeCell
from .child_sum import ChildSumTreeLSTM
from .nary import NaryTreeLSTM
from .sequential import SequentialLSTM
from .slstm import SLSTM

__all__ = ["TreeCell", "ChildSumTreeLSTM", "NaryTreeLSTM", "SLSTM", "SequentialLSTM"]
