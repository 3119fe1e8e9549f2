"""Admin registration for People: the menu item (search), the person page and its
forms, the key-account listing and the owner's home panel; the personal data rights'
URLs and the menu item of their log (for whoever may read it: Leadership, Data
protection, superusers)."""

from django.urls import include, path, reverse
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.model import ModelViewSet

from . import panels, rights_urls, views
from .models import KeyAccount


class PeopleMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm(views.VIEW)


@hooks.register("register_admin_menu_item")
def register_people_menu():
    return PeopleMenuItem(_("People"), reverse("people_search"), icon_name="user", order=255)


@hooks.register("register_admin_urls")
def register_people_urls():
    return [
        path("people/", views.people_search, name="people_search"),
        path("people/<int:pk>/", views.person, name="people_person"),
        path("people/<int:pk>/note/", views.add_note, name="people_add_note"),
        path("people/<int:pk>/key-account/", views.key_account, name="people_key_account"),
        path("people/rights/", include(rights_urls, namespace="people_rights")),
    ]


class KeyAccountViewSet(ModelViewSet):
    model = KeyAccount
    icon = "pick"
    menu_label = _("Key accounts")
    add_to_admin_menu = True
    menu_order = 256
    form_fields = ["company", "owner"]
    list_display = ["__str__", "owner", "created_at"]
    list_filter = ["owner"]
    search_fields = ["company", "subscriber__email", "subscriber__name"]
    inspect_view_enabled = False


@hooks.register("register_admin_viewset")
def register_key_accounts():
    return KeyAccountViewSet("key_accounts")


@hooks.register("construct_homepage_panels")
def add_key_accounts_panel(request, panels_list):
    panel = panels.panel_for(request.user)
    if panel is not None:
        panels_list.append(panel)


class RightsLogMenuItem(MenuItem):
    def is_shown(self, request):
        return request.user.has_perm("people.view_datarightsrequest")


@hooks.register("register_reports_menu_item")
def register_rights_log_menu_item():
    return RightsLogMenuItem(
        _("Personal data requests"), reverse("people_rights:log"), icon_name="lock", order=900
    )
