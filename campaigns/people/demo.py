"""Demo customer record: the landing page's leads become the demo marketer's accounts.
Zhao Lei's company (上海优品贸易) is a key account, Hannah Walker a key account of her
own, each with a note from the marketer, so the owner's home panel, the key-account
list, the segment condition and the person page's notes all have something to show.
Through the key-account and note services. Idempotent: a note is added once."""

from django.contrib.auth import get_user_model

from campaigns.audiences.models import Subscriber

from . import key_accounts, notes
from .models import Note

ACCOUNTS = [
    ("zhao.lei@example.cn", True, "年度采购框架协议在谈，每季度回访一次。"),
    ("hannah.walker@example.com", False, "Prefers email in English; renewal due in March."),
]


def load_people_demo(stdout=None) -> dict:
    owner = get_user_model().objects.filter(username="marketer").first()
    if owner is None:
        return {"key_accounts": 0, "notes": 0}
    added_notes = 0
    marked = 0
    for email, whole_company, text in ACCOUNTS:
        person = Subscriber.objects.filter(email=email).first()
        if person is None:
            continue
        key_accounts.mark(person, owner, whole_company=whole_company)
        marked += 1
        if not Note.objects.filter(subscriber=person, text=text).exists():
            notes.add_note(person, owner, text)
            added_notes += 1
    return {"key_accounts": marked, "notes": added_notes}
