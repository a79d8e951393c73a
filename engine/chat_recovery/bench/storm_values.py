"""Realistic values for the storm: every visitor property of the contract,
custom variables, chat props and wrap-ups."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from .. import timeutil

RESTART = datetime(2026, 11, 24, 9, 0, 0, tzinfo=UTC)  # uploads arrive within 30 s of it

AGENTS = tuple(f"a-{n:03d}" for n in range(1, 241))
SITE_STATUSES = (
    "inSite",
    "preChat",
    "offlineMessage",
    "manualInvitation",
    "autoInvitation",
    "refusedByVisitor",
    "systemProcessing",
    "outOfSite",
)
SITE_WEIGHTS = (60, 8, 4, 5, 8, 3, 4, 8)
CHAT_STATUSES = ("waitingForChat", "chatting", "transferring", "chatEnded", "refusedByAgent")
BROWSERS = ("Chrome 131", "Chrome 130", "Firefox 132", "Safari 18.1", "Edge 131", "Samsung Internet 26")
SYSTEMS = ("Windows 11", "Windows 10", "macOS 15.1", "iOS 18.1", "Android 15", "Ubuntu 24.04")
SCREENS = ("1920x1080", "2560x1440", "1366x768", "1440x900", "390x844", "412x915")
PLACES = (
    ("United States", "Austin", "Texas", "US", "America/Chicago", "en-US"),
    ("Germany", "Berlin", "Berlin", "DE", "Europe/Berlin", "de-DE"),
    ("China", "Shanghai", "Shanghai", "CN", "Asia/Shanghai", "zh-CN"),
    ("Brazil", "São Paulo", "São Paulo", "BR", "America/Sao_Paulo", "pt-BR"),
    ("India", "Bengaluru", "Karnataka", "IN", "Asia/Kolkata", "en-IN"),
    ("France", "Lyon", "Auvergne-Rhône-Alpes", "FR", "Europe/Paris", "fr-FR"),
    ("Japan", "Osaka", "Osaka", "JP", "Asia/Tokyo", "ja-JP"),
)
PAGES = (
    ("/", "Home"),
    ("/pricing", "Pricing"),
    ("/features", "Features"),
    ("/docs/setup", "Setup guide"),
    ("/checkout", "Checkout"),
    ("/account/billing", "Billing"),
    ("/blog/release-notes", "Release notes"),
    ("/contact", "Contact us"),
)
SEARCH = (
    ("https://www.google.com/search?q=live+chat+software", "Google", "live chat software"),
    ("https://www.bing.com/search?q=chat+widget", "Bing", "chat widget"),
    ("https://www.baidu.com/s?wd=在线客服", "Baidu", "在线客服"),
    ("https://news.example.com/review", None, None),
    (None, None, None),
)
FIRST_NAMES = ("Ana", "Wei", "Priya", "Lukas", "Sofia", "Kenji", "Omar", "Chloé", "Mateus", "Grace")
LAST_NAMES = ("Silva", "Zhang", "Patel", "Müller", "Rossi", "Tanaka", "Haddad", "Martin", "Costa", "Okafor")
COMPANIES = ("Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Soylent", "Hooli", "Vandelay Industries")
PRODUCTS = ("Billing", "Technical support", "Sales", "Onboarding", "Enterprise plan")
VARIABLES = (
    "plan",
    "cartValue",
    "orderId",
    "locale",
    "abTest",
    "loyaltyTier",
    "appVersion",
    "region",
    "signupSource",
    "lastOrderDate",
    "coupon",
    "accountAge",
    "device",
    "referralCode",
    "seats",
)
CATEGORIES = ("billing", "refund", "bug", "how-to", "sales-lead", "complaint", "feature-request")
URL = "https://shop.example.com"


def agent_id(rng: random.Random) -> str:
    return rng.choice(AGENTS)


def stamp(when: datetime) -> str:
    return timeutil.format_time(when)


def _ago(rng: random.Random, low: int, high: int) -> str:
    return stamp(RESTART - timedelta(seconds=rng.randint(low, high), milliseconds=rng.randrange(1000)))


def visitor_info(rng: random.Random, visitor_id: str) -> dict:
    """Every visitor.info property of the contract, with plausible values."""
    country, city, state, code, zone, language = rng.choice(PLACES)
    page, title = rng.choice(PAGES)
    landing, landing_title = rng.choice(PAGES)
    referrer, engine, keywords = rng.choice(SEARCH)
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = f"{first.lower()}.{last.lower()}@{rng.choice(COMPANIES).split()[0].lower()}.example"
    visits = rng.randint(1, 40)
    return {
        "latestActivityTime": _ago(rng, 1, 60),
        "latestWaitingForChatTime": _ago(rng, 1, 600),
        "browser": rng.choice(BROWSERS),
        "ip": f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        "country": country,
        "city": city,
        "state": state,
        "countryCode": code,
        "flashVersion": rng.choice(("none", "32.0.0")),
        "language": language,
        "operatingSystem": rng.choice(SYSTEMS),
        "screenResolution": rng.choice(SCREENS),
        "firstVisitTime": _ago(rng, 86_400, 86_400 * 400),
        "enterSiteTime": _ago(rng, 120, 7_200),
        "timeZone": zone,
        "visitTimes": visits,
        "chatTimes": rng.randint(0, visits),
        "landingPageUrl": URL + landing,
        "landingPageTitle": landing_title,
        "referrerUrl": referrer,
        "searchEngine": engine,
        "keywords": keywords,
        "campaignId": rng.choice((None, "cmp-black-friday", "cmp-newsletter-11")),
        "autoInvitationId": rng.choice((None, "inv-pricing-30s", "inv-checkout-help")),
        "departmentId": rng.choice(("dep-sales", "dep-support", "dep-billing")),
        "customVariables": custom_variables(rng),
        "customFields": {"orderNumber": f"SO-{rng.randint(10_000, 99_999)}", "topic": rng.choice(PRODUCTS)},
        "latestEmail": email,
        "latestName": f"{first} {last}",
        "productService": rng.choice(PRODUCTS),
        "company": rng.choice(COMPANIES),
        "email": email,
        "name": f"{first} {last}",
        "phone": f"+1-555-{rng.randint(1000, 9999)}",
        "currentPageUrl": URL + page,
        "currentPageTitle": title,
        "currentPageVisitTime": _ago(rng, 5, 900),
        "requestingPageTitle": title,
        "requestingPageUrl": URL + page,
        "ifCaptured": rng.random() < 0.3,
        "captureTime": _ago(rng, 60, 3_600),
        "sfUrl": f"https://example.my.salesforce.com/{visitor_id}",
        "sfContact": f"003{rng.randrange(10**12):012d}",
        "sfAccount": f"001{rng.randrange(10**12):012d}",
        "sfLead": f"00Q{rng.randrange(10**12):012d}",
        "sfTask": f"00T{rng.randrange(10**12):012d}",
        "sfCase": f"500{rng.randrange(10**12):012d}",
        "currentSfObjectId": f"003{rng.randrange(10**12):012d}",
        "currentSfObjectType": rng.choice(("Contact", "Lead", "Case")),
        "hasEditFieldInAutomaticMode": rng.random() < 0.1,
        "isNeedPush": rng.random() < 0.05,
        "pushConfig": {"platform": rng.choice(("apns", "fcm")), "token": f"tok-{rng.randrange(16**16):016x}"},
        "wrapupCategoryList": rng.sample(CATEGORIES, rng.randint(0, 2)),
        "operatorComment": rng.choice(("", "VIP", "follow up Monday")),
        "chatRouteTarget": rng.choice(("dep-sales", "dep-support", "skill:spanish")),
        "avatarUrl": f"https://cdn.example.com/avatars/{rng.randrange(10**6)}.png",
        "socialMediaSource": rng.choice(("", "facebook", "twitter", "wechat")),
        "socialMediaProfileUrl": f"https://social.example.com/u/{rng.randrange(10**6)}",
        "zendeskUrl": f"https://example.zendesk.com/agent/tickets/{rng.randrange(10**5)}",
        "segments": rng.sample(("returning", "high-value", "trial", "mobile", "eu"), rng.randint(0, 3)),
        "ticketId": f"T-{rng.randrange(10**5)}",
        "ifSearchingKb": rng.random() < 0.2,
        "visitedPageUrls": [URL + p for p, _ in rng.sample(PAGES, rng.randint(1, 5))],
        "navigations": [
            {"url": URL + p, "title": t, "time": _ago(rng, 10, 3_600)} for p, t in rng.sample(PAGES, rng.randint(1, 4))
        ],
        "ssoId": f"sso-{rng.randrange(16**12):012x}",
        "errorMessageSfChatEnded": rng.choice(("", "SF session expired")),
        "location": {"lat": round(rng.uniform(-60, 60), 4), "lon": round(rng.uniform(-180, 180), 4)},
        "latestPrechatTime": _ago(rng, 30, 3_600),
        "latestOfflineMessageTime": _ago(rng, 3_600, 86_400),
    }


def custom_variables(rng: random.Random) -> dict:
    """Up to a dozen, of mixed JSON types."""
    out = {}
    for name in rng.sample(VARIABLES, rng.randint(0, 12)):
        roll = rng.random()
        out[name] = rng.randint(0, 5000) if roll < 0.3 else rng.random() < 0.5 if roll < 0.4 else f"{name}-{rng.randrange(1000)}"
    return out


def stale(rng: random.Random, key: str, value):
    """An older value for a property an agent console saw a while ago."""
    if key == "chatTimes":
        return max(0, value - 1)
    if key == "ifSearchingKb":
        return not value
    if key in ("currentPageVisitTime", "latestActivityTime"):
        return _ago(rng, 900, 3_600)
    if key in ("currentPageUrl", "currentPageTitle"):
        page, title = rng.choice(PAGES)
        return URL + page if key == "currentPageUrl" else title
    if key == "departmentId":
        return rng.choice(("dep-sales", "dep-support", "dep-billing"))
    return None if value is None else f"{value} (old)"


def visitor_chat_props(rng: random.Random) -> dict:
    return {
        "source": rng.choice(("widget", "widget", "api", "facebook")),
        "agentMessageSeenByVisitor": rng.random() < 0.7,
        "visitorMessageSeenByAgent": rng.random() < 0.5,
    }


def agent_chat_props(rng: random.Random, agents: list) -> dict:
    return {
        "ifEnterQueue": rng.random() < 0.6,
        "monitorAgents": rng.sample(AGENTS, rng.randint(0, 2)),
        "source": rng.choice(("widget", "api")),
        "visitorMessageSeenByAgent": rng.random() < 0.8,
        "agentMessageSeenByVisitor": rng.random() < 0.5,
    }


def wrapup(rng: random.Random) -> dict:
    return {
        "categories": rng.sample(CATEGORIES, rng.randint(1, 2)),
        "comment": rng.choice(("call back", "refund issued", "sent docs")),
    }
