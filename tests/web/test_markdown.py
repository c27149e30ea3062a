"""Model outputs render as Markdown; HTML and script in them stay text."""

from __future__ import annotations

from app.http.markdown import render_markdown


def test_code_blocks_lists_and_tables_render():
    html = render_markdown(
        "Steps:\n\n1. one\n2. two\n\n- a\n- b\n\n```python\nprint(1 < 2)\n```\n\n"
        "| x | y |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<ol>" in html and "<li>one</li>" in html and "<ul>" in html
    assert '<pre><code class="language-python">print(1 &lt; 2)' in html
    assert "<table>" in html and "<td>1</td>" in html


def test_raw_html_and_script_are_shown_as_text():
    html = render_markdown('<script>alert("x")</script>\n\n<img src=x onerror="alert(1)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "onerror" in html  # visible, as text


def test_links_keep_only_safe_schemes():
    html = render_markdown("[click](javascript:alert(1)) and [docs](https://example.org)")
    assert "javascript:" not in html.replace("[click](javascript:alert(1))", "")
    assert 'href="https://example.org"' in html and 'rel="noopener noreferrer nofollow"' in html


def test_images_are_not_loaded_from_anywhere():
    assert "<img" not in render_markdown("![tracker](https://example.org/pixel.png)")
