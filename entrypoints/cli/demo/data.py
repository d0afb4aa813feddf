"""The sample ``helpdesk demo`` fills a database with: its organization, people and texts.

Pure data (and the two record types describing it); ``organization.py`` and ``stories.py``
play it through the use cases.
"""

from __future__ import annotations

import attrs

from helpdesk_core.domain.values import TicketPriority, TicketStatus

# ---------------------------------------------------------------- the sample organization


@attrs.frozen
class Template:
    """A kind of ticket: its subject, its description, and how staff resolve it."""

    subject: str
    description: str
    fix: str


@attrs.frozen
class DepartmentPlan:
    name: str
    auto_assign: bool
    teams: tuple[str, str]
    lead: str
    agents: tuple[tuple[str, int], ...]  # (name, index of their team)
    missing: str  # what staff ask the customer for
    cause: str  # what an internal note finds
    attachments: tuple[tuple[str, str], ...]  # (filename, MIME type) customers attach
    templates: tuple[Template, ...]


DEPARTMENTS: tuple[DepartmentPlan, ...] = (
    DepartmentPlan(
        name="Billing",
        auto_assign=True,
        teams=("Invoices", "Refunds"),
        lead="Priya Nair",
        agents=(("Tom Becker", 0), ("Lucia Romero", 0), ("Kenji Watanabe", 1)),
        missing="the date of the charge and the last four digits of the card",
        cause="the payment provider retried the charge after a timeout",
        attachments=(
            ("card-statement.png", "image/png"),
            ("invoice-{invoice}.pdf", "application/pdf"),
        ),
        templates=(
            Template(
                "Charged twice for order {order}",
                "Hi, I was charged twice for order {order} on {date}. Both charges of {amount} "
                "show on my card statement. Could you refund the duplicate?",
                "refunded the duplicate charge of {amount}; it shows on your statement within "
                "5-7 business days",
            ),
            Template(
                "Invoice {invoice} shows the wrong VAT number",
                "The invoice {invoice} still lists our old VAT number. Our accountant needs a "
                "corrected invoice before the end of the month.",
                "issued a corrected invoice {invoice} with your new VAT number; it is on the "
                "billing page",
            ),
            Template(
                "Refund for order {order} not received",
                "You confirmed a refund of {amount} on {date}, but it has not reached my card "
                "yet. How long does a refund usually take?",
                "checked with our payment provider: the refund of {amount} was sent on {date} "
                "and your bank should show it within two days",
            ),
            Template(
                "Switching to annual billing",
                "We are on the monthly {plan} plan and would like to pay yearly instead. Is the "
                "unused part of this month credited when we switch?",
                "switched your {plan} plan to annual billing and credited the rest of this month",
            ),
            Template(
                "Card declined when renewing the {plan} plan",
                'The renewal failed with "card declined", although the card works everywhere '
                "else. Could you retry the payment?",
                "retried the payment and it went through; your {plan} plan is renewed",
            ),
            Template(
                "Copy of invoice {invoice}",
                "Could you send me a PDF copy of invoice {invoice}? I cannot find it on the "
                "billing page.",
                "sent a PDF copy of invoice {invoice} to your email address",
            ),
        ),
    ),
    DepartmentPlan(
        name="Technical support",
        auto_assign=True,
        teams=("Tier 1", "Integrations"),
        lead="Daniel Okafor",
        agents=(("Sofia Lindqvist", 0), ("Marcus Reed", 0), ("Aisha Khan", 1)),
        missing="a screenshot of the error and the version of the app you use",
        cause="crash reports spiked after release 4.2",
        attachments=(
            ("screenshot.png", "image/png"),
            ("app-log.txt", "text/plain"),
            ("error-screen.jpg", "image/jpeg"),
        ),
        templates=(
            Template(
                "App crashes when uploading photos on {device}",
                "Since the last update the app closes as soon as I try to upload a photo. I'm "
                "on {device} and already reinstalled it.",
                "confirmed a bug in the photo upload on {device}; version 4.2.1, out today, "
                "fixes it",
            ),
            Template(
                "Error {error_code} when logging in with {browser}",
                "Every time I log in from {browser} I get error {error_code}. Logging in from "
                "my phone works fine.",
                "found an outdated cookie that {browser} kept; clearing the site data fixes "
                "error {error_code}",
            ),
            Template(
                "Sync between devices stopped working",
                "Changes I make on my laptop no longer show up on my {device}. The last "
                "successful sync was on {date}.",
                "reset the sync state of your account; your {device} caught up in a few minutes",
            ),
            Template(
                "Export API returns HTTP 500",
                "Our nightly integration calls the export endpoint; since {date} it answers "
                "HTTP 500 with error {error_code}. Nothing changed on our side.",
                "deployed a fix for the export endpoint; tonight's run should succeed",
            ),
            Template(
                "Notifications are not arriving",
                "I no longer receive email or push notifications for new messages. I checked "
                "the spam folder and the notification settings on my {device}.",
                "re-enabled the notifications that a failed delivery had switched off",
            ),
            Template(
                "Dashboard very slow in {browser}",
                "The dashboard takes more than 30 seconds to load in {browser}. Other sites "
                "are fast on the same connection.",
                "sped up the dashboard query behind this; it loads in about two seconds now",
            ),
        ),
    ),
    DepartmentPlan(
        name="Accounts",
        auto_assign=False,
        teams=("Access and security", "Onboarding"),
        lead="Hannah Schmidt",
        agents=(("Rafael Costa", 0), ("Emily Chen", 0), ("Jonas Weber", 1)),
        missing="the email address you signed up with and roughly when you signed up",
        cause="their mail server delays our messages by about an hour",
        attachments=(("screenshot.png", "image/png"),),
        templates=(
            Template(
                "Password reset link has expired",
                "The password reset link says it has expired, even though I click it as soon "
                "as the email arrives.",
                "sent you a fresh reset link that stays valid for 24 hours",
            ),
            Template(
                "Change the email address of my account",
                "I am leaving my job: please move my account from my work address to my "
                "personal one.",
                "moved your account to your personal address; log out and back in to see it",
            ),
            Template(
                "Two-factor codes are rejected",
                "The codes from my authenticator app are rejected since I moved to a new "
                "{device} last week.",
                "reset two-factor authentication on your account; set it up again on your "
                "{device} at the next login",
            ),
            Template(
                "Invite a colleague to our company account",
                "How do I add a colleague to our company account on the {plan} plan? I do not "
                "see an invite button.",
                "enabled invitations for your {plan} plan; the button is under Settings, Team",
            ),
            Template(
                "Delete my account and personal data",
                "Please close my account and delete my personal data, as the GDPR allows.",
                "closed your account; your personal data is deleted within 30 days",
            ),
            Template(
                "Account locked after failed logins",
                "My account was locked after I mistyped the password a few times. How long "
                "until I can try again?",
                "unlocked your account; you can log in again right away",
            ),
        ),
    ),
    DepartmentPlan(
        name="Shipping",
        auto_assign=False,
        teams=("Domestic", "International"),
        lead="Grace Mensah",
        agents=(("Ivan Petrov", 0), ("Chloe Martin", 0), ("Mateo Silva", 1)),
        missing="a photo of the shipping label",
        cause="{carrier} scanned the parcel at the wrong depot",
        attachments=(
            ("damaged-box.jpg", "image/jpeg"),
            ("shipping-label.pdf", "application/pdf"),
        ),
        templates=(
            Template(
                "Order {order} has not arrived",
                "My order {order} should have arrived on {date}, but the {carrier} tracking "
                "has not moved for four days.",
                "traced order {order} with {carrier}; it is back on its way and arrives within "
                "two business days",
            ),
            Template(
                "Parcel arrived damaged",
                "The box of order {order} was crushed and the {product} inside is broken. "
                "Photos attached.",
                "sent a replacement {product} for order {order}; no need to return the broken one",
            ),
            Template(
                "Change the delivery address of order {order}",
                "I moved last week. Can you change the delivery address of order {order} "
                "before it ships?",
                "changed the delivery address of order {order}; it ships tomorrow",
            ),
            Template(
                "Customs fees for a delivery to {country}",
                "I was asked to pay customs fees for order {order} shipped to {country}. I "
                "thought duties were included in the price.",
                "refunded the customs fees you paid for order {order}, as duties to {country} "
                "are on us",
            ),
            Template(
                "Wrong item in my parcel",
                "I ordered a {product} but order {order} contained something else.",
                "sent the {product} you ordered with {carrier} and a free return label for "
                "the wrong item",
            ),
            Template(
                "Return label for order {order}",
                "I would like to return the {product} from order {order}. Could you send me "
                "a return label?",
                "emailed you a prepaid {carrier} return label for order {order}",
            ),
        ),
    ),
)


ADMIN_NAME = "Alex Morgan"
# Leaves the company: helps with older tickets, then is deactivated (Shipping, second team).
DEPARTING_AGENT = ("Oliver Grant", "Shipping", 1)

CUSTOMERS = (
    "Maria Garcia",
    "James Wilson",
    "Fatima Al-Sayed",
    "Liam O'Brien",
    "Yuki Tanaka",
    "Elena Popescu",
    "Noah Johnson",
    "Amara Obi",
    "Lucas Moreau",
    "Sara Lindgren",
    "Diego Fernandez",
    "Hana Novak",
    "Ethan Brooks",
    "Zara Ahmed",
    "Mia Rossi",
    "Samuel Adeyemi",
    "Isabel Santos",
    "Kofi Boateng",
    "Anna Kowalska",
    "Ravi Patel",
)
CUSTOMER_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")

WORDS: dict[str, tuple[str, ...]] = {
    "plan": ("Starter", "Team", "Business"),
    "device": ("iPhone 13", "Pixel 7", "Galaxy S22", "iPad Air", "ThinkPad X1"),
    "browser": ("Firefox", "Chrome", "Safari", "Edge"),
    "carrier": ("DHL", "UPS", "FedEx", "DPD", "PostNL"),
    "country": ("Canada", "Norway", "Switzerland", "Japan", "Australia"),
    "product": (
        "wireless keyboard",
        "desk lamp",
        "USB-C dock",
        "pair of headphones",
        "travel backpack",
    ),
}

FIRST_REPLIES = (
    "Hi {first}, thanks for getting in touch. I'm looking into this now and will get back to "
    "you shortly.",
    "Hello {first}, sorry for the trouble! I've picked this up and will keep you posted.",
    "Hi {first}, thank you for the details. Give me a moment to check what happened.",
)
ASKS = (
    "Could you send us {missing}? That will help us pinpoint the problem.",
    "To move forward we need {missing}. Could you reply with it?",
)
RESOLUTIONS = (
    "Good news, {first}: I've {fix}. Let us know if anything else comes up.",
    "Hi {first}, I've {fix}. I'll mark this as resolved; just reply if it is not.",
)
CUSTOMER_FOLLOW_UPS = (
    "Any news on this? It has been a couple of days.",
    "Thanks for the quick answer!",
    "One more detail: it also happened yesterday evening.",
)
CUSTOMER_ANSWERS = (
    "Sure, here is what you asked for.",
    "Attached. Let me know if you need anything else.",
)
CUSTOMER_RELAPSES = (
    "Unfortunately the problem is back.",
    "It worked for a day, but now it is happening again.",
)
NOTES = (
    "Checked the logs: {cause}.",
    "Customer is on the {plan} plan, please prioritise.",
    "Looks like the same issue as last week's tickets; the same workaround applies.",
    "Asked the {team} team to double-check before we answer.",
)

# How often each final status is drawn, and how old a ticket in it tends to be (older first).
STATUS_WEIGHTS = {
    TicketStatus.NEW: 15,
    TicketStatus.OPEN: 22,
    TicketStatus.PENDING: 13,
    TicketStatus.RESOLVED: 20,
    TicketStatus.CLOSED: 30,
}
STATUS_AGE = {
    TicketStatus.CLOSED: 0.0,
    TicketStatus.RESOLVED: 1.0,
    TicketStatus.PENDING: 2.0,
    TicketStatus.OPEN: 2.3,
    TicketStatus.NEW: 3.3,
}
PRIORITY_WEIGHTS = {
    TicketPriority.LOW: 20,
    TicketPriority.NORMAL: 50,
    TicketPriority.HIGH: 22,
    TicketPriority.URGENT: 8,
}
