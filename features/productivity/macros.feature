Feature: Macros and bulk actions
  A macro is a named list of actions an agent applies to a ticket in one step: set the
  status, tag it, leave a note, reply. All of its actions happen, or none: if one of them is
  refused (the agent may not move the ticket to another department, say), the ticket is left
  exactly as it was, with nothing in its history. A bulk action applies a macro, or a list
  of actions, to many tickets at once; each ticket succeeds or fails on its own, and the agent
  is told which and why.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And the department "Tech"
    And Dan is an agent in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"
    And Ann has opened a ticket "Refund please" for "Billing"
    And Ann has opened a ticket "Printer jam" for "Tech"

  Scenario: A macro takes every action at once
    Given Dan has saved the macro "Refund started" with these actions:
      | action     | value                                    |
      | set_status | pending                                  |
      | add_tags   | refund                                   |
      | add_note   | Refund for {{ customer.first_name }} sent |
    When Dan applies "Refund started" to "Charged twice"
    Then the ticket "Charged twice" is pending
    And "Charged twice" carries the tags "refund"
    And Dan reads the internal note "Refund for Ann sent" on "Charged twice"

  Scenario: A macro with a refused action changes nothing
    Given Dan has saved the macro "Escalate" with these actions:
      | action         | value   |
      | set_status     | pending |
      | add_tags       | refund  |
      | set_department | Tech    |
    When Dan tries to apply "Escalate" to "Charged twice"
    Then Dan is told action 3 was refused
    And the ticket "Charged twice" is new
    And "Charged twice" carries no tags
    And the history of "Charged twice" reads:
      | who | field  | from | to      |
      | Ann | ticket |      | created |

  Scenario: A bulk action changes each ticket on its own
    When Dan tags "Charged twice", "Refund please" and "Printer jam" with "refund" in bulk
    Then the bulk action reports:
      | ticket        | outcome   |
      | Charged twice | ok        |
      | Refund please | ok        |
      | Printer jam   | not_found |
    And "Refund please" carries the tags "refund"
    And "Printer jam" carries no tags
