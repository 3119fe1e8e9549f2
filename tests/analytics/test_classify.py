import pytest

from analytics.classify import bot_reason_for_request, classify_referrer


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
