Feature: Departments, teams and staff
  Administrators shape the helpdesk. Departments are what customers choose from when
  they ask for help; teams group the staff members of a department; staff members are
  agents, leads or administrators. Only administrators manage any of this, and every
  change is visible at once.

  Background:
    Given a helpdesk with an administrator

  Scenario: An administrator sets up departments and teams
    When the administrator creates the department "Billing"
    And the administrator creates the team "Refunds" in "Billing"
    Then the administrator sees the departments "Billing"
    And "Billing" has the teams "Refunds"

  Scenario: Department names are unique, whatever their case
    Given the department "Billing"
    When the administrator tries to create the department "  BILLING "
    Then the administrator is told that name is taken
    And the administrator sees the departments "Billing"

  Scenario: Team names are unique within their department only
    Given the department "Billing"
    And the department "Sales"
    And the team "Refunds" in "Billing"
    When the administrator tries to create the team "refunds" in "Billing"
    Then the administrator is told that name is taken
    When the administrator creates the team "Refunds" in "Sales"
    Then "Billing" has the teams "Refunds"
    And "Sales" has the teams "Refunds"

  Scenario: Customers choose only among active departments
    Given the department "Billing"
    And the department "Sales"
    When the administrator deactivates the department "Sales"
    Then a customer opening a ticket can choose only "Billing"
    But the administrator still sees the departments "Billing, Sales"

  Scenario: A renamed department shows its new name at once
    Given the department "Billing"
    And a customer has seen "Billing" among the departments to choose from
    When the administrator renames the department "Billing" to "Invoices"
    Then a customer opening a ticket can choose only "Invoices"

  Scenario: An administrator adds an agent to a team
    Given the department "Billing"
    And the team "Refunds" in "Billing"
    When the administrator adds Bob as an agent in the team "Refunds" of "Billing"
    Then Bob can log in with the password he was given
    And Bob works as an agent in "Billing", in the team "Refunds"
    And the staff of the team "Refunds" are "Bob"

  Scenario: A lead cannot manage the organization
    Given the department "Billing"
    And Lena is a lead in "Billing"
    And Lena is logged in on her laptop
    When Lena tries to create the department "Shadow IT"
    Then Lena is told only administrators may do that
    When Lena tries to add Mallory as an administrator
    Then Lena is told only administrators may do that
    And the administrator sees the departments "Billing"
    And Mallory cannot log in

  Scenario: Deactivating a staff member ends their sessions
    Given the department "Billing"
    And Bob is an agent in "Billing"
    And Bob is logged in on his laptop
    And Bob is logged in on his phone
    When the administrator deactivates Bob
    Then Bob's session on his laptop no longer works
    And Bob's session on his phone no longer works
    And Bob cannot log in any more
