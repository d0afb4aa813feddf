Feature: Assigning tickets
  Every ticket of a department is worked by one agent. Agents take tickets themselves;
  leads hand a ticket to an agent or to a team of their department, or let the helpdesk
  share tickets out in turn among the active agents. A department can ask for every new
  ticket to be shared out that way the moment it is opened.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And the team "Refunds" in "Billing"
    And Lena is a lead in "Billing"
    And Dan is an agent in the team "Refunds" of "Billing"
    And Eve is an agent in the team "Refunds" of "Billing"
    And Ann has registered

  Scenario: An agent takes a ticket
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Dan takes "Charged twice"
    Then "Charged twice" is assigned to Dan

  Scenario: A lead assigns a ticket to an agent
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Lena assigns "Charged twice" to Eve
    Then "Charged twice" is assigned to Eve

  Scenario: An agent cannot hand a ticket to a colleague
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Dan tries to assign "Charged twice" to Eve
    Then Dan is told only leads and administrators may do that
    And "Charged twice" is assigned to nobody

  Scenario: A lead hands a ticket to a team
    Given Ann has opened a ticket "Charged twice" for "Billing"
    When Lena hands "Charged twice" to the team "Refunds"
    Then "Charged twice" is waiting in the team "Refunds"
    And "Charged twice" is assigned to nobody

  Scenario: Automatic assignment shares the tickets evenly
    Given Ann has opened 6 tickets for "Billing"
    When Lena has those tickets assigned automatically
    Then Dan and Eve are assigned 3 tickets each

  Scenario: A deactivated agent is given nothing
    Given Ann has opened 4 tickets for "Billing"
    When the administrator deactivates Eve
    And Lena has those tickets assigned automatically
    Then Dan is assigned 4 tickets
    And Eve is assigned no tickets

  Scenario: New tickets of an auto-assigning department are assigned at once
    Given "Billing" assigns new tickets automatically
    When Ann opens 4 tickets for "Billing"
    Then every one of those tickets is already assigned
    And Dan and Eve are assigned 2 tickets each
