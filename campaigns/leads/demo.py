"""Demo landing page: "Book a demo" under the hub's home page, a form with the person's
fields, a choice and a free text, offering the blog readers' list; three leads sent
through the form and the submission service (one ticks the list: pending, its
confirmation kept in memory by load_demo). Idempotent."""

from campaigns.audiences.models import MailingList
from content.demo import ensure_home, get_or_add

from . import services
from .forms import SUBSCRIBE_FIELD, add_subscribe_box
from .models import LandingPage, LeadFormField

SLUG = "book-a-demo"
READERS_SLUG = "demo-readers"  # campaigns/demo.py's list, loaded before this one
FIELDS = [
    ("Email", "email", True, ""),
    ("Name", "name", True, ""),
    ("Phone", "phone", False, ""),
    ("Company", "company", False, ""),
    ("Team size", "dropdown", False, "1-10\n11-50\n51-500\n500+"),
    ("What would you like to see?", "multiline", False, ""),
]
LEADS = [
    {
        "email": "zhao.lei@example.cn",
        "name": "赵磊",
        "phone": "+86 21 5555 0101",
        "company": "上海优品贸易",
        "team_size": "11-50",
        "what_would_you_like_to_see": "微信和邮件活动的转化统计。",
        SUBSCRIBE_FIELD: "on",
    },
    {
        "email": "hannah.walker@example.com",
        "name": "Hannah Walker",
        "company": "Walker Outdoor Ltd",
        "team_size": "1-10",
        "what_would_you_like_to_see": "Landing pages for our spring sale.",
    },
    {
        "email": "chen.jing@example.com",
        "name": "陈静",
        "phone": "(555) 010-2030 ext. 7",
        "team_size": "51-500",
    },
]


def load_leads_demo(stdout=None) -> dict:
    home = ensure_home()
    if home.get_children().filter(slug=SLUG).exists():
        return {"landing pages": 0, "form submissions": 0}
    page, _new = get_or_add(
        home,
        LandingPage,
        SLUG,
        title="Book a demo 预约演示",
        language="en",
        intro=(
            "<p>See how one hub plans, publishes and measures campaigns across email, "
            "forums, blogs and e-zines. Tell us about your team and we will book a "
            "30-minute demo.</p>"
        ),
        focus_keyphrase="campaign demo",
        seo_title="Book a campaign demo: email, forum and blog campaigns in one hub",
        search_description="Book a 30-minute campaign demo of the hub for your team.",
        mailing_list=MailingList.objects.filter(slug=READERS_SLUG).first(),
        submit_label="Book my demo",
        thank_you_text="<p>Thank you! We will write within one working day. 谢谢！</p>",
        show_in_menus=True,
        form_fields=[
            LeadFormField(sort_order=i, label=label, field_type=kind, required=req, choices=ch)
            for i, (label, kind, req, ch) in enumerate(FIELDS)
        ],
    )
    sent = 0
    for answers in LEADS:
        # The reader's form as the page builds it, then the submission service.
        form = page.get_form(answers, page=page, user=None)
        if page.mailing_list_id:
            add_subscribe_box(form, page.mailing_list)
        if not form.is_valid():  # the demo's own data: a mistake here is a bug
            raise ValueError(form.errors.as_text())
        submission = services.submit(page, form)
        services.subscribe_lead(submission.pk)
        sent += 1
    return {"landing pages": 1, "form submissions": sent}
