from .base import TreeCell
from .child_sum import ChildSumTreeLSTM
from .inputs import WordInputs
from .nary import NaryTreeLSTM
from .sequential import SequentialLSTM
from .slstm import SLSTM
from .span_mean import SpanMean

__all__ = ["TreeCell", "ChildSumTreeLSTM", "NaryTreeLSTM", "SLSTM", "SequentialLSTM", "SpanMean", "WordInputs"]
