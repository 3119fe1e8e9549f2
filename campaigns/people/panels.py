"""The owner's home panel "My key accounts" (key_accounts.owned_accounts)."""

from wagtail.admin.ui.components import Component

from .key_accounts import owned_accounts


class MyKeyAccountsPanel(Component):
    name = "people_key_accounts"
    template_name = "people/home_key_accounts.html"
    order = 70

    def __init__(self, rows):
        self.rows = rows

    def get_context_data(self, parent_context):
        return {"rows": self.rows}


def panel_for(user):
    if not user.has_perm("people.view_person"):
        return None
    rows = owned_accounts(user)
    return MyKeyAccountsPanel(rows) if rows else None
