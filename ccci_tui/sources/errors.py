"""How reading the swarm fails: SwarmError (and NotFound), each naming what was asked of which daemon,
and an exception's innermost cause in one line for their messages."""

from __future__ import annotations


class SwarmError(RuntimeError):
    """The swarm could not answer: the message says what was asked and of which daemon."""


class NotFound(SwarmError):
    """The daemon says the object does not exist."""


def cause_line(exc: BaseException) -> str:
    """The innermost cause in one line: `No such file or directory`, not three wrapped reprs."""
    root: BaseException = exc
    seen = {id(root)}
    while True:
        nxt = root.__cause__ or root.__context__
        if nxt is None and root.args and isinstance(root.args[-1], BaseException):
            nxt = root.args[-1]
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        root = nxt
    text = getattr(root, "strerror", None) or str(root).strip() or type(root).__name__
    return str(text).splitlines()[0][:200]
