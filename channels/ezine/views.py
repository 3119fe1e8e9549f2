"""The e-zine's Atom feed: its published issues, newest first."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.utils.feedgenerator import Atom1Feed

from content.models import EZinePage


class EZineAtomFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, page_id):
        return get_object_or_404(EZinePage.objects.live().public(), pk=page_id)

    def title(self, obj):
        return obj.title

    def link(self, obj):
        return obj.get_url() or "/"

    def subtitle(self, obj):
        return obj.get_plain_text()

    def items(self, obj):
        return obj.get_issues()[:30]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.get_plain_text()[:1000]

    def item_link(self, item):
        return item.get_url() or "/"

    def item_pubdate(self, item):
        return item.first_published_at
