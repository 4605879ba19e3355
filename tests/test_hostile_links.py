"""Text from a link, a file name or a file's metadata is shown as typed, never as markup.

``plain`` and ``code`` are checked by rendering their markdown with a CommonMark
renderer (markdown-it, HTML on, tables and strikethrough on): the result is one
paragraph whose text is the input, with no link, image, emphasis or HTML.
"""

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from rnn_demo.app.links import QUERY_FIELDS, config_from_query
from rnn_demo.ui.plain import SHOWN_CHARACTERS, code, plain

RENDERER = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
ATTACK = ("x` **Session expired** [Log in again](https://evil.example/login) "
          "![](https://evil.example/px.gif) `")
PAYLOADS = [
    ATTACK,
    "[click](javascript:alert(1))",
    "<javascript:alert(1)>",
    "<https://evil.example>",
    "<img src=x onerror=alert(1)>",
    "<script>alert(1)</script>",
    "<a href='https://evil.example'>Log in</a>",
    "**bold** _italic_ ~~gone~~ `code`",
    "# Heading",
    "> quoted",
    "1. a list",
    "- a list",
    "+ a list",
    "| a | table |",
    "---",
    "[ref]: https://evil.example",
    "```fenced```",
    "&lt;b&gt; &amp; &#x3C;",
    ":red[red] :material/warning: $x^2$",
    "line one\n\n# line two\n[x](y)",
    "    indented code",
    "\\[escaped\\](x)",
]


def rendered(markdown: str) -> str:
    return RENDERER.render(markdown)


def shown_text(markdown: str) -> str:
    """The text a reader sees: the one paragraph's content, tags refused."""
    output = rendered(markdown).strip()
    assert output.startswith("<p>") and output.endswith("</p>"), output
    inner = output[3:-4]
    assert "<" not in inner, f"markup in {output!r}"  # html.escape'd text has no raw '<'
    return html.unescape(inner)


def one_line(text: str) -> str:
    return re.sub(r"[\x00-\x1f\x7f\u2028\u2029]+", " ", text).strip()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_plain_shows_every_payload_as_typed(payload):
    assert shown_text(plain(payload)) == one_line(payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_code_keeps_every_payload_inside_one_code_span(payload):
    output = rendered(code(payload)).strip()
    assert re.fullmatch(r"<p><code>[^<]*</code></p>", output), output
    assert html.unescape(output[9:-11]).strip() == one_line(payload).strip()


def test_the_reported_attack_has_no_link_and_no_image():
    for markdown in (plain(ATTACK), code(ATTACK)):
        output = rendered(markdown)
        assert "<a " not in output and "<img" not in output and "<strong>" not in output


def test_long_values_are_cut_to_a_sentence():
    assert len(shown_text(plain("a" * 10_000))) == SHOWN_CHARACTERS


def test_prose_punctuation_reads_as_itself_in_the_source():
    # What the existing messages say stays findable: only markup characters are escaped.
    for text in ("maps (28, 28) to (10,)", "over this server's 0.0 MiB limit", "my_gru.keras", "learning_rate"):
        assert plain(text) == text


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120).filter(one_line))
def test_any_text_is_shown_as_typed(text):
    assert shown_text(plain(text)) == one_line(text)


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=120).filter(one_line))
def test_any_text_stays_in_its_code_span(text):
    output = rendered(code(text)).strip()
    assert re.fullmatch(r"<p><code>[^<]*</code></p>", output), output


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from(list(QUERY_FIELDS)), st.text(max_size=60)))
def test_link_messages_quote_the_link_only_in_code_spans(params):
    _config, problems = config_from_query(params, quote=code)
    for problem in problems:
        output = rendered(problem)
        assert "<a " not in output and "<img" not in output and "<strong>" not in output, output
