import re

import pytest

from analytics import classify
from analytics.classify import bot_reason_for_request, classify_referrer
from tests.analytics.conftest import FIREFOX


@pytest.mark.parametrize(
    "ua",
    [
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; Baiduspider/2.0)",
        "curl/8.5.0",
        "python-requests/2.32",
        "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 HeadlessChrome/120",
        "Barracuda Sentinel (EE)",
        "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
        "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
        "facebookexternalhit/1.1",
    ],
)
def test_known_bots(ua):
    assert bot_reason_for_request(ua) == "user_agent"


def test_humans_and_prefetch():
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
    assert bot_reason_for_request(firefox) == ""
    assert (
        bot_reason_for_request(firefox, headers={"Sec-Purpose": "prefetch;prerender"}) == "prefetch"
    )
    assert bot_reason_for_request("") == "no_user_agent"
    assert bot_reason_for_request(firefox, method="HEAD") == "head_request"


@pytest.mark.parametrize(
    "referrer,expected",
    [
        ("https://www.google.com/search?q=spring+sale", ("organic", "google", "spring sale")),
        ("https://www.google.co.uk/", ("organic", "google", "")),
        ("https://www.baidu.com/s?wd=%E6%98%A5%E5%AD%A3", ("organic", "baidu", "春季")),
        ("https://cn.bing.com/search?q=x", ("organic", "bing", "x")),
        ("https://www.sogou.com/web?query=y", ("organic", "sogou", "y")),
        ("https://t.co/abc", ("social", "", "")),
        ("https://www.zhihu.com/question/1", ("social", "", "")),
        ("https://mail.qq.com/", ("email", "", "")),
        ("", ("direct", "", "")),
        ("https://someblog.example.net/post", ("other", "", "")),
        ("javascript:alert(1)", ("other", "", "")),
        ("https://evilgoogle.com/?q=x", ("other", "", "")),
        ("https://hub.example.com/blog/", ("internal", "", "")),
    ],
)
def test_referrer_classes(referrer, expected):
    result = classify_referrer(referrer, own_host="hub.example.com")
    assert (result["class"], result["engine"], result["query"]) == expected


def test_email_landing_wins():
    result = classify_referrer("", landing_url="https://hub/x?utm_medium=email")
    assert result["class"] == "email"


# --- The cached bot flags on the redirect's hot path ------------------------------------

REFERENCE_BOT_RE = re.compile("|".join(classify.BOT_PATTERNS), re.IGNORECASE)


USER_AGENTS = [
    FIREFOX,
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/140.0.0.0 Safari/537.36 Edg/140.0.0.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.50",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "MOZILLA/5.0 (COMPATIBLE; BINGBOT/2.0)",
    "Mozilla/5.0 (compatible; Baiduspider-render/2.0)",
    "curl/8.5.0",
    "CURL/8.5.0",
    "Mozilla/5.0 curl/8.5.0",  # ^curl/ is anchored: not a bot by that pattern
    "Wget/1.21",
    "Python-Requests/2.32",
    "Go-http-client/2.0",
    "Java/21.0.2",
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
    "Mozilla/5.0 (via ggpht com)",  # the dot is literal
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16)",
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.5)",
    "Barracuda Sentinel (EE)",
    "Mozilla/5.0 Robot",
    "Mozilla/5.0 robotics-lab-browser",  # "bot" inside a word
    "Mozilla/5.0 bot-checker",
    "Mozilla/5.0 (Linux; Android 14) Chrome/140 Mobile Safari/537.36 公司浏览器",
    "Mozilla/5.0 ſcanner",  # long s: only case folding matches it to "scan"
    "Mozilla/5.0 SCAN",
    "Mozilla/5.0 Ünïcödé HeadlessChrome/120",
    "Mozilla/5.0 (compatible; YandexBot/3.0)",
    "facebookexternalhit/1.1",
    "WhatsApp/2.24",
    "Slackbot-LinkExpanding 1.0",
    "Mozilla/5.0 (X11; Linux x86_64) PhantomJS/2.1.1",
    "x" * 300,
]


@pytest.mark.parametrize("user_agent", USER_AGENTS)
def test_bot_flags_match_the_reference(user_agent):
    expected = "user_agent" if REFERENCE_BOT_RE.search(user_agent) else ""
    assert classify.bot_reason_for_request(user_agent) == expected
    assert classify.bot_reason_for_request(user_agent) == expected  # from the cache now


def test_user_agent_verdicts_are_cached_and_bounded():
    classify.user_agent_is_bot.cache_clear()
    for _ in range(3):
        classify.bot_reason_for_request(FIREFOX)
    info = classify.user_agent_is_bot.cache_info()
    assert (info.hits, info.misses) == (2, 1)
    assert info.maxsize == classify.USER_AGENT_CACHE_SIZE
    for i in range(classify.USER_AGENT_CACHE_SIZE + 10):
        classify.bot_reason_for_request(f"{FIREFOX} build/{i}")
    assert classify.user_agent_is_bot.cache_info().currsize == classify.USER_AGENT_CACHE_SIZE
