"""Demo content for `manage.py load_demo`: idempotent (found by slug, never duplicated)."""

import datetime

from django.utils import timezone
from wagtail.models import Page, Site

from .models import (
    BlogIndexPage,
    BlogPostPage,
    EmailIssueIndexPage,
    EmailIssuePage,
    EZineIssuePage,
    EZinePage,
    HomePage,
    SoftArticlePage,
)
from .roles import use_slot_approval


def _p(text: str) -> tuple[str, str]:
    return ("paragraph", f"<p>{text}</p>")


def _h(text: str) -> tuple[str, dict]:
    return ("heading", {"text": text, "level": "h2"})


def get_or_add(parent: Page, model, slug: str, **fields) -> tuple[Page, bool]:
    """The child of `parent` with `slug`, or a new published one."""
    existing = parent.get_children().filter(slug=slug).first()
    if existing:
        return existing.specific, False
    page = model(slug=slug, **fields)
    parent.add_child(instance=page)
    page.save_revision().publish()
    page.refresh_from_db()
    return page, True


def ensure_home() -> HomePage:
    """Make a HomePage the default site's root, replacing Wagtail's welcome page."""
    home = HomePage.objects.first()
    root = Page.get_first_root_node()
    if home is None:
        home = HomePage(
            title="Campaign Hub",
            slug="campaign-hub",
            intro="<p>Guides, stories and partner features for growing online shops. "
            "增长指南、案例故事和合作伙伴专题。</p>",
        )
        root.add_child(instance=home)
        home.save_revision().publish()
    site = Site.objects.filter(is_default_site=True).first()
    if site is None:
        Site.objects.create(
            hostname="localhost",
            port=80,
            root_page=home,
            is_default_site=True,
            site_name="Campaign Hub",
        )
    elif site.root_page_id != home.pk:
        old_root = site.root_page
        site.root_page = home
        site.site_name = site.site_name or "Campaign Hub"
        site.save()
        if (
            type(old_root.specific) is Page
            and old_root.depth == 2
            and not old_root.get_children().exists()
        ):
            old_root.delete()
    return home


POSTS_EN = [
    (
        "spring-sale-checklist",
        "The spring sale checklist",
        "spring sale",
        "Twelve steps that turn a spring sale into your best month.",
        [
            _p(
                "A spring sale works when the offer, the timing and the follow-up are planned together. "
                "This spring sale checklist walks through all three."
            ),
            _h("Pick one clear offer"),
            _p(
                "Shoppers skim. One discount, stated in the subject line and the first sentence, beats "
                'five clever ones. See <a href="https://www.example.com/pricing-psychology">our pricing notes</a>.'
            ),
            _h("Warm up your list"),
            _p("Send a teaser a week before. People who open it are your best early buyers."),
        ],
    ),
    (
        "email-subject-lines-that-work",
        "Email subject lines that work in 2026",
        "email subject lines",
        "What we learned from 4 million sends about subject lines.",
        [
            _p("Email subject lines decide whether anything else you wrote gets read."),
            _h("Short wins on mobile"),
            _p(
                'Keep email subject lines under 45 characters. <a href="https://litmus.example.org/mobile">Mobile clients</a> cut the rest.'
            ),
        ],
    ),
    (
        "forum-marketing-without-spam",
        "Forum marketing without being the spammer",
        "forum marketing",
        "How to join communities as a helpful member, not an advert.",
        [
            _p("Forum marketing is about answers first. Disclose who you work for, always."),
            _p(
                'Read the rules of each community. <a href="https://forum.example.net/guidelines">Guidelines</a> exist for a reason.'
            ),
        ],
    ),
]

POSTS_ZH = [
    (
        "double-eleven-review",
        "双十一复盘：小团队的五个经验",
        "双十一复盘",
        "一个五人团队如何在双十一期间把转化率提高一倍。",
        [
            _p("双十一复盘要趁早。我们整理了活动期间最重要的五个经验，供小团队参考。"),
            _h("提前两周预热"),
            _p(
                '预热内容要简单明了，让用户记住一个利益点。<a href="https://www.example.cn/yure">查看预热模板</a>。'
            ),
            _h("邮件与社群配合"),
            _p("邮件负责提醒，社群负责答疑，两者节奏一致，转化率才会提高。"),
        ],
    ),
    (
        "seo-for-baidu",
        "百度SEO入门：标题与描述怎么写",
        "百度SEO",
        "百度SEO的标题建议在30个汉字以内，描述在80个汉字以内。",
        [
            _p("百度SEO和谷歌不同：标题长度按汉字计算，建议控制在30个字以内。"),
            _p(
                '描述写清楚页面解决的问题。<a href="https://ziyuan.example.cn/guide">站长指南</a>有更多细节。'
            ),
        ],
    ),
]

SOFT_ARTICLES = [
    (
        "acme-analytics-review",
        "How Acme Analytics saved our Black Friday",
        "Acme Analytics",
        "Sponsored",
        "en",
        [
            _p("Acme Analytics showed us which campaign actually sold. Here is how we set it up."),
            _p(
                'Try it free: <a href="https://acme-analytics.example.com/trial">Acme Analytics trial</a>.'
            ),
        ],
    ),
    (
        "hualu-tea-feature",
        "华露茶饮：一家茶饮店的线上增长之路",
        "华露茶饮",
        "广告",
        "zh-hans",
        [
            _p("华露茶饮通过会员邮件和社群活动，在三个月内让复购率提高了40%。"),
            _p('了解更多：<a href="https://hualu.example.cn/story">品牌故事</a>。'),
        ],
    ),
]

EZINES = [
    (
        "growth-notes",
        "Growth Notes Weekly",
        "en",
        "<p>Five links every Monday for people who grow online shops.</p>",
        [
            (
                1,
                "Issue 1: Starting with email",
                "Why email still beats every other channel on return.",
            ),
            (
                2,
                "Issue 2: Pricing pages",
                "Pricing pages that answer questions before they are asked.",
            ),
            (3, "Issue 3: Holiday planning", "Plan the holidays in September, not November."),
        ],
    ),
    (
        "marketing-weekly-zh",
        "营销周刊",
        "zh-hans",
        "<p>每周一期，精选电商营销实践。</p>",
        [
            (1, "第1期：私域流量怎么做", "从邮件列表开始建立自己的用户池。"),
            (2, "第2期：内容营销的节奏", "稳定的更新频率比偶尔的爆款更重要。"),
        ],
    ),
]


EMAIL_ISSUES = [
    (
        "november-2026",
        "November 2026 newsletter",
        "Your November marketing playbook",
        "Three campaigns to copy this month",
        "en",
        [
            _h("Hello {{ name }},"),
            _p("Here are three campaigns worth copying before the holidays."),
            ("button", {"text": "Read the playbook", "url": "https://www.example.com/playbook"}),
            ("divider", None),
            _p('Questions? <a href="https://www.example.com/contact">Write to us</a>.'),
        ],
    ),
    (
        "2026-11-zh",
        "十一月通讯",
        "十一月营销手册",
        "本月值得借鉴的三个活动",
        "zh-hans",
        [
            _h("{{ name }}，你好："),
            _p("节前值得借鉴的三个营销活动，都在这里。"),
            ("button", {"text": "阅读手册", "url": "https://www.example.cn/playbook"}),
        ],
    ),
]


class _DemoPages:
    """Adds demo pages (get_or_add) and counts the ones it created."""

    def __init__(self):
        self.created = 0

    def add(self, parent: Page, model, slug: str, **fields) -> Page:
        page, new = get_or_add(parent, model, slug, **fields)
        self.created += int(new)
        return page


def _add_posts(pages: _DemoPages, blog: Page, posts, author_name: str, language: str) -> None:
    for slug, title, keyphrase, excerpt, body in posts:
        pages.add(
            blog,
            BlogPostPage,
            slug,
            title=title,
            focus_keyphrase=keyphrase,
            excerpt=excerpt,
            body=body,
            author_name=author_name,
            language=language,
            search_description=excerpt,
        )


def _add_blog(pages: _DemoPages, home: HomePage) -> None:
    """The blog: posts in English, then in Chinese, then the sponsored articles."""
    blog = pages.add(
        home,
        BlogIndexPage,
        "blog",
        title="Blog",
        show_in_menus=True,
        intro="<p>Practical marketing, in English and 中文.</p>",
    )
    _add_posts(pages, blog, POSTS_EN, "Dana Lee", "en")
    _add_posts(pages, blog, POSTS_ZH, "王小明", "zh-hans")
    for slug, title, sponsor, label, language, body in SOFT_ARTICLES:
        pages.add(
            blog,
            SoftArticlePage,
            slug,
            title=title,
            sponsor=sponsor,
            disclosure_label=label,
            language=language,
            focus_keyphrase=sponsor,
            body=body,
            sponsor_url=f"https://{slug}.example.com/",
        )


def _add_newsletter(pages: _DemoPages, home: HomePage) -> None:
    newsletter = pages.add(
        home, EmailIssueIndexPage, "newsletter", title="Newsletter", show_in_menus=True
    )
    for slug, title, subject, preheader, language, body in EMAIL_ISSUES:
        pages.add(
            newsletter,
            EmailIssuePage,
            slug,
            title=title,
            subject=subject,
            preheader=preheader,
            language=language,
            body=body,
        )


def _add_ezines(pages: _DemoPages, home: HomePage) -> None:
    """Each e-zine with its issues, a week apart, the last one dated today."""
    today = timezone.localdate()
    for slug, title, language, description, issues in EZINES:
        ezine = pages.add(
            home,
            EZinePage,
            slug,
            title=title,
            language=language,
            description=description,
            show_in_menus=True,
        )
        for number, issue_title, editorial in issues:
            pages.add(
                ezine,
                EZineIssuePage,
                f"issue-{number}",
                title=issue_title,
                issue_number=number,
                issue_date=today - datetime.timedelta(days=7 * (len(issues) - number)),
                editorial=f"<p>{editorial}</p>",
                body=[
                    _p(editorial),
                    _p('<a href="https://www.example.com/further-reading">Further reading</a>'),
                ],
            )


def load_content(stdout=None) -> dict:
    """Create the demo site. Returns counts of what was created (0s on a second run)."""
    pages = _DemoPages()
    home = ensure_home()
    # The demo's moderators approve for the campaign slot (content.moderation), also in
    # a database whose workflow was set up before that task existed.
    use_slot_approval()
    _add_blog(pages, home)
    _add_newsletter(pages, home)
    _add_ezines(pages, home)
    return {"pages": pages.created}
