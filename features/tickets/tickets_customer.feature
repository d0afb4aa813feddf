Feature: Asking the helpdesk for help
  A customer opens a ticket to ask for help, follows the conversation with the helpdesk,
  and closes the ticket once the problem is solved, or reopens it when it comes back.
  A customer sees only their own tickets, and only what the helpdesk says to them: the
  notes staff members leave for each other stay inside the helpdesk.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Ann has registered

  Scenario: A customer opens a ticket and finds it in her list
    When Ann opens a ticket "Charged twice" for "Billing"
    Then Ann's tickets are "Charged twice"
    And the ticket "Charged twice" is new

  Scenario: The customer and the helpdesk talk it over
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Ann replies "The invoice number is 1042." to "Charged twice"
    And Dan replies "We have refunded the second charge." to "Charged twice"
    Then Ann reads this conversation on "Charged twice":
      | from | message                             |
      | Ann  | The invoice number is 1042.         |
      | Dan  | We have refunded the second charge. |
    And the ticket "Charged twice" is open

  Scenario: Internal notes are not shown to the customer
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Dan leaves the internal note "Double-billed by the nightly batch job." on "Charged twice"
    And Dan replies "We are looking into it." to "Charged twice"
    Then Ann reads this conversation on "Charged twice":
      | from | message                 |
      | Dan  | We are looking into it. |
    And nothing Ann can read mentions "nightly batch job"
    But Dan reads the internal note "Double-billed by the nightly batch job." on "Charged twice"

  Scenario: A customer closes her ticket and reopens it
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Ann closes "Charged twice"
    Then the ticket "Charged twice" is closed
    When Ann tries to reply "One more thing." to "Charged twice"
    Then Ann is told to reopen the ticket first
    When Ann reopens "Charged twice"
    Then the ticket "Charged twice" is open

  Scenario: A reply to a ticket waiting on the customer reopens it
    Given Ann has opened a ticket "Charged twice" for "Billing"
    And Dan has asked Ann for the invoice number on "Charged twice"
    And the ticket "Charged twice" is pending
    When Ann replies "It is 1042." to "Charged twice"
    Then the ticket "Charged twice" is open

  Scenario: A customer finds her ticket by the number the helpdesk gave it
    Given Ann has opened a ticket "Charged twice" for "Billing"
    And Bob has registered
    Then Ann finds the ticket "Charged twice" by its number
    But Bob cannot find the ticket "Charged twice" by its number

  Scenario: A customer cannot see someone else's ticket
    Given Ann has opened a ticket "Charged twice" for "Billing"
    And Bob has registered
    Then Bob has no tickets
    And Bob cannot find the ticket "Charged twice"
    And Bob cannot reply to the ticket "Charged twice" either
