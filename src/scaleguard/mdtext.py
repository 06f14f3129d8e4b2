"""Text placed into Markdown output is always text, never markup.

Markdown passes raw HTML through, so a goal title like ``<img src=x
onerror=alert(1)>`` would run in any viewer that renders it. Every piece of
user text goes through :func:`md_escape`, which backslash-escapes the
characters that start markup (CommonMark makes any escaped ASCII punctuation
literal) and folds line breaks, and links are written only for http(s) URLs
that cannot end the autolink early.
"""

from __future__ import annotations

import re

_MD_SPECIAL = re.compile(r"([\\`*_<>\[\]|&!#~])")
_LINE_START = ("-", "+", "=", ">")


def md_escape(text: str) -> str:
    """Backslash-escape Markdown syntax so content never turns into markup."""
    out = _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))
    if out.startswith(_LINE_START):
        return "\\" + out
    number = re.match(r"\d{1,9}(?=[.)](?:\s|$))", out)
    if number:  # "1." or "1)" would start a list
        return number.group() + "\\" + out[number.end() :]
    return out


def md_link(url: str | None) -> str:
    """An autolink for a plain http(s) URL; anything else as escaped text."""
    if not url:
        return ""
    from scaleguard.textcheck import http_url

    try:
        http_url(url)
    except ValueError:
        return md_escape(url)
    return md_escape(url) if re.search(r"[<>\"'`\\]", url) else f"<{url}>"
