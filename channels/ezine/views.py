"""The e-zine's Atom feed: its published issues, newest first."""

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from content.models import EZinePage


class EZineAtomFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, page_id):
        return get_object_or_404(EZinePage.objects.live().public(), pk=page_id)

    def title(self, obj):
        return obj.title

    # Every URL absolute, from BASE_URL (the Site's): Django would prefix the request's
    # Host to a relative one.
    def link(self, obj):
        return obj.get_full_url() or settings.SITE_BASE_URL + "/"

    def feed_url(self, obj):
        return settings.SITE_BASE_URL + reverse("ezine_channel:atom", args=[obj.pk])

    def subtitle(self, obj):
        return obj.get_plain_text()

    def items(self, obj):
        return obj.get_issues()[:30]

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        return item.get_plain_text()[:1000]

    def item_link(self, item):
        return item.get_full_url() or settings.SITE_BASE_URL + "/"

    def item_pubdate(self, item):
        return item.first_published_at
