"""Parameter texts that are the same in every process, for checkpoints and resumed searches.

A crashed fit resumes from its checkpoint folder, and a tuning study resumes
from its database, only when the settings it is given now are the ones it
was started with. Both compare a text per parameter, written here, so that
the two agree on what "the same settings" means.
"""

import hashlib
import inspect
import re

#: A memory address inside a repr ("<function f at 0x7f...>"): differs between processes.
ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

#: Parameters that change what is logged or written, never what is trained: a resumed
#: fit or study may be given other values. (Each resume adds its own to these.)
OUTPUT_ONLY_PARAMS = frozenset(
    {"verbose", "callbacks", "tensorboard_dir", "histogram_freq", "checkpoint_dir"}
)


def without_addresses(value):
    """``repr(value)`` with memory addresses taken out."""
    return ADDRESS.sub("", repr(value))


def stable_repr(value):
    """A parameter's text for a fingerprint: the same in every process.

    Reprs of functions and of plain objects hold memory addresses, which
    differ between the crashed process and the one resuming. A function is
    described by its name and a digest of its code, defaults and closure
    (two closures of one factory differ by their cells); an object whose
    repr holds an address, by its class and attributes.

    Parameters
    ----------
    value : object

    Returns
    -------
    str
    """
    if inspect.isfunction(value):
        code = value.__code__
        parts = [code.co_code.hex(), repr(code.co_consts), repr(value.__defaults__),
                 repr(value.__kwdefaults__)]
        for cell in value.__closure__ or ():
            try:
                parts.append(stable_repr(cell.cell_contents))
            except ValueError:  # an empty cell
                parts.append("<empty>")
        digest = hashlib.sha256(ADDRESS.sub("", "|".join(parts)).encode()).hexdigest()[:16]
        return f"{value.__module__}.{value.__qualname__}#{digest}"
    text = repr(value)
    if ADDRESS.search(text) and hasattr(value, "__dict__"):
        return (f"{type(value).__module__}.{type(value).__qualname__}"
                f"({stable_repr(dict(sorted(vars(value).items())))})")
    return ADDRESS.sub("", text)
