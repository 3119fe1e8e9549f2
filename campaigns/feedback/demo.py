"""Demo feedback page: "Contact us 意见反馈" under the hub's home page, and three cases
sent through the form and the case service by people the landing page demo already
knows (so the demo's subscriber count stays): a complaint answered and resolved, a
suggestion assigned to the demo marketer, an enquiry still new. Idempotent."""

from django.contrib.auth import get_user_model

from content.demo import ensure_home, get_or_add

from . import services
from .forms import FeedbackForm
from .models import Case, FeedbackPage

SLUG = "contact-us"
POSTS = [
    {
        "category": "complaint",
        "name": "赵磊",
        "email": "zhao.lei@example.cn",
        "phone": "+86 21 5555 0101",
        "subject": "包裹破损",
        "message": "收到的包裹外箱被压坏，杯子碎了一个。",
        "order_reference": "SO-2026-0042",
    },
    {
        "category": "suggestion",
        "name": "Hannah Walker",
        "email": "hannah.walker@example.com",
        "subject": "A newsletter in English too",
        "message": "Your spring newsletter looked great; could it come in English as well?",
    },
    {
        "category": "enquiry",
        "name": "陈静",
        "email": "chen.jing@example.com",
        "subject": "发票怎么开？",
        "message": "请问企业订单可以开增值税专用发票吗？",
    },
]


def load_feedback_demo(stdout=None) -> dict:
    home = ensure_home()
    if home.get_children().filter(slug=SLUG).exists():
        return {"feedback pages": 0, "feedback cases": 0}
    page, _new = get_or_add(
        home,
        FeedbackPage,
        SLUG,
        title="Contact us 意见反馈",
        language="zh-hans",
        intro="<p>投诉、建议或咨询：我们在一个工作日内答复。</p>",
        thank_you_text="<p>谢谢！我们已收到您的留言。</p>",
        show_in_menus=True,
    )
    cases = []
    for post in POSTS:
        form = FeedbackForm(post, categories=page.categories())
        if not form.is_valid():  # the demo's own data: a mistake here is a bug
            raise ValueError(form.errors.as_text())
        cases.append(services.open_case(page, form.cleaned_data, language=page.language))
    staff = get_user_model().objects.filter(groups__name="Marketers").order_by("pk").first()
    if staff is not None:
        complaint, suggestion, _enquiry = cases
        services.assign(complaint, staff, staff)
        services.reply(complaint, staff, "非常抱歉！新的杯子今天已寄出，运单号会另行发送。")
        services.add_note(complaint, staff, "Courier damage: claim filed.")
        services.set_status(complaint, Case.Status.RESOLVED, staff)
        services.assign(suggestion, staff, staff)
    return {"feedback pages": 1, "feedback cases": len(cases)}
