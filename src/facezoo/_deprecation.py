"""Renamed keyword arguments and functions: the old name keeps working, with a ``DeprecationWarning``, for one
release (CONTRIBUTING.md, "Names"). Imports nothing of facezoo."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["REMOVED_IN", "renamed_arguments", "pop_renamed", "renamed_function"]

F = TypeVar("F", bound=Callable[..., Any])

#: The release that drops the names deprecated in this one.
REMOVED_IN = "0.2.0"


def renamed_arguments(**renames: str) -> Callable[[F], F]:
    """Accept each old keyword argument (``old="new"``) for its new name, warning once per call site.

    Passing both names is a ``TypeError``, as Python's own "got multiple values" is.
    """

    def decorator(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for old, new in renames.items():
                if old not in kwargs:
                    continue
                if new in kwargs:
                    raise TypeError(f"{fn.__name__}() got {old}= and {new}=; pass {new}= only ({old}= is its old name)")
                warnings.warn(
                    f"{fn.__module__}.{fn.__qualname__}({old}=...) is deprecated: use {new}= (the same argument under "
                    f"its new name); {old}= will be removed in facezoo {REMOVED_IN}.",
                    DeprecationWarning,
                    stacklevel=2,
                )
                kwargs[new] = kwargs.pop(old)
            return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def pop_renamed(options: dict[str, Any], old: str, new: str, value: Any, where: str) -> Any:
    """The value of ``new`` when it may come as ``old`` in ``options`` (a function's ``**options``), warning if so.

    For functions whose own warnings name their caller's line (``stacklevel``), where the wrapper of
    :func:`renamed_arguments` would add a frame: call it first thing in the body.
    """
    if old not in options:
        return value
    if value is not None:
        raise TypeError(f"{where}() got {old}= and {new}=; pass {new}= only ({old}= is its old name)")
    warnings.warn(
        f"{where}({old}=...) is deprecated: use {new}= (the same argument under its new name); {old}= will be removed "
        f"in facezoo {REMOVED_IN}.",
        DeprecationWarning,
        stacklevel=3,
    )
    return options.pop(old)


def renamed_function(fn: F, old: str) -> F:
    """``fn`` under its old name ``old``: the same function, warning that the name is deprecated."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        warnings.warn(
            f"{fn.__module__}.{old} is deprecated: use {fn.__module__}.{fn.__name__} (the same function under its new "
            f"name); {old} will be removed in facezoo {REMOVED_IN}.",
            DeprecationWarning,
            stacklevel=2,
        )
        return fn(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = old
    return wrapper  # type: ignore[return-value]
