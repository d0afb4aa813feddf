Feature: Working the queue
  Agents and leads work the tickets of their own department from a queue they can filter
  by status and search by words. A change is always made to the version of the ticket the
  staff member saw, so nobody overwrites a colleague's work unknowingly, and every change
  is written into the ticket's history, which names the people, departments and teams a
  change refers to.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And the department "Tech"
    And Dan is an agent in "Billing"
    And Lea is an agent in "Billing"
    And Tia is an agent in "Tech"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"
    And Ann has opened a ticket "Printer on fire" for "Tech"
    And Ann has opened a ticket "Refund for order 1042" for "Billing"

  Scenario: The queue shows the tickets of my department
    Then Dan's queue holds "Refund for order 1042, Charged twice"
    And Tia's queue holds "Printer on fire"

  Scenario: Finding a ticket by its number
    Then Dan finds the ticket "Charged twice" by its number
    And the administrator finds the ticket "Printer on fire" by its number
    But Tia cannot find the ticket "Charged twice" by its number

  Scenario: Filtering the queue by status and by words
    Given Dan has replied "We are on it." to "Charged twice"
    Then Dan's queue of open tickets holds "Charged twice"
    And Dan's queue of new tickets holds "Refund for order 1042"
    And searching Dan's queue for "refund" finds "Refund for order 1042"
    And searching Dan's queue for "charged twice" finds "Charged twice"
    And searching Dan's queue for "printer" finds nothing

  Scenario: Changing the priority of the version I saw
    Given Dan has looked at "Charged twice"
    When Dan sets the priority of "Charged twice" to "urgent"
    Then the ticket "Charged twice" has the priority "urgent"

  Scenario: A change to a ticket that changed in the meantime is refused
    Given Dan has looked at "Charged twice"
    And Lea has looked at "Charged twice"
    When Lea sets the priority of "Charged twice" to "high"
    And Dan tries to set the priority of "Charged twice" to "low"
    Then Dan is told the ticket changed since he looked at it
    And the ticket "Charged twice" has the priority "high"
    And nothing Dan tried is in the history of "Charged twice"

  Scenario: Every change is in the history
    Given Dan has looked at "Charged twice"
    When Dan sets the priority of "Charged twice" to "high"
    And Dan sets the status of "Charged twice" to "pending"
    And Dan takes "Charged twice"
    And Dan leaves the internal note "Called the bank." on "Charged twice"
    And Ann replies "Here you are." to "Charged twice"
    Then the history of "Charged twice" reads:
      | who | what     | from    | to            |
      | Ann | ticket   |         | created       |
      | Dan | priority | normal  | high          |
      | Dan | status   | new     | pending       |
      | Dan | assignee |         | Dan           |
      | Dan | message  |         | internal note |
      | Ann | message  |         | reply         |
      | Ann | status   | pending | open          |
