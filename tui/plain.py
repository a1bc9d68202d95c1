"""Plain terminals: which ones get ASCII only, and which must not be sent truecolor.

The Linux console, a vt100 and TERM=dumb draw no box drawing, braille or symbols like `‖`, `×`,
`÷` (or draw them as garbage); neither does any terminal in a non-UTF-8 locale. There the
dashboard uses ASCII only, as `--ascii` does everywhere.
"""

from __future__ import annotations

import os
from typing import Mapping

PLAIN_TERMS = ("dumb", "vt100", "linux")
"""TERM values that get ASCII only and 16 colours."""

ASCII_TABLE = str.maketrans(
    {
        "│": "|",
        "┃": "|",
        "║": "|",
        "─": "-",
        "━": "-",
        "═": "=",
        "┌": "+",
        "┐": "+",
        "└": "+",
        "┘": "+",
        "├": "+",
        "┤": "+",
        "┬": "+",
        "┴": "+",
        "┼": "+",
        "╭": "+",
        "╮": "+",
        "╰": "+",
        "╯": "+",
        "•": "o",
        "…": "~",
        "‖": "|",
        "×": "*",
        "÷": "/",
        "▄": "_",
        "▀": "-",
        "█": "#",
        "▌": "|",
        "▐": "|",
        "╔": "+",
        "╗": "+",
        "╚": "+",
        "╝": "+",
        "▔": "-",
        "▁": "_",
        "▏": "|",
        "▕": "|",
        "▂": "#",
        "▃": "#",
        "▅": "#",
        "▆": "#",
        "▇": "#",
        "▉": "#",
        "▊": "#",
        "▋": "#",
        "▍": "|",
        "▎": "|",
        "Δ": "d",
        "∂": "d",
        "ε": "e",
        "²": "2",
        "√": "V",
        "\u0302": "^",
        "≪": "<",
        "≫": ">",
        "→": ">",
        "·": ".",
        "✝": "+",
    }
)
"""What the loss chart, rich and Textual draw (box drawing, Textual's tall borders and scrollbar blocks) and
the views' maths (Δ, ∂, √, the hat of m̂, ...), in ASCII, one character for one (anything else
non-ASCII becomes '?', see to_ascii)."""


def locale_is_utf8(env: Mapping[str, str] = os.environ) -> bool:
    """The effective LC_CTYPE (LC_ALL, else LC_CTYPE, else LANG) names UTF-8; unset counts as UTF-8
    (Python and most terminals assume it), while C and POSIX are ASCII locales."""
    value = env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG") or ""
    if not value:
        return True
    return "utf-8" in value.lower() or "utf8" in value.lower()


def plain_terminal(env: Mapping[str, str] = os.environ) -> bool:
    """ASCII only: TERM is dumb, vt100 or linux, or the locale is not UTF-8."""
    return env.get("TERM", "") in PLAIN_TERMS or not locale_is_utf8(env)


def set_color_system(env=os.environ) -> None:
    """TERM=dumb/vt100/linux: 16 colours, not truecolor (Textual reads this at import; the user's
    own TEXTUAL_COLOR_SYSTEM wins)."""
    if env.get("TERM", "") in PLAIN_TERMS:
        env.setdefault("TEXTUAL_COLOR_SYSTEM", "standard")


MATH_ASCII = (("²", "^2"), ("√", "sqrt "), ("\u0302", "_hat"), ("ε", "eps"))
"""The step view's maths where one character for one would misread (dW1² is not dW12)."""


def math_ascii(text: str) -> str:
    """An equation with MATH_ASCII's spellings; to_ascii does the rest."""
    for symbol, word in MATH_ASCII:
        text = text.replace(symbol, word)
    return text


def to_ascii(text: str) -> str:
    """Box drawing and symbols as ASCII; any other non-ASCII character as '?'."""
    text = text.translate(ASCII_TABLE)
    return text if text.isascii() else "".join(c if c.isascii() else "?" for c in text)
