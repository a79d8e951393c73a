"""The seed's tables (docs/seed/recover-chat.en.md), transcribed by hand
for the tests. Kept apart from rules/ on purpose: a test that read its
expectations from the policy it checks could never fail."""

# visitor.info key -> the seed's strategy, in the seed's row order
VISITOR_INFO = {
    "latestActivityTime": "specify",
    "latestWaitingForChatTime": "specify",  # "specify utc now", no condition: now for every recovered visitor
    "browser": "any",
    "ip": "any",
    "country": "any",
    "city": "any",
    "state": "any",
    "countryCode": "any",
    "flashVersion": "any",
    "language": "any",
    "operatingSystem": "any",
    "screenResolution": "any",
    "firstVisitTime": "any",
    "enterSiteTime": "any",
    "timeZone": "any",
    "visitTimes": "any",
    "chatTimes": "any",
    "landingPageUrl": "any",
    "landingPageTitle": "any",
    "referrerUrl": "any",
    "searchEngine": "any",
    "keywords": "any",
    "campaignId": "visitorOverrideAgent",
    "autoInvitationId": "agentOverrideVisitor",
    "departmentId": "agentOverrideVisitor",
    "customVariables": "visitorOverrideAgent",  # per variable
    "customFields": "agentOverrideVisitor",
    "latestEmail": "visitorOverrideAgent",
    "latestName": "visitorOverrideAgent",
    "productService": "visitorOverrideAgent",
    "company": "visitorOverrideAgent",
    "email": "visitorOverrideAgent",
    "name": "visitorOverrideAgent",
    "phone": "visitorOverrideAgent",
    "currentPageUrl": "visitorOverrideAgent",
    "currentPageTitle": "visitorOverrideAgent",
    "currentPageVisitTime": "visitorOverrideAgent",
    "requestingPageTitle": "visitorOverrideAgent",
    "requestingPageUrl": "visitorOverrideAgent",
    "ifCaptured": "agentOnly",
    "captureTime": "agentOnly",
    "sfUrl": "agentOnly",
    "sfContact": "agentOnly",
    "sfAccount": "agentOnly",
    "sfLead": "agentOnly",
    "sfTask": "agentOnly",
    "sfCase": "agentOnly",
    "currentSfObjectId": "agentOnly",
    "currentSfObjectType": "agentOnly",
    "hasEditFieldInAutomaticMode": "agentOnly",
    "isNeedPush": "agentOnly",
    "pushConfig": "agentOnly",
    "wrapupCategoryList": "agentOnly",
    "operatorComment": "agentOnly",
    "chatRouteTarget": "agentOnly",
    "avatarUrl": "agentOnly",
    "socialMediaSource": "agentOnly",
    "socialMediaProfileUrl": "agentOnly",
    "zendeskUrl": "agentOnly",
    "segments": "agentOnly",
    "ticketId": "agentOnly",
    "ifSearchingKb": "visitorOverrideAgent",
    "visitedPageUrls": "visitorOnly",
    "navigations": "visitorOnly",
    "ssoId": "none",
    "errorMessageSfChatEnded": "none",
    "location": "none",
    # not seed rows: set by the status table, otherwise the clients' value
    "latestPrechatTime": "visitorOverrideAgent",
    "latestOfflineMessageTime": "visitorOverrideAgent",
}

# uploaded status -> (recovered status, info property set to now)
VISITOR_STATUS = {
    "inSite": ("inSite", None),
    "preChat": ("preChat", "latestPrechatTime"),
    "offlineMessage": ("offlineMessage", "latestOfflineMessageTime"),
    "manualInvitation": ("manualInvitation", None),
    "autoInvitation": ("autoInvitation", None),
    "refusedByVisitor": ("refusedByVisitor", None),
    "systemProcessing": ("waitingForChat", None),
    "outOfSite": (None, None),
}

CHAT_PROPS = {
    "ifEnterQueue": "agentOnly",
    "monitorAgents": "agentOnly",
    "source": "visitorOverrideAgent",
    "visitorMessageSeenByAgent": "agentOverrideVisitor",
    "agentMessageSeenByVisitor": "visitorOverrideAgent",
}

STATUSES = (
    "inSite",
    "preChat",
    "offlineMessage",
    "manualInvitation",
    "autoInvitation",
    "refusedByVisitor",
    "systemProcessing",
    "outOfSite",
    "waitingForChat",
    "chatting",
    "transferring",
    "chatEnded",
    "refusedByAgent",
    "manualInvitationByWindow",
)

# The seed's "state recovered from actions" table: state field -> actions.
ACTION_STATE = {
    "requestTime": ["visitorRequestChat"],
    "startTime": ["agentAcceptChat", "botStartChat"],
    "transferBeginTime": ["agentTransferDepartment"],
    "timeBeginWaiting": ["visitorRequestChat", "requestChatToBot"],
    "chatType": ["botAcceptChat", "agentAcceptChat"],
    "currentAgents": ["agentAcceptChat", "agentJoinChat", "agentStopChat"],
    "assignee": ["agentAddInvitationText"],
    "translation": ["agentEnableTranslation", "agentDisableTranslation"],
    "audioVideo": [
        f"{w}{v}{k}Chat"
        for w in ("agent", "visitor")
        for v in ("Request", "Accept", "Refuse", "Cancel")
        for k in ("Audio", "Video")
    ],
    "cobrowse": [
        "agentRequestCobrowse",
        "visitorAcceptCobrowse",
        "visitorRefuseCobrowse",
        "agentCancelCobrowse",
        "agentEndCobrowse",
        "visitorEndCobrowse",
    ],
    "files": ["agentSendFile", "agentSentFile", "agentSendImage", "agentSentImage"],
}

# The seed's chat-related status table: status -> actions.
ACTION_STATUS = {
    "manualInvitationByWindow": ["agentAddInvitationText"],
    "refusedByAgent": ["agentRefuseChat"],
    "waitingForChat": ["visitorRequestChat"],
    "chatting": ["visitorAcceptChat", "agentAcceptChat"],
    "transferring": ["agentTransferDepartment"],  # refused or accepted transfer ends it
    "chatEnded": ["systemChatEnded"],
}

# The seed's "Client" section, item by item (pinned in test_chat_client.py).
CLIENT = {
    "chat ended": "both sides recover the chat; the visitor keeps its heartbeat 3 minutes",
    "refused by agent": "the visitor recovers the chat and keeps its heartbeat 3 minutes",
    "refusal the visitor missed": "an agent recovering a refusal delivers the refused message to the visitor",
    "unfinished wrapup": "recovered separately, from the agent side only",
}

# --- The Chinese original (docs/seed/000_34a503043f723f65.txt) -------
# The tables above were transcribed from the English rendering; the original
# stands where the two differ. tests/test_seed_original.py parses the
# original's tables and holds every row above to them. What it needs to read
# the original's words: row names that are not simply the key in words, and
# the original's spellings.
ORIGINAL_ROW_KEYS = {
    "latest time of waiting for chat": ["latestWaitingForChatTime"],
    "landing page url/title": ["landingPageUrl", "landingPageTitle"],
    "custom variable": ["customVariables"],
    "current page url/title": ["currentPageUrl", "currentPageTitle"],
    "requesting page title / url": ["requestingPageTitle", "requestingPageUrl"],
    "has edit filed in automatic mode": ["hasEditFieldInAutomaticMode"],  # "filed" = field
    "refuse by visitor": ["refusedByVisitor"],
    "chating": ["chatting"],
    "audio video chat": ["audioVideo"],
}
ORIGINAL_SPELLINGS = {"vistior": "visitor", "accpet": "accept", "tresfer": "transfer", "cobrows": "cobrowse"}
# Readings of the original's words (each also under "Readings" in docs/policy.md):
ORIGINAL_READINGS = {
    "waiting": "waitingForChat",  # system processing -> "waiting": the status waiting for chat
    "none": None,  # out of site -> none: not recovered
    "request chat": "visitorRequestChat",  # time begin waiting: "request chat" is the visitor's request
    "agent refused chat": "agentRefuseChat",  # the action's name is in the present, like its siblings
    "agent transfer to department": "agentTransferDepartment",  # the state table names it "agent transfer department"
}
# The original lists these under "transferring"; the policy reads them as
# ending a transfer (a refused transfer leaves the chat with its agent, an
# accepted one with the new agent: both leave the visitor chatting).
TRANSFER_ENDS = ["agentRefuseTransfer", "agentAcceptTransfer"]
# The original's cobrowse row is open ("agent request cobrows ..."): it names
# one action; the rest of ACTION_STATE["cobrowse"] is the policy's reading.
COBROWSE_NAMED = ["agentRequestCobrowse"]
# The "Client" section, item by item, in the original's words.
CLIENT_ORIGINAL = {
    "chat ended": ["ChatEnded状态，访客端和Agent端都需要恢复一下聊天", "访客端要保持心跳一段时间, 3m以后停止heartbeat"],
    "refused by agent": [
        "访客端处于Refused by Agent状态， 访客端需要恢复一下聊天",
        "访客端保持心跳一段时间, 3m以后停止heartbeat",
    ],
    "refusal the visitor missed": ["Agent 恢复Refused by Agent状态，需要恢复一条refused的消息让访客端可以收到refused状态"],
    "unfinished wrapup": ["UnfinishedWrapup 需要单独通过agent端恢复"],
}
# Where the English rendering differs from the original (the original stands;
# none of these changes a row above):
# - visitor basic info: the English adds "each upload merges into what the
#   server already holds"; the original says only when the info is recovered.
# - the sf url ... sf case and current sf object id/type rows are one row each
#   in the original, merged into two rows in the English.
# - "refuse by visitor" (original) is "refused by visitor" in the English.
# - "out of site | none |" has no description in the original; the English
#   adds "not recovered".
# - chat type: the original's description stops after "聊天的类型，"; the
#   English adds "(bot or agent)".
# - the chat-related status rows follow the state table after a blank line
#   with no header of their own; the English gives them a table and a
#   sentence ("Chat-related visitor status, from the same messages").
# - most property descriptions of the original (e.g. browser 访客的浏览器) are
#   left blank in the English; rules/visitor-info.yaml keeps the original's.
