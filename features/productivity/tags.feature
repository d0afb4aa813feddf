Feature: Tags
  Agents put short tags on tickets to sort their work: "refund", "VIP", "printer". A tag is
  the same tag whatever its case or spacing ("VIP", "vip" and " Vip "), and every ticket
  shows it as it was first written. The queue can be narrowed to the tickets carrying every
  tag asked for. Administrators keep the vocabulary tidy: they rename a tag, or merge one
  into another, and every ticket shows the result at once.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"
    And Ann has opened a ticket "Refund please" for "Billing"
    And Ann has opened a ticket "Printer jam" for "Billing"

  Scenario: A tag is one tag whatever its case and spacing
    When Dan tags "Charged twice" with "VIP" and "refund"
    And Dan tags "Refund please" with " vip " and "REFUND"
    Then "Charged twice" carries the tags "refund, VIP"
    And "Refund please" carries the tags "refund, VIP"
    And the tags are "refund: 2 tickets, VIP: 2 tickets"

  Scenario: The queue keeps the tickets carrying every tag asked for
    Given Dan has tagged "Charged twice" with "VIP" and "refund"
    And Dan has tagged "Refund please" with the tag "refund"
    Then Dan's queue with the tag "refund" holds "Refund please, Charged twice"
    And Dan's queue with the tags "refund" and "vip" holds "Charged twice"

  Scenario: Taking a tag off is recorded in the ticket's history
    Given Dan has tagged "Printer jam" with the tag "hardware"
    When Dan takes the tag "Hardware" off "Printer jam"
    Then "Printer jam" carries no tags
    And the history of "Printer jam" reads:
      | who | field  | from     | to       |
      | Ann | ticket |          | created  |
      | Dan | tag    |          | hardware |
      | Dan | tag    | hardware |          |

  Scenario: An administrator merges two tags that mean the same
    Given Dan has tagged "Charged twice" with the tag "refund"
    And Dan has tagged "Refund please" with the tag "refunds"
    When the administrator renames the tag "refunds" to "Refund" and merges it
    Then "Refund please" carries the tags "refund"
    And the tags are "refund: 2 tickets"

  Scenario: Renaming onto a name another tag has asks for a merge
    Given Dan has tagged "Charged twice" with the tag "refund"
    And Dan has tagged "Refund please" with the tag "refunds"
    When the administrator renames the tag "refunds" to "Refund"
    Then the administrator is told a tag named "refund" already exists
    And the tags are "refund: 1 ticket, refunds: 1 ticket"
