"""The one kind of error a user can cause: bad options, data, checkpoints or devices.

Every such error's str() is one line naming the option or file, the value and what is allowed;
the command line prints it and exits 2. Anything else is a bug (exit 1).
"""


class InputError(ValueError):
    """Bad user input; str() is the one line shown to the user."""


def one_line(text: str) -> str:
    """text with its control characters written as escapes (\\n, \\x1b, ...): a newline or a
    carriage return in a file name or value must not split or overwrite the one line of an error."""
    return "".join(repr(ch)[1:-1] if not ch.isprintable() and ch != " " else ch for ch in text)


def clip_path(path: object, limit: int = 80) -> str:
    """A path as an error quotes it: its last `limit` characters, where the file name is."""
    text = str(path)
    if not text:
        return "''"
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


def clip(value: object, limit: int = 60) -> str:
    """A user's value as an error quotes it: at most `limit` characters, '' when empty. A value can
    be a 40 KB flag or a line of someone else's file; one line of error must stay one short line."""
    text = ",".join(map(str, value)) if isinstance(value, (tuple, list)) else str(value)
    if isinstance(value, dict):
        text = "a table"
    if not text:
        return "''"
    return text if len(text) <= limit else text[: limit - 1] + "…"
