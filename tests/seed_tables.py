"""The seed's tables (../shared/seed/recover-chat.en.md), transcribed by hand
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
