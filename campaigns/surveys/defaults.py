"""The default wording of the surveys: the NPS question and the 22 SERVQUAL items
(Parasuraman, Zeithaml and Berry, 1988), shortened, in English and Simplified Chinese.
A new survey page takes the wording of its own language; editors change it freely."""

from django.utils.translation import gettext_lazy as _

DIMENSIONS = [
    ("tangibles", _("Tangibles")),
    ("reliability", _("Reliability")),
    ("responsiveness", _("Responsiveness")),
    ("assurance", _("Assurance")),
    ("empathy", _("Empathy")),
]

NPS_QUESTION = {
    "en": "How likely are you to recommend us to a friend or colleague?",
    "zh-hans": "您有多大可能向朋友或同事推荐我们？",
}
NPS_COMMENT_PROMPT = {
    "en": "What is the main reason for your score?",
    "zh-hans": "您给出这个分数的主要原因是什么？",
}

# (dimension, expectation en, perception en, expectation zh, perception zh)
SERVQUAL_ITEMS = [
    (
        "tangibles",
        "Excellent companies have modern equipment.",
        "We have modern equipment.",
        "优秀的公司拥有现代化的设备。",
        "我们拥有现代化的设备。",
    ),
    (
        "tangibles",
        "Their facilities are visually appealing.",
        "Our facilities are visually appealing.",
        "其设施外观吸引人。",
        "我们的设施外观吸引人。",
    ),
    (
        "tangibles",
        "Their employees are neat in appearance.",
        "Our employees are neat in appearance.",
        "其员工衣着整洁。",
        "我们的员工衣着整洁。",
    ),
    (
        "tangibles",
        "Their materials (leaflets, statements) look appealing.",
        "Our materials (leaflets, statements) look appealing.",
        "其资料（宣传册、账单）美观。",
        "我们的资料（宣传册、账单）美观。",
    ),
    (
        "reliability",
        "When they promise to do something by a certain time, they do it.",
        "When we promise to do something by a certain time, we do it.",
        "承诺在某时间内完成的事，能按时完成。",
        "我们承诺在某时间内完成的事，能按时完成。",
    ),
    (
        "reliability",
        "When a customer has a problem, they show sincere interest in solving it.",
        "When you have a problem, we show sincere interest in solving it.",
        "客户遇到问题时，真诚地帮助解决。",
        "您遇到问题时，我们真诚地帮助解决。",
    ),
    (
        "reliability",
        "They perform the service right the first time.",
        "We perform the service right the first time.",
        "第一次就把服务做好。",
        "我们第一次就把服务做好。",
    ),
    (
        "reliability",
        "They provide their services at the time they promise.",
        "We provide our services at the time we promise.",
        "在承诺的时间提供服务。",
        "我们在承诺的时间提供服务。",
    ),
    (
        "reliability",
        "They keep error-free records.",
        "We keep error-free records.",
        "记录准确无误。",
        "我们的记录准确无误。",
    ),
    (
        "responsiveness",
        "They tell customers exactly when services will be performed.",
        "We tell you exactly when services will be performed.",
        "准确告知客户服务何时进行。",
        "我们准确告知您服务何时进行。",
    ),
    (
        "responsiveness",
        "Their employees give prompt service.",
        "Our employees give you prompt service.",
        "员工提供及时的服务。",
        "我们的员工为您提供及时的服务。",
    ),
    (
        "responsiveness",
        "Their employees are always willing to help.",
        "Our employees are always willing to help you.",
        "员工总是乐于帮助客户。",
        "我们的员工总是乐于帮助您。",
    ),
    (
        "responsiveness",
        "Their employees are never too busy to respond.",
        "Our employees are never too busy to respond to you.",
        "员工再忙也会回应客户。",
        "我们的员工再忙也会回应您。",
    ),
    (
        "assurance",
        "Their employees' behaviour instils confidence.",
        "Our employees' behaviour instils confidence in you.",
        "员工的行为让客户有信心。",
        "我们员工的行为让您有信心。",
    ),
    (
        "assurance",
        "Customers feel safe in their transactions.",
        "You feel safe in your transactions with us.",
        "客户在交易中感到安全。",
        "您在与我们的交易中感到安全。",
    ),
    (
        "assurance",
        "Their employees are consistently courteous.",
        "Our employees are consistently courteous with you.",
        "员工始终彬彬有礼。",
        "我们的员工始终对您彬彬有礼。",
    ),
    (
        "assurance",
        "Their employees have the knowledge to answer questions.",
        "Our employees have the knowledge to answer your questions.",
        "员工具备回答问题的专业知识。",
        "我们的员工具备回答您问题的专业知识。",
    ),
    (
        "empathy",
        "They give customers individual attention.",
        "We give you individual attention.",
        "给予客户个别的关注。",
        "我们给予您个别的关注。",
    ),
    (
        "empathy",
        "Their operating hours are convenient to all customers.",
        "Our operating hours are convenient to you.",
        "营业时间方便所有客户。",
        "我们的营业时间方便您。",
    ),
    (
        "empathy",
        "Their employees give customers personal attention.",
        "Our employees give you personal attention.",
        "员工给予客户个人化的关心。",
        "我们的员工给予您个人化的关心。",
    ),
    (
        "empathy",
        "They have their customers' best interests at heart.",
        "We have your best interests at heart.",
        "把客户的利益放在心上。",
        "我们把您的利益放在心上。",
    ),
    (
        "empathy",
        "Their employees understand customers' specific needs.",
        "Our employees understand your specific needs.",
        "员工了解客户的具体需求。",
        "我们的员工了解您的具体需求。",
    ),
]


def servqual_defaults(language: str) -> list[tuple[str, dict]]:
    """The 22 items as StreamField data in `language` (English for any other)."""
    zh = language == "zh-hans"
    return [
        (
            "item",
            {
                "dimension": dimension,
                "expectation": exp_zh if zh else exp_en,
                "perception": per_zh if zh else per_en,
            },
        )
        for dimension, exp_en, per_en, exp_zh, per_zh in SERVQUAL_ITEMS
    ]
