"""Demo people and audiences for `manage.py load_demo`: the team's time zone, one login
per role (passwords in var/demo-logins.txt, printed by `ensure_admin`), a mailing list
of 200 subscribers imported through the CSV import's two steps, a second list whose
readers sign up through the subscription service (some of them customers too, so in
both lists), a few unsubscribes and suppressed addresses through the audience services,
and a segment saved in the segment builder's row format. Idempotent: found by username
and slug, never duplicated; the import and the sign-ups run only for a list that has no
subscribers yet.

Channel accounts, campaigns with publications and the e-zine are in channels/demo.py:
they need the email channel's services, which sit above campaigns."""

from __future__ import annotations

import csv
import io
import random
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from wagtail.users.models import UserProfile

from content.roles import EDITORS, LEADERSHIP, MARKETERS, MODERATORS

from .audiences import importing, segments
from .audiences import services as audience_services
from .audiences.models import ImportJob, MailingList, Segment, Subscriber, Subscription, Suppression
from .models import TeamSettings

TEAM_TIME_ZONE = "Asia/Shanghai"
LOGINS_FILE = "demo-logins.txt"

# (role shown in the login list, username, first name, last name, groups, extra
# permission, preferred admin language). The approver reads the admin in Chinese, so
# the campaign waiting for approval is announced to them in Chinese.
DEMO_USERS = [
    ("editor", "editor", "Dana", "Lee", [EDITORS], None, ""),
    ("moderator", "moderator", "Sam", "Okafor", [MODERATORS], None, ""),
    ("marketer", "marketer", "Mia", "Chen", [MARKETERS], None, ""),
    ("approver", "approver", "李娜", "", [MARKETERS], "campaigns.approve_campaign", "zh-hans"),
    ("leadership", "leadership", "Alex", "Stone", [LEADERSHIP], None, ""),
]

LIST_SLUG = "demo-customers"
LIST_NAME = "Customers 客户"
SEGMENT_NAME = "Chinese-speaking VIPs 中文VIP客户"
SUBSCRIBERS = 200
READERS_SLUG = "demo-readers"
READERS_NAME = "Blog readers 博客读者"
READERS_CONSENT = "Demo data: readers who signed up on the hub's newsletter form (2026)."
# New readers (name, address, language); every fifth customer signs up as well.
NEW_READERS = [
    ("Grace Miller", "grace.miller@example.org", "en"),
    ("Oliver Green", "oliver.green@example.org", "en"),
    ("赵丽", "zhaoli@example.cn", "zh-hans"),
    ("孙浩", "sunhao@example.cn", "zh-hans"),
    ("Hannah Scott", "hannah.scott@example.org", "en"),
    ("郭晓燕", "guoxiaoyan@example.cn", "zh-hans"),
]
# Customers who left the list (one of them everything: suppressed), and addresses the
# mail server refused for good (suppressed as hard bounces), by import row.
UNSUBSCRIBED_ROWS = (7, 19, 23)
UNSUBSCRIBED_EVERYWHERE_ROW = 31
BOUNCED_ROWS = (45, 57)
CONSENT_BASIS = "Demo data: customers who opted in at checkout (2026)."

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["芳", "娜", "伟", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "娟", "涛", "明", "超"]
ENGLISH = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Zoe", "Ryan"]
FAMILY = ["Smith", "Brown", "Wilson", "Taylor", "Clark", "Walker", "Hall", "Young"]
ZONES_ZH = ["Asia/Shanghai", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore"]
ZONES_EN = ["Europe/London", "America/New_York", "America/Los_Angeles", "Australia/Sydney"]
# Internationalised addresses (RFC 6531) that the import must accept as they are.
IDN_ADDRESSES = ["王芳@example.com", "李娜@例子.中国", "张伟@example.cn", "陈静@公司.中国"]


def load_campaigns_demo(stdout=None) -> dict:
    counts = {"team time zone": 0, "users": 0, "mailing lists": 0, "subscribers": 0}
    counts["team time zone"] = _set_team_time_zone()
    counts["users"] = ensure_demo_users()
    mailing_list, created = MailingList.objects.get_or_create(
        slug=LIST_SLUG,
        defaults={
            "name": LIST_NAME,
            "description": "Shop customers in China and abroad. 国内外的商店客户。",
            "is_public": True,
        },
    )
    counts["mailing lists"] = int(created)
    if not Subscription.objects.filter(mailing_list=mailing_list).exists():
        counts["subscribers"] = _import_subscribers(mailing_list)
        _customers_leave(mailing_list)
    readers, created = MailingList.objects.get_or_create(
        slug=READERS_SLUG,
        defaults={
            "name": READERS_NAME,
            "description": "People who read the hub's blog. 订阅博客的读者。",
            "is_public": True,
        },
    )
    counts["mailing lists"] += int(created)
    if not Subscription.objects.filter(mailing_list=readers).exists():
        counts["subscribers"] += _readers_sign_up(readers)
    counts["segments"] = _ensure_segment(mailing_list)
    return counts


def _customer(row: int) -> Subscriber:
    """The subscriber of the import's row `row` (0-based), by the demo file's address."""
    email = IDN_ADDRESSES[row] if row < len(IDN_ADDRESSES) else f"customer{row:03d}@example.com"
    return Subscriber.objects.get(email=audience_services.normalise_email(email))


def _customers_leave(mailing_list: MailingList) -> None:
    """What a list looks like after a while: a few unsubscribed from it (the unsubscribe
    page's service), one from everything, two addresses refused for good."""
    for row in UNSUBSCRIBED_ROWS:
        audience_services.unsubscribe(_customer(row), mailing_list)
    audience_services.unsubscribe(_customer(UNSUBSCRIBED_EVERYWHERE_ROW), everything=True)
    for row in BOUNCED_ROWS:
        audience_services.suppress_address(
            _customer(row).email,
            Suppression.Reason.HARD_BOUNCE,
            "550 5.1.1 mailbox unavailable (demo)",
        )


def _readers_sign_up(readers: MailingList) -> int:
    """Sign-ups through the subscription service (consent recorded, no confirmation
    round trip: the demo states its basis as an import would). Every fifth customer
    signs up too, so they are in both lists; a suppressed address is refused, as the
    form would refuse it."""
    signed = 0
    people = list(NEW_READERS)
    people += [(c.name, c.email, c.language) for c in _customers_every(5)]
    for name, email, language in people:
        try:
            audience_services.subscribe(
                email,
                readers,
                method=Subscription.Method.API,
                consent_basis=READERS_CONSENT,
                name=name,
                language=language,
                double_opt_in=False,
            )
        except audience_services.AudienceError:
            continue
        signed += 1
    return signed


def _customers_every(step: int) -> list[Subscriber]:
    return [_customer(row) for row in range(0, SUBSCRIBERS, step)]


def _set_team_time_zone() -> int:
    """Asia/Shanghai until someone chose a zone in Team settings (a saved row): a later
    run keeps what the team chose. Set before the users, who are given this zone."""
    if TeamSettings.objects.exists():
        return 0
    team = TeamSettings.load()
    team.time_zone = TEAM_TIME_ZONE
    team.full_clean()
    team.save()
    return 1


def read_demo_logins() -> dict[str, str]:
    """username -> password, as written to var/demo-logins.txt."""
    path = settings.VAR_DIR / LOGINS_FILE
    if not path.exists():
        return {}
    logins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) == 3 and not line.startswith("#"):
            logins[parts[1]] = parts[2]
    return logins


def ensure_demo_users() -> int:
    """One active user per role. A new user gets a random password, written next to the
    admin's; an existing one keeps its password if the file still holds it."""
    User = get_user_model()
    logins = read_demo_logins()
    created = 0
    lines = ["# role username password (demo logins; make run prints them)"]
    for role, username, first, last, groups, permission, language in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            password = secrets.token_urlsafe(12)
            user = User.objects.create_user(
                username,
                f"{username}@example.com",
                password,
                first_name=first,
                last_name=last,
            )
            created += 1
        elif username in logins and user.check_password(logins[username]):
            password = logins[username]
        else:
            # The file lost it, or holds another database's password: a new one, so
            # the printed logins always work.
            password = secrets.token_urlsafe(12)
            user.set_password(password)
            user.save(update_fields=["password"])
        user.groups.add(*(Group.objects.get_or_create(name=name)[0] for name in groups))
        if permission:
            app_label, codename = permission.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        if language:
            profile = UserProfile.get_for_user(user)
            if not profile.preferred_language:
                profile.preferred_language = language
                profile.save(update_fields=["preferred_language"])
        lines.append(f"{role} {username} {password}")
    path = settings.VAR_DIR / LOGINS_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    path.chmod(0o600)
    return created


def demo_csv(count: int = SUBSCRIBERS) -> bytes:
    """The demo's subscriber file, as a marketer would export it from a shop: Chinese
    headers, Chinese and English names, a few internationalised addresses, two
    languages, several time zones and tags. The same file every run (fixed seed)."""
    rng = random.Random(2026)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["邮箱", "姓名", "语言", "时区", "标签"])
    for n in range(count):
        chinese = n % 3 != 2
        if chinese:
            name = rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(["", *GIVEN])
            language, zone = "zh-hans", rng.choice(ZONES_ZH)
        else:
            name = f"{rng.choice(ENGLISH)} {rng.choice(FAMILY)}"
            language, zone = "en", rng.choice(ZONES_EN)
        email = IDN_ADDRESSES[n] if n < len(IDN_ADDRESSES) else f"customer{n:03d}@example.com"
        tags = ["customer"]
        if n % 4 == 0:
            tags.append("vip")
        if rng.random() < 0.3:
            tags.append("wholesale")
        writer.writerow([email, name, language, zone, ";".join(tags)])
    return out.getvalue().encode("utf-8")


def _import_subscribers(mailing_list: MailingList) -> int:
    """The admin's import, step by step: upload (the job, with the guessed column
    mapping), the check and its report, the choice to import the valid rows, the
    import. Run inline here; the admin runs the two steps as Celery tasks."""
    data = demo_csv()
    preview = importing.preview_csv(data, "auto")
    job = ImportJob.objects.create(
        mailing_list=mailing_list,
        file=data,
        encoding=preview["encoding"],
        mapping=preview["mapping"],
        consent_basis=CONSENT_BASIS,
    )
    job = importing.check_import(job.pk)
    if job.rejected_rows or not importing.confirm_import(job):
        raise RuntimeError(f"The demo import was refused: {job.errors[:3]}")
    return importing.run_import(job.pk).imported_rows


def segment_filters(mailing_list: MailingList) -> dict:
    """Chinese-speaking VIPs of the list, as the segment builder saves its rows."""
    return {
        "match": "all",
        "rules": [
            {"field": "list", "op": "is", "value": str(mailing_list.pk)},
            {"field": "language", "op": "is", "value": "zh-hans"},
            {"field": "tag", "op": "is", "value": "vip"},
        ],
    }


def _ensure_segment(mailing_list: MailingList) -> int:
    if Segment.objects.filter(mailing_list=mailing_list, name=SEGMENT_NAME).exists():
        return 0
    segment = Segment(
        name=SEGMENT_NAME,
        mailing_list=mailing_list,
        # The builder's own check, so the rows are stored exactly as the form stores them.
        filters=segments.clean_filters(segment_filters(mailing_list)),
    )
    segment.full_clean()
    segment.save()
    return 1
