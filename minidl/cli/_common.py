"""What the commands share: the errors that end a command, the did-you-mean helper, flag types."""
import argparse
import difflib
import math

__all__ = ["CommandError", "UsageError", "Interrupted", "unknown", "positive_int", "positive_float",
           "non_negative_float", "shape"]


class CommandError(Exception):
    """A command that cannot go on: :func:`minidl.cli.main` prints ``PROG: error: MESSAGE`` (one line)
    and exits with ``exit_code``."""
    exit_code = 1
    label = "error"


class UsageError(CommandError):
    """A flag the user can fix: argparse's usage line, then the one-line error; exit code 2."""
    exit_code = 2


class Interrupted(CommandError):
    """Ctrl-C: one line saying what was kept; exit code 130 (128 + SIGINT), as a shell reports it."""
    exit_code = 130
    label = "interrupted"


def unknown(what, value, valid, message=None):
    """'unknown model 'lenet' (did you mean 'lenet5'?); valid models: ...' (or ``message`` first)."""
    close = difflib.get_close_matches(value, valid, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{message or f'unknown {what} {value!r}'}{hint}; valid {what}s: {', '.join(valid)}"


def positive_int(text):
    """A flag's value that must be an integer > 0."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _finite_float(text, positive):
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise argparse.ArgumentTypeError(
            f"expected a {'positive' if positive else 'non-negative'} number, got {text!r}")
    return value


def positive_float(text):
    """A flag's value that must be a finite number > 0 (NaN and infinity are refused)."""
    return _finite_float(text, positive=True)


def non_negative_float(text):
    """A flag's value that must be a finite number >= 0."""
    return _finite_float(text, positive=False)


def shape(text):
    """'3,224,224' -> (3, 224, 224): positive sizes separated by commas."""
    try:
        sizes = tuple(int(d) for d in text.split(","))
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) <= 0:
        raise argparse.ArgumentTypeError(f"expected positive sizes separated by commas, like 3,224,224, "
                                         f"got {text!r}")
    return sizes
