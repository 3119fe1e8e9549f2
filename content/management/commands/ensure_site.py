"""Point the default Wagtail Site at BASE_URL (hostname, port, and a name if it has none).

Wagtail builds every full page URL from its Site (canonical, og:url, the sitemap, feed
links, "view in browser" in mail, the copy of a manual placement), and its migrations
create that Site as localhost:80. `make setup` runs this after `migrate` and before the
demo (whose copy holds page URLs); production runs it after each deploy's migrate, so the
Site always says what BASE_URL says. Idempotent: a second run changes nothing.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _
from wagtail.models import Page, Site

DEFAULT_PORTS = {"http": 80, "https": 443}


def site_address(base_url: str) -> tuple[str, int]:
    """(hostname, port) of the Site that serves `base_url`, or CommandError when Wagtail
    cannot express it: a Site's URL is http on any port but 443 and https only on 443
    (wagtail.models.Site.root_url)."""
    parts = urlsplit(base_url)
    scheme, hostname = parts.scheme, parts.hostname
    if scheme not in DEFAULT_PORTS or not hostname:
        raise CommandError(_("BASE_URL must look like https://hub.example.com, got %r") % base_url)
    port = parts.port or DEFAULT_PORTS[scheme]
    if (scheme == "https") != (port == 443):
        raise CommandError(
            _(
                "Wagtail serves https only on port 443 and http on any other port; "
                "BASE_URL %(url)s cannot be a Wagtail Site. Put a proxy on 443 in front."
            )
            % {"url": base_url}
        )
    return hostname, port


class Command(BaseCommand):
    help = "Set the default Wagtail Site's hostname and port from BASE_URL (idempotent)."

    def handle(self, *args, **options):
        hostname, port = site_address(settings.BASE_URL)
        with transaction.atomic():
            site = Site.objects.select_for_update().filter(is_default_site=True).first()
            if site is None:
                site = self._create(hostname, port)
                before = None
            else:
                before = site.root_url
                # Another Site on this address would break (hostname, port) uniqueness;
                # it is the one BASE_URL means, so it becomes the default.
                other = Site.objects.filter(hostname=hostname, port=port).exclude(pk=site.pk)
                if other.exists():
                    raise CommandError(
                        _("Another site (%(name)s) already has %(url)s; make it the default one.")
                        % {"name": other.first(), "url": settings.BASE_URL}
                    )
                site.hostname, site.port = hostname, port
                site.site_name = site.site_name or settings.WAGTAIL_SITE_NAME
                # save(), not update(): Wagtail's post_save receiver clears its cached
                # site root paths, which every page URL is built from.
                site.save()
        if before == site.root_url:
            message = _("Site: %(url)s (unchanged)") % {"url": site.root_url}
        elif before is None:
            message = _("Site: %(url)s (created)") % {"url": site.root_url}
        else:
            message = _("Site: %(url)s (was %(before)s)") % {"url": site.root_url, "before": before}
        self.stdout.write(message)

    def _create(self, hostname: str, port: int) -> Site:
        root = Page.get_first_root_node()
        home = root.get_children().first() if root else None
        if home is None:
            raise CommandError(_("No page to serve: run `manage.py migrate` first."))
        return Site.objects.create(
            hostname=hostname,
            port=port,
            root_page=home,
            is_default_site=True,
            site_name=settings.WAGTAIL_SITE_NAME,
        )
