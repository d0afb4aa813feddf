Feature: Replying by mail
  A public reply of the staff goes out by mail to the ticket's requester, with its
  participants in copy, from the mailbox the ticket's mail came in through. It lands in the
  customer's mail program as part of the conversation, and the answer finds its way back:

  - it answers the ticket's latest mail (In-Reply-To) and names the ones before it
    (References), so mail programs thread it;
  - its reply address, where answers and bounces go, carries the ticket's number and a
    signature only the helpdesk can make, so an answer finds the ticket whatever a provider
    did to the other headers;
  - its subject carries the ticket's number, which counts for the requester and the
    participants;
  - a header of the helpdesk's own has it dropped should it ever come back in.

  Internal notes, messages a program wrote and the customers' own messages are never mailed.
  Mails are named in the order they were written: "Ann's first mail", "the helpdesk's first
  mail" (the first reply it mailed), ...

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Lena is a lead in "Billing"
    And the mailbox "Support" at "support@example.com" for "Billing"

  Scenario: A staff reply reaches the requester and participants threaded
    Given Ann has mailed "support@example.com" about "Printer offline", copying Carol
    When Lena replies "Please restart it" to "Printer offline"
    Then the helpdesk's first mail is Lena's reply "Please restart it", with these headers:
      | header          | value                                    |
      | From            | Support <support@example.com>            |
      | To              | ann@example.com                          |
      | Cc              | carol@example.com                        |
      | Subject         | Re: [#1] Printer offline                 |
      | Message-ID      | <ticket-1.<the reply's id>@example.com>  |
      | In-Reply-To     | Ann's first mail                         |
      | References      | Ann's first mail                         |
      | Reply-To        | support+t1-<signature>@example.com       |
      | Return-Path     | support+t1-<signature>@example.com       |
      | X-Helpdesk-Loop | support@example.com                      |
      | Auto-Submitted  | (none)                                   |
    When Ann answers the helpdesk's first mail with "Restarted, it works"
    And the helpdesk reads its mail
    And Lena replies "Glad to hear it" to "Printer offline"
    Then the helpdesk's second mail is Lena's reply "Glad to hear it", with these headers:
      | header      | value                                                           |
      | To          | ann@example.com                                                 |
      | Cc          | carol@example.com                                               |
      | In-Reply-To | Ann's second mail                                               |
      | References  | Ann's first mail, the helpdesk's first mail, Ann's second mail |

  Scenario: Internal notes and automatic messages are never mailed
    Given Ann has mailed "support@example.com" about "Printer offline", copying Carol
    And Lena has replied "Please restart it" to "Printer offline"
    When Lena leaves the internal note "Her printer runs the old firmware" on "Printer offline"
    And Ann's mail program answers the helpdesk's first mail with an out-of-office reply
    And the helpdesk's first mail bounces for Carol
    And the helpdesk reads its mail
    Then the conversation on "Printer offline" reads:
      | from        | message                                                           | kind            |
      | Lena        | Please restart it                                                 | reply           |
      | Lena        | Her printer runs the old firmware                                 | internal note   |
      | Ann         | I am out of the office until Monday.                              | automatic reply |
      | Mail system | Mail to carol@example.com could not be delivered (failed, 5.1.1). | automatic note  |
    And the helpdesk has mailed nothing after its first mail
    And no mail mentions "old firmware"
