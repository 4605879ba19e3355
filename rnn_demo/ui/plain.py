"""Text a visitor controls, shown as plain text: never as markdown, HTML or a link.

Streamlit renders the messages of ``st.warning``, ``st.error``, ``st.info``,
``st.caption``, ``st.markdown`` (and radio options, subheaders) as markdown.
A value taken from a URL, a file's name, a file's metadata or a run's name
must pass through :func:`plain` (or :func:`code`) on its way into such a
message, so ``[Log in](https://evil.example)`` or ``![](…)`` shows as typed.
See docs/hosting.md.
"""

from __future__ import annotations

import re

SHOWN_CHARACTERS = 300  # longer values are cut: a message is a sentence, not a page
# The characters that can start markup on one line of prose: emphasis, code, links and images,
# HTML and autolinks, Streamlit's :colour[...] and :icon:, $math$, tables, e-mail autolinks.
# Prose punctuation (. , ( ) ' " - = / % ?) stays as it is, so a sentence's source reads as itself.
_SPECIAL = re.compile(r"([\\`*{}\[\]<>!|~$:#&@^])")
# An underscore between two letters or digits (snake_case, a_file.keras) cannot start emphasis.
_UNDERSCORES = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")  # a blank line would end the paragraph
_WWW = re.compile(r"(www)\.", re.IGNORECASE)  # GFM links a bare www.host
_LINE_START = re.compile(r"^(\s*)([-+=]|\d+(?=[.)]))")  # a list item or a heading's underline


def _one_line(value: object) -> str:
    text = _CONTROL.sub(" ", str(value)).strip()  # leading spaces would start a code block
    return text if len(text) <= SHOWN_CHARACTERS else text[: SHOWN_CHARACTERS - 1] + "…"


def plain(value: object) -> str:
    """``value`` as markdown that reads exactly as ``str(value)`` (one line, at most
    :data:`SHOWN_CHARACTERS` characters): every character that could start markup escaped."""
    text = _SPECIAL.sub(r"\\\1", _one_line(value))
    text = _UNDERSCORES.sub(lambda match: "\\_" * len(match[0]), text)
    text = _WWW.sub(r"\1\\.", text)
    return _LINE_START.sub(_escape_line_start, text)


def _escape_line_start(match: re.Match) -> str:
    indent, marker = match[1], match[2]
    return f"{indent}\\{marker}" if marker in "-+=" else f"{indent}{marker}\\"  # "\\- x", "1\\. x"


def code(value: object) -> str:
    """``value`` as an inline code span that no character inside can end (one line, cut
    like :func:`plain`): the fence is longer than any run of backticks in it."""
    text = _one_line(value)
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {text} " if text.startswith("`") or text.endswith("`") or not text.strip() else text
    return f"{fence}{padded}{fence}"
