"""Renderers: a hub page plus a publication's overrides -> what a channel posts.

`render_html` (WordPress, MetaWeblog) and `render_markdown` (Discourse, Reddit) share one
pipeline: the page's StreamField becomes clean HTML (absolute image and link URLs,
embeds as plain links, the sponsor disclosure on soft articles), every outbound link is
rewritten to a tracked link, and the result passes the same nh3 allow-list as anything
else we did not type ourselves. Markdown is converted from that HTML, so both formats
always carry the same links and the same disclosure. Both (and the "this hub" blog
channel) build their `Rendered` with `common.build_rendered`.
"""

from .html import render_html
from .markdown import render_markdown

__all__ = ["render_html", "render_markdown"]
