"""Model outputs as Markdown: code blocks, lists and tables, never raw HTML or script.

Two layers: markdown-it renders with HTML input disabled (a `<script>` in an output becomes
text), then nh3 (the ammonia sanitiser) keeps only a fixed set of tags and attributes.

Each process keeps the HTML of the texts it rendered last (RENDERED_CACHE_SIZE texts): the k
raters of a comparison, and a rater who reloads the page, see texts rendered once.
"""

from __future__ import annotations

from functools import lru_cache

import nh3
from markdown_it import MarkdownIt

_markdown = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_markdown.enable(["table", "strikethrough"])

_TAGS = {
    "p", "br", "hr", "em", "strong", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td", "a",
}  # fmt: skip
_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}


RENDERED_CACHE_SIZE = 2048


@lru_cache(maxsize=RENDERED_CACHE_SIZE)
def render_markdown(text: str) -> str:
    """Safe HTML for an untrusted Markdown text."""
    return nh3.clean(
        _markdown.render(text),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
