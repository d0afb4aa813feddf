Feature: Routing tickets between departments
  A ticket belongs to one department, whose staff work it and read its internal notes. A
  ticket in no department is seen by the staff of every department, so taking a ticket out
  of its department, or sending it to a department one does not work in, is for leads and
  administrators. Agents route tickets into their own department only.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And the department "Tech"
    And Dan is an agent in "Billing"
    And Lena is a lead in "Billing"
    And Ann has registered
    And Ann has opened a ticket "Charged twice" for "Billing"

  Scenario: An agent cannot take a ticket out of its department
    Given Dan has looked at "Charged twice"
    When Dan tries to unroute "Charged twice"
    Then Dan is told only leads and administrators may do that
    And "Charged twice" is in the department "Billing"

  Scenario: An agent cannot send a ticket to another department
    Given Dan has looked at "Charged twice"
    When Dan tries to move "Charged twice" to "Tech"
    Then Dan is told only leads and administrators may do that
    And "Charged twice" is in the department "Billing"

  Scenario: A lead sends a ticket to another department
    Given Lena has looked at "Charged twice"
    When Lena moves "Charged twice" to "Tech"
    Then "Charged twice" is in the department "Tech"

  Scenario: A lead takes a ticket out of its department
    Given Lena has looked at "Charged twice"
    When Lena unroutes "Charged twice"
    Then "Charged twice" is in no department
