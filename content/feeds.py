"""RSS 2.0 and Atom 1.0 feeds of a blog (served by BlogIndexPage's routes)."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed

from .disclosure import labelled


class BlogRssFeed(Feed):
    feed_type = Rss201rev2Feed
    limit = 50

    def __init__(self, blog_index):
        super().__init__()
        self.blog_index = blog_index

    def __call__(self, request, *args, **kwargs):
        self.request = request
        return super().__call__(request, *args, **kwargs)

    def title(self):
        return self.blog_index.title

    def link(self):
        return self.blog_index.get_full_url(self.request)

    def feed_url(self):
        # Absolute, from BASE_URL: Django would prefix the request's Host to a path.
        return settings.SITE_BASE_URL + self.request.path

    def description(self):
        return self.blog_index.search_description or self.blog_index.title

    def items(self):
        return self.blog_index.get_posts()[: self.limit]

    def item_title(self, item):
        # Advertorials stay disclosed wherever the feed is read.
        return labelled(item.title, item)

    def item_description(self, item):
        return item.get_excerpt()

    def item_link(self, item):
        return item.get_full_url(self.request)

    def item_guid(self, item):
        return item.get_full_url(self.request)

    def item_pubdate(self, item):
        return item.first_published_at

    def item_updateddate(self, item):
        return item.last_published_at

    def item_author_name(self, item):
        return getattr(item, "author_name", "") or None


class BlogAtomFeed(BlogRssFeed):
    feed_type = Atom1Feed

    def subtitle(self):
        return self.description()
