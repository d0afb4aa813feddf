Feature: Receiving mail
  Customers write to the address of a mailbox, and the helpdesk turns what they write into
  tickets and replies. However a mail arrives (a mail server hands it in, the helpdesk fetches
  it over IMAP, a mail provider posts it), it is stored once, and a worker reads it a moment
  later and decides what it is, in this order:

  - the helpdesk's own mail coming back is dropped;
  - a report that a mail could not be delivered marks the address and notes the ticket;
  - an answer finds its ticket by the reply address the helpdesk gave it, by the mails it
    answers, or by the ticket number in its subject, the number counting only for the
    ticket's requester and the people in copy;
  - a mail written by a program (an out-of-office reply) is kept on its ticket and changes
    nothing;
  - anything else a customer writes is an answer on its ticket, or a new ticket of the
    mailbox's department.

  Whoever answers, the requester stays the requester; the others in the conversation become
  participants, copied on the helpdesk's replies. A resolved ticket reopens by mail for the
  mailbox's reopen days (14 by default); after that, and on a closed ticket, the mail opens a
  new ticket that names the old one.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Lena is a lead in "Billing"
    And the mailbox "Support" at "support@example.com" for "Billing"

  Scenario: A customer's mail opens a ticket in the mailbox's department
    When Ann mails "support@example.com" about "Printer offline"
    And the helpdesk reads its mail
    Then "Printer offline" came in by mail from Ann
    And "Printer offline" is in the department "Billing"
    And Lena's queue holds "Printer offline"
    And Ann has a customer account, without a password yet

  Scenario: A reply threads onto its ticket even when the provider rewrote the Message-ID
    Ann opened her ticket on the web, so the helpdesk's mail of Lena's reply starts the
    thread; the mail service that sent it gave it a Message-ID of its own, so Ann's answer
    names only a mail the helpdesk never heard of, and Ann changed the subject as well: the
    ticket's reply address is all that is left to find it.

    Given Ann has registered
    And Ann has opened a ticket "Printer offline" for "Billing"
    And Lena has replied "Please restart it" to "Printer offline"
    And the mail service that sent the helpdesk's first mail gave it a Message-ID of its own
    When Ann answers the helpdesk's first mail with "Restarted, it works", under the subject "All good now"
    And the helpdesk reads its mail
    Then the conversation on "Printer offline" reads:
      | from | message             | kind  |
      | Lena | Please restart it   | reply |
      | Ann  | Restarted, it works | reply |
    And Lena's queue holds "Printer offline"

  Scenario: Reply-all makes colleagues participants, the requester stays
    Given Ann has mailed "support@example.com" about "Printer offline", copying Carol
    And Lena has replied "Please restart it" to "Printer offline"
    When Carol answers the helpdesk's first mail to all with "Same here on floor 4", adding Dave
    And the helpdesk reads its mail
    Then the conversation on "Printer offline" reads:
      | from  | message              | kind  |
      | Lena  | Please restart it    | reply |
      | Carol | Same here on floor 4 | reply |
    And the requester of "Printer offline" is Ann
    And the participants of "Printer offline" are Carol and Dave

  Scenario: A stranger guessing a ticket number in the subject gets a ticket of their own
    Given Ann has mailed "support@example.com" about "Printer offline"
    When Mallory mails "support@example.com" about "Refund my order", tagged with the number of "Printer offline"
    And the helpdesk reads its mail
    Then the requester of "Refund my order" is Mallory
    And nothing was added to "Printer offline"

  Scenario: An out-of-office reply to a pending ticket leaves it pending and its service-level clock paused
    Given the calendar "Office" in "Europe/Berlin", open every day 00:00-24:00
    And the policy "Standard" on "Office": normal tickets get a first response within 60 minutes, a next response within 60 minutes and a resolution within 480 minutes
    And Ann has mailed "support@example.com" about "Printer offline"
    And Lena has asked Ann for the invoice number on "Printer offline"
    When Ann's mail program answers the helpdesk's first mail with an out-of-office reply
    And the helpdesk reads its mail
    Then the ticket "Printer offline" is pending
    And the resolution of "Printer offline" is paused
    And the conversation on "Printer offline" reads:
      | from | message                                    | kind            |
      | Lena | Ann, could you tell us the invoice number? | reply           |
      | Ann  | I am out of the office until Monday.       | automatic reply |

  Scenario: The helpdesk's own mail coming back is dropped
    A forwarding rule, or an alias pointing at the helpdesk, hands the helpdesk its own mail:
    answered, it would go round for ever.

    Given Ann has mailed "support@example.com" about "Printer offline"
    And Lena has replied "Please restart it" to "Printer offline"
    When the helpdesk's first mail comes back to "support@example.com"
    And the helpdesk reads its mail
    Then the administrator finds the helpdesk's first mail ignored as the helpdesk's own
    And the conversation on "Printer offline" reads:
      | from | message           | kind  |
      | Lena | Please restart it | reply |
    And the helpdesk has mailed nothing after its first mail

  Scenario: A bounce marks the address and notes the ticket
    Given Ann has mailed "support@example.com" about "Printer offline", copying Carol
    And Lena has replied "Please restart it" to "Printer offline"
    When the helpdesk's first mail bounces for Carol
    And the helpdesk reads its mail
    Then mail to Carol is known to bounce
    And the conversation on "Printer offline" reads:
      | from        | message                                                           | kind           |
      | Lena        | Please restart it                                                 | reply          |
      | Mail system | Mail to carol@example.com could not be delivered (failed, 5.1.1). | automatic note |
    And the ticket "Printer offline" is open

  Scenario: The same mail delivered twice is one message
    When Ann mails "support@example.com" about "Printer offline"
    And the helpdesk reads its mail
    And Ann's mail "Printer offline" is delivered again
    And the helpdesk reads its mail
    Then the administrator finds "Printer offline" received once
    And Lena's queue holds "Printer offline"

  Scenario: A resolved ticket reopens by mail; past the window a new ticket names it
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has mailed "support@example.com" about "Printer offline"
    And Lena has replied "Please restart it" to "Printer offline"
    And Lena has resolved "Printer offline"
    When it is Monday 14 December 2026, 09:00 in Berlin
    And Ann answers the helpdesk's first mail with "It is offline again"
    And the helpdesk reads its mail
    Then the ticket "Printer offline" is open
    When Lena resolves "Printer offline"
    And it is Wednesday 30 December 2026, 09:00 in Berlin
    And Ann answers the helpdesk's first mail with "Offline once more"
    And the helpdesk reads its mail
    Then the ticket "Printer offline" is resolved
    And Ann's mail "Offline once more" opened a new ticket that names "Printer offline"
