Feature: Mailboxes
  The helpdesk receives mail at the addresses of its mailboxes. An administrator sets each one
  up: the department new mail goes to, what becomes of mail from an address the helpdesk does
  not know (a customer account is made for the sender, or the mail is held for an
  administrator to look at first), and for how many days a reply still reopens a resolved
  ticket. A mailbox is never deleted, only deactivated: the mail it received keeps its
  meaning.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"

  Scenario: A mailbox for a department that holds mail from strangers
    When the administrator sets up the mailbox "Billing desk" at "billing@example.com" for "Billing", holding mail from unknown senders
    Then new mail to "Billing desk" goes to "Billing"
    And a reply to "Billing desk" reopens a resolved ticket for 14 days
    When a stranger writes to "billing@example.com" about "Where is my invoice?"
    And the helpdesk reads its mail
    Then the administrator finds "Where is my invoice?" from the stranger held for review
    And no ticket "Where is my invoice?" was opened

  Scenario: An address another mailbox has is refused, however it is written
    Given the mailbox "Support" at "support@example.com"
    When the administrator tries to set up the mailbox "Help" at "Support@EXAMPLE.com"
    Then the administrator is told that address is taken
    And the administrator sees the mailboxes "Support"

  Scenario: A deactivated mailbox takes no more mail, and keeps what it received
    Given the mailbox "Support" at "support@example.com"
    And a stranger has written to "support@example.com" about "First question"
    When the administrator deactivates the mailbox "Support"
    Then mail to "support@example.com" is turned away
    And what "Support" received is still listed: "First question"
    And the administrator sees no active mailboxes

  Scenario: New mail can be left unrouted again
    Given the mailbox "Support" at "support@example.com" for "Billing"
    When the administrator stops sending the new mail of "Support" to a department
    Then new mail to "Support" goes to no department

  Scenario: Only administrators manage mailboxes
    Given Lena is a lead in "Billing"
    When Lena tries to set up the mailbox "Shadow desk" at "shadow@example.com"
    Then Lena is told only administrators may do that
    And the administrator sees no mailboxes
