"""Optimizers (``import minidl.optim as optim``), one per module, and learning-rate schedules."""
from . import lr_scheduler
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .optimizer import Optimizer, StateDictError
from .rmsprop import RMSprop
from .sgd import SGD
