Feature: Warnings and breaches
  The workers watch the clocks. When a clock comes close to its due time they warn, when it
  runs out they announce the breach, each exactly once however many workers run, and the
  assignee (or, for a ticket nobody has taken, the department's leads) is mailed. The queue
  shows what is overdue, soonest due first. Times are Berlin times.

  Background:
    Given a helpdesk with an administrator
    And the department "Billing"
    And Dan is an agent in "Billing"
    And Lena is a lead in "Billing"
    And Ann has registered
    And the policy "Around the clock": normal tickets get a first response within 60 minutes, with a warning 15 minutes before

  Scenario: A warning, then a breach, each told once
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    When it is Monday 7 December 2026, 09:45 in Berlin
    And the workers check the service levels
    Then "Printer" is at risk in Lena's queue
    When it is Monday 7 December 2026, 10:01 in Berlin
    And two workers check the service levels at once
    Then the breach of the first response of "Printer" was announced once
    And Lena is mailed that the first response of "Printer" is overdue
    And Lena's overdue tickets are "Printer"

  Scenario: The overdue queue, soonest due first
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    And it is Monday 7 December 2026, 09:20 in Berlin
    And Ann has opened a ticket "Scanner" for "Billing"
    When it is Monday 7 December 2026, 11:00 in Berlin
    Then Lena's overdue tickets are "Printer, Scanner"

  Scenario: Switching a policy off ends its promises
    Given it is Monday 7 December 2026, 09:00 in Berlin
    And Ann has opened a ticket "Printer" for "Billing"
    When the administrator switches the policy "Around the clock" off
    And it is Monday 7 December 2026, 11:00 in Berlin
    Then the first response of "Printer" is cancelled
    And Lena has no overdue tickets
