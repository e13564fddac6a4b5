"""The task models by the name saved with them (``config.json``'s and a checkpoint's ``"task"``)."""
from .relatedness import RelatednessModel
from .sentiment import SentimentModel

__all__ = ["TASKS"]

TASKS = {"sentiment": SentimentModel, "relatedness": RelatednessModel}
